#pragma once
// The normalized event a driver hands to the gateway, and the sink it hands it to.
// Field meanings are those of DESIGN.md "The event". The store assigns seq, epoch, egm_seq
// and hash; a driver fills in the rest.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace floorgate::drivers {

// Event class: drives routing and retention (telemetry is evicted first; financial and
// security are never silently dropped).
enum class EventClass : std::uint8_t { financial, security, fault, operational, telemetry };

// "financial", "security", ...
std::string_view to_string(EventClass c);
// Inverse of to_string; nullopt for an unknown name.
std::optional<EventClass> parse_event_class(std::string_view name);

struct Event {
  std::string egm;                     // configured EGM id, e.g. "bank3-07"
  std::string type;                    // dotted name, e.g. "door.opened"
  EventClass cls = EventClass::operational;
  std::int64_t ts_gw_ms = 0;           // gateway wall time, UTC ms since the Unix epoch
  std::optional<std::int64_t> ts_egm_ms;  // the EGM's own time, when the protocol gives one
  std::string source;                  // protocol origin, e.g. "sas:0x11", "g2s:G2S_CBE307"
  std::string attrs_json = "{}";       // typed details as one JSON object (see JsonWriter)
  std::string raw_hex;                 // the raw frame, lower-case hex, for audit
};

// Called once when the event is durable (ec empty, seq = its gateway-wide sequence) or could
// not be made durable (ec set: disk full, invalid event, store closed). Always invoked on the
// executor the driver runs on, never inline from submit().
using DurableHandler = std::function<void(std::error_code ec, std::uint64_t seq)>;

// Where drivers put events. The implementation (gateway/) commits them to the store.
// Contract for drivers: acknowledge the EGM (SAS implied ACK, G2S eventAck) only after
// on_durable reported success; on failure keep the event with the EGM and try again later.
class EventSink {
 public:
  virtual ~EventSink() = default;
  // Thread: the driver's executor (the daemon's event loop).
  virtual void submit(Event event, DurableHandler on_durable) = 0;
};

}  // namespace floorgate::drivers
