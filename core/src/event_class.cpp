#include "floorgate/core/event_class.hpp"

namespace floorgate::core {

std::string_view to_string(EventClass c) {
  const auto i = index_of(c);
  return i < kEventClassCount ? kEventClassNames[i] : std::string_view("unknown");
}

std::optional<EventClass> parse_event_class(std::string_view name) {
  for (std::size_t i = 0; i < kEventClassCount; ++i) {
    if (kEventClassNames[i] == name) return static_cast<EventClass>(i);
  }
  return std::nullopt;
}

std::optional<EventClass> event_class_at(std::int64_t i) {
  if (i < 0 || i >= static_cast<std::int64_t>(kEventClassCount)) return std::nullopt;
  return static_cast<EventClass>(i);
}

}  // namespace floorgate::core
