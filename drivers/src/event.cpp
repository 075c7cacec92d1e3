#include "floorgate/drivers/event.hpp"

#include <array>

namespace floorgate::drivers {
namespace {
constexpr std::array<std::string_view, 5> kClassNames = {"financial", "security", "fault",
                                                         "operational", "telemetry"};
}  // namespace

std::string_view to_string(EventClass c) { return kClassNames[static_cast<std::size_t>(c)]; }

std::optional<EventClass> parse_event_class(std::string_view name) {
  for (std::size_t i = 0; i < kClassNames.size(); ++i) {
    if (kClassNames[i] == name) return static_cast<EventClass>(i);
  }
  return std::nullopt;
}

}  // namespace floorgate::drivers
