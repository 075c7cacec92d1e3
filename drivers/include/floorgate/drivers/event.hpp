#pragma once
// The normalized event a driver hands to the gateway, and the sink it hands it to.
// Field meanings are those of DESIGN.md "The event" (core/event.hpp).

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "floorgate/core/event.hpp"

namespace floorgate::drivers {

// The event and its class are the shared vocabulary of core/ (one definition for every module).
using core::Event;
using core::EventClass;
using core::parse_event_class;
using core::to_string;

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
  // An event the gateway itself observed (a link change, a refused message, a configuration
  // change): no EGM keeps it for a retry, so the sink keeps retrying until it is durable
  // (bounded). The default submits once (fakes in tests). Thread: the driver's executor.
  virtual void submit_own(Event event) {
    submit(std::move(event), [](std::error_code, std::uint64_t) {});
  }
};

}  // namespace floorgate::drivers
