#include "floorgate/core/route.hpp"

#include <algorithm>

namespace floorgate::core {

bool type_pattern_matches(std::string_view pattern, std::string_view type) {
  if (pattern == "*") return true;
  if (pattern.size() >= 2 && pattern.ends_with(".*")) {
    const auto prefix = pattern.substr(0, pattern.size() - 1);  // keeps the dot
    return type.size() > prefix.size() && type.starts_with(prefix);
  }
  return pattern == type;
}

bool Route::selects_type(std::string_view type) const {
  return types.empty() || std::any_of(types.begin(), types.end(), [&](const std::string& t) {
           return type_pattern_matches(t, type);
         });
}

bool Route::selects_class(EventClass cls) const {
  const auto name = to_string(cls);
  return classes.empty() || std::find(classes.begin(), classes.end(), name) != classes.end();
}

bool Route::selects(std::string_view egm, EventClass cls, std::string_view type) const {
  if (!selects_class(cls) || !selects_type(type)) return false;
  return egms.empty() || std::find(egms.begin(), egms.end(), egm) != egms.end();
}

}  // namespace floorgate::core
