#pragma once
// The normalized event a driver hands to the gateway (DESIGN.md "The event"). The store
// assigns seq, epoch, egm_seq and hash when it makes the event durable (store::Record).

#include <cstdint>
#include <optional>
#include <string>

#include "floorgate/core/event_class.hpp"

namespace floorgate::core {

struct Event {
  std::string egm;                     // configured EGM id, e.g. "bank3-07"
  std::string type;                    // dotted name, e.g. "door.opened"
  EventClass cls = EventClass::operational;
  std::int64_t ts_gw_ms = 0;           // gateway wall time, UTC ms since the Unix epoch
  std::optional<std::int64_t> ts_egm_ms;  // the EGM's own time, when the protocol gives one
  std::string source;                  // protocol origin, e.g. "sas:0x11", "g2s:G2S_CBE307"
  std::string attrs_json = "{}";       // typed details as one JSON object
  std::string raw_hex;                 // the raw frame, lower-case hex, for audit
};

}  // namespace floorgate::core
