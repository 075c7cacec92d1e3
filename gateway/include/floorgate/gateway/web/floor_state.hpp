#pragma once
// What a floor crew looks at per machine (the page's floor view): doors open, a handpay
// waiting, a tilt, a full bill stacker, the last event. Derived from the stored events in seq
// order; sans-I/O, used by the daemon's backend (fed as events become durable, and at start
// from the newest stored events) and by the test backends.

#include <boost/json/object.hpp>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>

namespace floorgate::gateway::web {

struct EgmConditions {
  std::set<std::string> doors_open;  // door names ("main", "cash_box", ...)
  bool handpay_pending = false;
  bool stacker_full = false;
  std::string tilt;                  // the last tilt.* type until tilt.cleared; "" when none
  std::string last_type;             // the newest event's type
  std::int64_t last_ms = 0;
  // {"doors_open":[..],"handpay_pending":..,"stacker_full":..,"tilt":..|null,
  //  "last_event_type":..,"last_event_ms":..}
  boost::json::object to_json() const;
};

class FloorState {
 public:
  // One event of `egm` (attrs: its JSON attribute object as text; only door events read it).
  void apply(const std::string& egm, std::string_view type, std::string_view attrs_json,
             std::int64_t ts_ms);
  const EgmConditions& of(const std::string& egm) const;

 private:
  std::map<std::string, EgmConditions> egms_;
};

}  // namespace floorgate::gateway::web
