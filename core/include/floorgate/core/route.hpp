#pragma once
// Which events a consumer gets: the one route matcher (the store counts and reads with it,
// the configuration validates it, the web page previews with it).

#include <string>
#include <string_view>
#include <vector>

#include "floorgate/core/event_class.hpp"

namespace floorgate::core {

// An empty list means "all" on that axis. A types entry is an exact dotted name
// ("door.opened"), "*" (any), or a prefix wildcard ("tilt.*": "tilt.x" and deeper, not "tilt"
// itself, nor "tiltx", nor the bare "tilt.").
struct Route {
  std::vector<std::string> classes;  // class names (kEventClassNames); empty = every class
  std::vector<std::string> types;    // empty = every type
  std::vector<std::string> egms;     // configured EGM ids; empty = every EGM

  // True when an event of this EGM, class and type is selected.
  bool selects(std::string_view egm, EventClass cls, std::string_view type) const;
  // The types filter alone (empty: any); the store uses it to pick class tables.
  bool selects_type(std::string_view type) const;
  // The class filter alone (empty: any).
  bool selects_class(EventClass cls) const;
  bool operator==(const Route&) const = default;
};

// One types entry against one dotted type (the rule above).
bool type_pattern_matches(std::string_view pattern, std::string_view type);

}  // namespace floorgate::core
