// Error category, class names and route matching: the small value-level parts of store.hpp.
#include <string>

#include "floorgate/store/store.hpp"

namespace floorgate::store {
namespace {

class StoreCategory : public std::error_category {
 public:
  const char* name() const noexcept override { return "floorgate.store"; }
  std::string message(int ev) const override {
    switch (static_cast<Errc>(ev)) {
      case Errc::ok: return "ok";
      case Errc::invalid_event: return "invalid event";
      case Errc::payload_too_large: return "payload too large";
      case Errc::disk_full: return "disk full";
      case Errc::io_error: return "store I/O error";
      case Errc::locked: return "store is locked by another process";
      case Errc::corrupt: return "store file is corrupt";
      case Errc::closed: return "store is closed";
      case Errc::unknown_consumer: return "unknown consumer";
      case Errc::ack_beyond_sent: return "ack beyond the highest seq sent";
      case Errc::ack_backwards: return "ack below the acked cursor";
      case Errc::out_of_range: return "seq out of range";
      case Errc::schema_too_new: return "store schema is newer than this program";
    }
    return "unknown store error";
  }
};

bool type_matches(const std::string& pattern, const std::string& type) {
  if (pattern.size() >= 2 && pattern.compare(pattern.size() - 2, 2, ".*") == 0) {
    // "tilt.*" matches "tilt.x" and deeper, not "tilt" itself nor "tiltx".
    return type.size() > pattern.size() - 1 &&
           type.compare(0, pattern.size() - 1, pattern, 0, pattern.size() - 1) == 0;
  }
  return pattern == "*" || pattern == type;
}

}  // namespace

const std::error_category& store_category() {
  static const StoreCategory cat;
  return cat;
}

std::error_code make_error_code(Errc e) { return {static_cast<int>(e), store_category()}; }

std::string_view to_string(EventClass c) {
  switch (c) {
    case EventClass::financial: return "financial";
    case EventClass::security: return "security";
    case EventClass::fault: return "fault";
    case EventClass::operational: return "operational";
    case EventClass::telemetry: return "telemetry";
  }
  return "unknown";
}

std::optional<EventClass> parse_event_class(std::string_view name) {
  for (int i = 0; i <= static_cast<int>(EventClass::telemetry); ++i) {
    auto c = static_cast<EventClass>(i);
    if (to_string(c) == name) return c;
  }
  return std::nullopt;
}

bool Route::matches_type(const std::string& type) const {
  if (types.empty()) return true;
  for (const auto& t : types) {
    if (type_matches(t, type)) return true;
  }
  return false;
}

bool Route::matches(const Record& r) const {
  if (!classes.empty()) {
    auto name = to_string(r.cls);
    bool hit = false;
    for (const auto& c : classes) hit = hit || c == name;
    if (!hit) return false;
  }
  if (!matches_type(r.type)) return false;
  if (!egms.empty()) {
    bool hit = false;
    for (const auto& e : egms) hit = hit || e == r.egm;
    if (!hit) return false;
  }
  return true;
}

}  // namespace floorgate::store
