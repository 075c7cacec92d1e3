#pragma once
// One interface for every bus the appliance runs -- a SAS bus (serial or TCP) or a G2S host --
// so the composition root (appliance.cpp) starts, stops, reads and reloads them alike and
// holds them in one map. A reload restarts only the buses whose configuration changed (stop,
// then a new driver from the new configuration); the others keep polling untouched.
// Loop thread only.

#include <boost/asio/any_io_executor.hpp>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <system_error>

#include "app/runtime.hpp"
#include "floorgate/config/config.hpp"
#include "floorgate/drivers/g2s/host.hpp"

namespace floorgate::gateway::app {

class BusDriver {
 public:
  virtual ~BusDriver() = default;
  // Opens the port or listens; an error leaves the bus not running (logged by the caller).
  virtual std::error_code start() = 0;
  // Stops polling / listening; events already handed over stay on their way to the store.
  virtual void stop() = 0;
  // Writes the driver's live status into the views of its EGMs (matched by EGM id). `meters`:
  // the meter maps too (one EGM's detail; a view of the whole floor never shows them).
  virtual void fill(std::span<EgmView> views, bool meters) const = 0;
  // Starts a ROM signature check (SAS LP 21); "" when started, else why not.
  virtual std::string request_rom_check(const std::string& egm) = 0;
  // One line for the start-up log: where the bus is and what runs on it.
  virtual std::string describe() const = 0;
};

// What a driver is given to run on: the loop, where its events go, the event log (G2S reads its
// recent keys), the directory for per-bus state files. Not the Runtime: a driver never sees
// the composition root's state.
struct DriverContext {
  boost::asio::any_io_executor ex;
  drivers::EventSink& sink;
  store::EventLog& log;
  std::string state_dir;
};

// G2S dedupe across restarts: per EGM id, the keys of its newest stored events
// (drivers::g2s::SeenKeys), read from the store before its bus starts.
using RecentKeys = std::map<std::string, std::vector<drivers::g2s::SeenKey>>;

// Reads the recent keys of every EGM of G2S bus `b` on the store's query thread (an EGM filter
// may scan the whole file) and calls `done` with them on the loop. A failed read leaves that
// EGM without keys and is logged: a re-sent event is then stored twice, never lost.
void load_recent_keys(const config::BusConfig& b, const DriverContext& ctx,
                      std::function<void(RecentKeys)> done);

// Which of `keys` are among the events stored for `egm` since `since_ms` (gateway time): the
// store read newest first down to the first seq stamped at that time, in windows of 10,000 seqs
// on the store's query thread (a busy queue is asked again 200 ms later, for up to 30 s); `done`
// on `ex`.
// Bounded (1,000,000 rows): a key not found by then, or after a failed read (logged), counts as
// not stored, and its event is stored again (a duplicate, never a loss). The G2S backfill's
// check (HostConfig::stored_keys), one lookup at a time per bus.
void find_stored_keys(store::EventLog& log, boost::asio::any_io_executor ex, std::string bus,
                      std::string egm, std::vector<drivers::g2s::SeenKey> keys,
                      std::int64_t since_ms,
                      std::function<void(std::vector<drivers::g2s::SeenKey>)> done);

// The driver for bus `b`: events go to ctx.sink; `on_status(egm)` runs when an EGM's link or
// identity changes (the retained status topic and the page). `keys`: G2S only.
std::unique_ptr<BusDriver> make_bus_driver(const config::BusConfig& b, const DriverContext& ctx,
                                           std::function<void(const std::string&)> on_status,
                                           RecentKeys keys = {});

}  // namespace floorgate::gateway::app
