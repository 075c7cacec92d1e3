#include "app/runtime.hpp"

#include "app/bus_driver.hpp"

#include "floorgate/core/clock.hpp"

#include <chrono>
#include <cstdio>

namespace floorgate::gateway::app {

std::int64_t wall_ms() { return core::unix_now_ms(); }

Runtime::~Runtime() = default;

namespace {
// The configured part of an EGM's view; its bus driver fills in the live part.
EgmView configured_view(const config::BusConfig& bus, const config::EgmConfig& e,
                        const web::FloorState& floor) {
  EgmView v;
  v.id = e.id;
  v.bus = bus.id;
  v.protocol = bus.driver == config::Driver::g2s ? "g2s" : "sas";
  v.port = bus.driver == config::Driver::sas_tcp ? bus.tcp_host + ":" + std::to_string(bus.tcp_port)
                                                 : bus.port;
  v.address = e.address;
  v.location = e.location;
  v.bank = e.bank;
  v.conditions = floor.of(e.id);
  return v;
}
}  // namespace

std::vector<EgmView> Runtime::egms() const {
  std::vector<EgmView> out;
  for (const auto& bus : cfg_.buses) {
    const std::size_t first = out.size();
    for (const auto& e : bus.egms) out.push_back(configured_view(bus, e, floor_));
    if (auto it = buses_.find(bus.id); it != buses_.end())
      it->second->fill(std::span<EgmView>(out).subspan(first), false);
  }
  return out;
}

std::optional<EgmView> Runtime::egm(std::string_view id) const {
  for (const auto& bus : cfg_.buses) {
    for (const auto& e : bus.egms) {
      if (e.id != id) continue;
      EgmView v = configured_view(bus, e, floor_);
      if (auto it = buses_.find(bus.id); it != buses_.end()) it->second->fill(std::span<EgmView>(&v, 1), true);
      return v;
    }
  }
  return std::nullopt;
}

std::vector<std::string> Runtime::egm_alarms() const { return egm_alarms(egms()); }

std::vector<std::string> Runtime::egm_alarms(const std::vector<EgmView>& views) {
  std::vector<std::string> out;
  for (const auto& e : views) {
    if (e.meters_unreadable) {
      out.push_back("EGM " + e.id + ": meters unreadable (no answer to LP 6F, 2F or the "
                    "single-meter polls); its money cannot be reconciled");
    }
    if (auto n = e.counter("reconciliation_mismatches"); n && *n > 0) {
      out.push_back("EGM " + e.id + ": " + std::to_string(*n) +
                    " reconciliation mismatch(es) since start; last " + e.last_mismatch);
    }
  }
  return out;
}

double Runtime::events_per_s() const {
  if (rate_samples_.size() < 2) return 0;
  const auto& a = rate_samples_.front();
  const auto& b = rate_samples_.back();
  if (b.first <= a.first) return 0;
  return static_cast<double>(b.second - a.second) * 1000.0 / static_cast<double>(b.first - a.first);
}

void Runtime::emit(std::string type, drivers::EventClass cls, std::string attrs_json,
                   drivers::DurableHandler on_durable) {
  if (!sink_) {
    if (on_durable) on_durable(std::make_error_code(std::errc::not_connected), 0);
    return;
  }
  drivers::Event e;
  e.egm = "gateway";
  e.type = std::move(type);
  e.cls = cls;
  e.ts_gw_ms = wall_ms();
  e.source = "gateway:" + cfg_.gateway.id;
  e.attrs_json = std::move(attrs_json);
  if (on_durable) {
    sink_->submit(std::move(e), std::move(on_durable));
  } else {
    sink_->submit_own(std::move(e));  // retried until durable: no EGM keeps a gateway event
  }
}

boost::json::object to_json(const EgmView& e) {
  boost::json::object o;
  o.reserve(32);  // every key below, without a rehash on the way (64 of these per push)
  o["id"] = e.id;
  o["bus"] = e.bus;
  o["protocol"] = e.protocol;
  o["port"] = e.port;
  o["address"] = e.address;
  o["location"] = e.location;
  o["bank"] = e.bank;
  o["link_up"] = e.link_up;
  o["link"] = e.link_up ? "online" : "offline";
  o["sas_version"] = e.sas_version;
  o["serial"] = e.serial;
  if (!e.g2s_state.empty()) {
    o["g2s_state"] = e.g2s_state;
    o["subscriptions"] = e.g2s_subscriptions;
    o["missing_events"] = e.g2s_missing_events;
    o["no_rights"] = e.g2s_no_rights;
    o["clock_drift_ms"] = e.clock_drift_ms ? boost::json::value(*e.clock_drift_ms) : nullptr;
  }
  if (e.denomination_cents) o["denomination_cents"] = *e.denomination_cents;
  o["last_poll_ms"] = e.last_poll_ms ? boost::json::value(*e.last_poll_ms) : nullptr;
  o["last_event_ms"] = e.last_event_ms ? boost::json::value(*e.last_event_ms) : nullptr;
  if (e.protocol == "sas") {
    o["clock_drift_ms"] = e.clock_drift_ms ? boost::json::value(*e.clock_drift_ms) : nullptr;
    char sig[8];
    if (e.rom_signature) std::snprintf(sig, sizeof sig, "0x%04x", static_cast<unsigned>(*e.rom_signature));
    o["rom_signature"] = e.rom_signature ? boost::json::value(sig) : nullptr;
    o["rom_check_running"] = e.rom_check_running;
    o["meter_poll"] = e.meter_poll;
    o["meters_unreadable"] = e.meters_unreadable;
    o["last_mismatch"] = e.last_mismatch;
  }
  boost::json::object counters;
  counters.reserve(e.counters.size());
  for (const auto& [k, v] : e.counters) counters.emplace(k, v);
  o["counters"] = std::move(counters);
  o["conditions"] = e.conditions.to_json();
  return o;
}

}  // namespace floorgate::gateway::app
