#pragma once
// The live parts of a running appliance. The composition root (Appliance::Impl in
// appliance.cpp) builds, rebuilds and alone changes them (its members are private, the root is
// its friend); the web backend and /metrics read them through the const accessors
// (ApplianceBackend acts through ApplianceControl, backend.hpp). Loop thread only.

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>
#include <array>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "floorgate/config/config.hpp"
#include "floorgate/drivers/event.hpp"
#include "floorgate/gateway/chain_signing.hpp"
#include "floorgate/gateway/appliance.hpp"
#include "floorgate/gateway/delivery.hpp"
#include "floorgate/gateway/history.hpp"
#include "floorgate/gateway/web/floor_state.hpp"
#include "floorgate/gateway/loop_lag.hpp"
#include "floorgate/gateway/store_sink.hpp"
#include "floorgate/store/store.hpp"

namespace floorgate::gateway::app {

class BusDriver;  // app/bus_driver.hpp

// One EGM as the page, the status topic and /metrics see it, whatever its protocol.
struct EgmView {
  std::string id, bus, protocol, port, location, bank;
  int address = 0;
  bool link_up = false;
  std::string sas_version, serial, g2s_state;
  std::optional<std::uint32_t> denomination_cents;
  std::optional<std::int64_t> last_poll_ms, last_event_ms;
  std::optional<std::int64_t> clock_drift_ms;      // SAS: EGM clock - gateway (LP 7E)
  std::optional<std::uint16_t> rom_signature;      // SAS: last LP 21 result
  bool rom_check_running = false;
  std::string g2s_subscriptions, g2s_missing_events;  // G2S: ok | missing | unknown, codes
  std::string g2s_no_rights;                          // G2S: devices neither owned nor guested
  // The driver's counters in its own order, named by string literals (no allocation per
  // name: the dashboard push builds 64 of these views every few seconds on the loop).
  std::vector<std::pair<std::string_view, std::uint64_t>> counters;
  std::optional<std::uint64_t> counter(std::string_view name) const {
    for (const auto& [k, v] : counters) {
      if (k == name) return v;
    }
    return std::nullopt;
  }
  std::map<std::string, std::uint64_t> meters;
  std::map<std::string, std::string> meter_units;  // SAS: credits | cents | count | ...
  std::string meter_poll;            // SAS: 6f | 2f | single | none (last snapshot's poll)
  bool meters_unreadable = false;    // SAS: no meter poll answered (meters.unreadable)
  std::string last_mismatch;         // SAS and G2S: the last reconciliation.mismatch, in words
  web::EgmConditions conditions;     // the floor view's state, from the events
};

// The live parts, owned and changed by the composition root alone (Appliance::Impl, a friend);
// everyone else reads them through the const accessors below.
class Runtime {
 public:
  // `config_path`: where cfg came from, empty on embedded defaults.
  Runtime(boost::asio::io_context& io, config::Config cfg, std::filesystem::path config_path)
      : io_(io), cfg_(std::move(cfg)), config_path_(std::move(config_path)) {}
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  // The parts are services with their own rules (the store's and delivery's calls are safe to
  // make); what only the root may change is which parts exist and the state below.
  boost::asio::io_context& io() const { return io_; }
  const config::Config& cfg() const { return cfg_; }
  const std::filesystem::path& config_path() const { return config_path_; }
  const std::string& boot_id() const { return boot_id_; }
  std::int64_t started_ms() const { return started_ms_; }
  store::Store* store() const { return store_.get(); }
  const StoreSink* sink() const { return sink_.get(); }
  Delivery* delivery() const { return delivery_.get(); }
  const LoopLagProbe* loop_lag() const { return loop_lag_.get(); }
  const LoopMeter& loop_meter() const { return loop_meter_; }
  bool bus_running(const std::string& id) const { return buses_.count(id) > 0; }
  const History& history() const { return history_; }
  const std::optional<DeviceKey>& device_key() const { return device_key_; }
  std::uint64_t signed_seq() const { return signed_seq_; }

  // Every configured EGM with its driver's live status, without the meter maps (egm() has
  // them): the dashboard push builds this every few seconds on the loop.
  std::vector<EgmView> egms() const;
  // One EGM's view (nullopt when no bus has it): builds only its own, asks only its bus. A
  // status change of one EGM must not cost a view of the whole floor (64 status changes at
  // start-up would make that quadratic, and it runs on the loop).
  std::optional<EgmView> egm(std::string_view id) const;
  // One sentence per EGM alarm: unreadable meters, reconciliation mismatches since start.
  std::vector<std::string> egm_alarms() const;
  static std::vector<std::string> egm_alarms(const std::vector<EgmView>& views);
  // Events made durable per second over the last minute.
  double events_per_s() const;
  // Emits a gateway-level event (alarms, audit) into the store like any driver event. Without
  // `on_durable` it is retried until durable; with it, it is tried once and `on_durable` says
  // how that went (a caller that must answer someone once the event is stored).
  void emit(std::string type, drivers::EventClass cls, std::string attrs_json,
            drivers::DurableHandler on_durable = {});

 private:
  friend struct floorgate::gateway::Appliance::Impl;
  bool live_wanted() const { return live_ && (!live_listening_ || live_listening_()); }

  boost::asio::io_context& io_;
  config::Config cfg_;
  std::filesystem::path config_path_;          // empty on embedded defaults
  std::string boot_id_;
  std::int64_t started_ms_ = 0;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<StoreSink> sink_;
  std::unique_ptr<Delivery> delivery_;
  std::unique_ptr<LoopLagProbe> loop_lag_;  // how late the loop runs (SAS poll timing)
  LoopMeter loop_meter_;                    // the longest handler (CPU), when run() drives the loop
  std::map<std::string, std::unique_ptr<BusDriver>> buses_;  // running buses by id, any protocol
  std::function<void(const boost::json::object&)> live_;  // the web page's live feed
  std::function<bool()> live_listening_;                  // a viewer has it open
  std::deque<std::pair<std::int64_t, std::uint64_t>> rate_samples_;  // (ms, durable total)
  History history_;        // the dashboard's last hour, one point per minute (GET /api/history)
  web::FloorState floor_;  // per-EGM doors/handpay/tilt/stacker for the floor view
  std::string alarm_;                                      // current alarm text, empty = none
  // Signed chain heads (docs/audit.md): the device key, the newest durable row, the last head
  // signed and published on <root>/chain.
  std::optional<DeviceKey> device_key_;
  struct ChainHead {
    std::uint64_t epoch = 0, seq = 0;
    std::array<std::uint8_t, 32> hash{};
  } chain_head_;
  std::uint64_t signed_seq_ = 0;
  std::int64_t signed_at_ms_ = 0;
};

boost::json::object to_json(const EgmView& e);
std::int64_t wall_ms();

}  // namespace floorgate::gateway::app
