#pragma once
// Event class: drives routing and retention (telemetry is evicted first; financial and
// security are never silently dropped). The one definition every module uses; the numeric
// values are stored on disk (the store's class tables), so never reorder them.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace floorgate::core {

enum class EventClass : std::uint8_t { financial, security, fault, operational, telemetry };

inline constexpr std::size_t kEventClassCount = 5;

// The YAML / JSON / topic spelling, indexed by the enum value.
inline constexpr std::array<std::string_view, kEventClassCount> kEventClassNames = {
    "financial", "security", "fault", "operational", "telemetry"};

// "financial", "security", ...; "unknown" for a value out of range.
std::string_view to_string(EventClass c);
// Inverse of to_string; nullopt for an unknown name.
std::optional<EventClass> parse_event_class(std::string_view name);
// The class with table/array index i (0 .. kEventClassCount-1); nullopt when out of range.
std::optional<EventClass> event_class_at(std::int64_t i);
// The array index of a class (its stored number).
constexpr std::size_t index_of(EventClass c) { return static_cast<std::size_t>(c); }

}  // namespace floorgate::core
