#include "floorgate/gateway/appliance.hpp"

#include <spdlog/spdlog.h>

#include <boost/json/serialize.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <random>

#include "app/backend.hpp"
#include "app/bus_driver.hpp"
#include "app/mapping.hpp"
#include "app/runtime.hpp"
#include "floorgate/drivers/json_writer.hpp"
#include "floorgate/gateway/control.hpp"
#include "floorgate/gateway/logging.hpp"
#include "floorgate/gateway/web/web_server.hpp"
#include "floorgate/core/loop_site.hpp"

namespace floorgate::gateway {

using app::Runtime;

// The composition root: builds the parts, owns the Runtime and is the only code that changes
// it (the web backend and /metrics read it; the backend acts through ApplianceControl).
struct Appliance::Impl final : app::ApplianceControl {
  Impl(boost::asio::io_context& io, config::Config cfg, std::filesystem::path config_path)
      : rt(io, std::move(cfg), std::move(config_path)), maintenance(io), drain(io) {}

  Runtime rt;
  std::unique_ptr<app::ApplianceBackend> backend;
  std::unique_ptr<web::WebServer> web;
  std::unique_ptr<ControlServer> control;
  boost::asio::steady_timer maintenance;
  boost::asio::steady_timer drain;
  bool stopping = false;
  bool alarm_reported = false;
  // The latest start of each bus id: a G2S bus starts once its dedupe keys are read (off the
  // loop), and a stop or a newer start in the meantime makes that start moot.
  std::map<std::string, std::uint64_t> bus_generation;
  // Answers that come back later (store reads) check that the appliance still runs.
  std::shared_ptr<Impl*> alive = std::make_shared<Impl*>(this);
  std::string integrity_seen = "ok";

  std::error_code start(std::string& detail);
  void register_consumers_at_startup();
  void start_delivery();
  void start_bus(const config::BusConfig& b);
  // What a bus driver runs on (not the Runtime itself). The store and sink exist once start()
  // opened the store; the buses start after that.
  app::DriverContext driver_context() {
    return {rt.io_.get_executor(), *rt.sink_, *rt.store_, rt.cfg_.store.path.parent_path().string()};
  }
  void run_bus(const config::BusConfig& b, app::RecentKeys keys);
  void stop_bus(const std::string& id);
  void start_web();
  void start_control();
  // control socket: {"op":"consumer_reset","consumer":NAME,"to":SEQ}
  void consumer_reset(const boost::json::object& req, const std::string& peer,
                      ControlServer::Reply reply);
  void apply(const config::Config& next) override;
  // ApplianceControl (the web backend's actions)
  void record_audit(std::string type, std::string attrs_json) override {
    rt.emit(std::move(type), drivers::EventClass::security, std::move(attrs_json));
  }
  void set_live_feed(std::function<void(const boost::json::object&)> feed,
                     std::function<bool()> listening) override {
    rt.live_ = std::move(feed);
    rt.live_listening_ = std::move(listening);
  }
  std::string request_rom_check(const std::string& bus, const std::string& egm) override {
    auto it = rt.buses_.find(bus);
    if (it == rt.buses_.end()) return "bus " + bus + " of " + egm + " is not running";
    return it->second->request_rom_check(egm);
  }
  void on_durable(const store::Record& r);
  void publish_status(const std::string& egm_id);
  void schedule_maintenance();
  // Signs the newest durable row and publishes it retained on <root>/chain (docs/audit.md).
  void sign_chain_head();
  void run_maintenance();
  void stop(std::function<void()> done);
  void wait_commits(int tries_left, std::function<void()> then);
  std::vector<config::ConfigError> reload();
  void run() { rt.loop_meter_.run(rt.io_); }
  std::string status_line() const;
};

namespace {
std::string make_boot_id() {
  std::random_device rd;
  std::mt19937_64 gen(rd());
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(gen()));
  return buf;
}
}  // namespace

std::error_code Appliance::Impl::start(std::string& detail) {
  rt.boot_id_ = make_boot_id();
  // 50 ms ticks, maximum over 10..20 s: a stall of one SAS poll period shows.
  rt.loop_lag_ = std::make_unique<LoopLagProbe>(rt.io_.get_executor(), std::chrono::milliseconds(50),
                                               std::chrono::seconds(10));
  rt.started_ms_ = app::wall_ms();
  std::error_code ec;
  store::OpenReport report;
  rt.store_ = store::Store::open(app::store_options(rt.cfg_), ec, &report);
  if (!rt.store_) {
    detail = "cannot open the store " + rt.cfg_.store.path.string() + ": " + ec.message() +
             (report.detail.empty() ? "" : " (" + report.detail + ")");
    return ec;
  }
  spdlog::info("store {} open{}", rt.cfg_.store.path.string(), report.created ? " (new)" : "");
  {
    // The floor view's conditions (doors, handpays, tilts, stackers) from the newest stored
    // events, oldest first, so a door left open before a restart still shows.
    // Start-up, before the drivers and the web page run: the one blocking read the loop does.
    store::QueryFilter recent;
    recent.limit = 5000;
    auto rows = rt.store_->query(recent);
    if (!rows) {
      spdlog::error("the floor view starts empty: reading the newest events failed: {}",
                    rows.error().message());
    } else {
      for (auto it = rows->rbegin(); it != rows->rend(); ++it)
        rt.floor_.apply(it->egm, it->type, it->attrs_json, it->ts_gw_ms);
    }
  }
  {
    // The device key signs chain heads; created on first start beside the store (0600).
    std::string key_error;
    const auto key_path = rt.cfg_.store.path.parent_path() / "device.key";
    rt.device_key_ = DeviceKey::load_or_create(key_path, key_error);
    if (rt.device_key_) {
      spdlog::info("device key {} (id {}); public key in {}.pub", key_path.string(),
                   rt.device_key_->key_id(), key_path.string());
    } else {
      spdlog::error("no device key, chain heads are not signed: {}", key_error);
    }
  }
  rt.sink_ = std::make_unique<StoreSink>(rt.io_.get_executor(), *rt.store_);
  rt.sink_->add_listener([this](const store::Record& r) { on_durable(r); });
  if (report.quarantined) {
    spdlog::error("store was corrupt; moved aside to {}", report.quarantined->string());
    drivers::JsonWriter w;
    w.add("quarantined", report.quarantined->string()).add("detail", report.detail);
    rt.emit("store.corrupt_quarantined", drivers::EventClass::security, std::move(w).finish());
  }
  register_consumers_at_startup();
  start_delivery();
  start_control();
  for (const auto& b : rt.cfg_.buses) start_bus(b);
  backend = std::make_unique<app::ApplianceBackend>(rt, *this);
  if (rt.cfg_.web.enabled) start_web();
  schedule_maintenance();
  return {};
}

void Appliance::Impl::register_consumers_at_startup() {
  // Before the loop runs and any driver appends: retention must know every consumer from the
  // first event on. Later changes register through Delivery (asynchronously, on the loop).
  for (const auto& c : app::consumer_options(rt.cfg_)) {
    if (auto ec = rt.store_->register_consumer({c.name, c.route, c.required})) {
      spdlog::error("cannot register consumer {}: {}", c.name, ec.message());
    }
  }
}

void Appliance::Impl::start_delivery() {
  auto mqtt = app::mqtt_options(rt.cfg_);
  mqtt.loop_lag_ms = [this] { return rt.loop_lag_ ? rt.loop_lag_->max_ms() : 0; };
  mqtt.egm_alarms = [this] { return rt.egm_alarms(); };
  rt.delivery_ = std::make_unique<Delivery>(rt.io_.get_executor(), *rt.store_, std::move(mqtt),
                                           app::consumer_options(rt.cfg_));
  rt.delivery_->start();
  for (const auto& e : rt.egms()) publish_status(e.id);
}

void Appliance::Impl::start_control() {
  const auto path = control_socket_path(rt.cfg_.store.path);
  control = std::make_unique<ControlServer>(
      rt.io_.get_executor(), path,
      [this](const boost::json::object& req, const std::string& peer, ControlServer::Reply reply) {
        const auto* op = req.if_contains("op");
        if (op && op->is_string() && op->as_string() == "consumer_reset") {
          consumer_reset(req, peer, std::move(reply));
        } else {
          reply({{"ok", false}, {"error", "unknown op (known: consumer_reset)"}});
        }
      });
  if (auto ec = control->start()) {
    // The daemon works without it; only `floorgate consumer reset` on a live store does not.
    spdlog::error("control socket {}: {}", path.string(), ec.message());
    control.reset();
    return;
  }
  spdlog::info("control socket {}", path.string());
}

void Appliance::Impl::consumer_reset(const boost::json::object& req, const std::string& peer,
                                     ControlServer::Reply reply) {
  const auto* name = req.if_contains("consumer");
  const auto* to = req.if_contains("to");
  if (!name || !name->is_string() || !to || !(to->is_uint64() || to->is_int64()) ||
      (to->is_int64() && to->as_int64() < 0)) {
    reply({{"ok", false}, {"error", "consumer_reset needs \"consumer\" (string) and \"to\" (seq)"}});
    return;
  }
  if (stopping || !rt.delivery_) {
    reply({{"ok", false}, {"error", "the daemon is stopping"}});
    return;
  }
  const std::string consumer(name->as_string());
  const std::uint64_t to_seq = to->is_uint64() ? to->as_uint64() : static_cast<std::uint64_t>(to->as_int64());
  rt.delivery_->reset_consumer(consumer, to_seq, [this, consumer, to_seq, peer, reply](
                                                    std::error_code ec, std::uint64_t previous) {
    if (ec) {
      reply({{"ok", false}, {"error", consumer_reset_refusal(ec, consumer, to_seq, rt.store_->counters())}});
      return;
    }
    // The audit event goes into the chain like any other; the reply waits until it is durable.
    spdlog::warn("consumer {} reset from seq {} to {} by {}", consumer, previous, to_seq, peer);
    rt.emit(kConsumerResetType, drivers::EventClass::security,
            consumer_reset_attrs(consumer, previous, to_seq, peer, "control socket"),
            [reply, consumer, previous, to_seq](std::error_code aec, std::uint64_t seq) {
      boost::json::object o{{"ok", !aec}, {"consumer", consumer}, {"from_seq", previous},
                            {"to_seq", to_seq}};
      if (aec) {
        o["error"] = "the cursor moved, but the audit event was not stored: " + aec.message();
      } else {
        o["audit_seq"] = seq;
      }
      reply(std::move(o));
    });
  });
}

void Appliance::Impl::start_bus(const config::BusConfig& b) {
  const std::uint64_t generation = ++bus_generation[b.id];
  if (b.driver != config::Driver::g2s) return run_bus(b, {});
  // G2S: an EGM posting before the host listens is refused and posts again. Its stored keys
  // are read once what a predecessor of this bus (a reload) was still committing is in the
  // store: an event it had not acked yet comes again, and must be found there.
  // This start is still wanted (not stopped, not restarted since): the appliance, else null.
  auto current = [weak = std::weak_ptr<Impl*>(alive), id = b.id, generation]() -> Impl* {
    auto self = weak.lock();
    if (!self) return nullptr;
    Impl& me = **self;
    return me.stopping || me.bus_generation[id] != generation ? nullptr : &me;
  };
  rt.sink_->after_pending([current, b] {
    Impl* me = current();
    if (!me) return;
    app::load_recent_keys(b, me->driver_context(), [current, b](app::RecentKeys keys) {
      if (Impl* m = current()) m->run_bus(b, std::move(keys));
    });
  });
}

void Appliance::Impl::run_bus(const config::BusConfig& b, app::RecentKeys keys) {
  auto bus = make_bus_driver(b, driver_context(),
                             [this](const std::string& egm) { publish_status(egm); },
                             std::move(keys));
  if (auto ec = bus->start()) {
    spdlog::error("bus {}: cannot start: {} ({})", b.id, ec.message(), bus->describe());
    return;
  }
  spdlog::info("bus {}: {}", b.id, bus->describe());
  rt.buses_[b.id] = std::move(bus);
}

void Appliance::Impl::stop_bus(const std::string& id) {
  ++bus_generation[id];  // a start still reading its keys will not run
  if (auto it = rt.buses_.find(id); it != rt.buses_.end()) {
    it->second->stop();
    rt.buses_.erase(it);
  }
}

void Appliance::Impl::start_web() {
  auto web_opts = app::web_options(rt.cfg_);
  web_opts.log = [](const std::string& line) { spdlog::warn("{}", line); };
  web = std::make_unique<web::WebServer>(rt.io_.get_executor(), std::move(web_opts), *backend);
  if (auto ec = web->start()) {
    spdlog::error("web page cannot listen on {}:{}: {}", rt.cfg_.web.bind, rt.cfg_.web.port,
                  ec.message());
    web.reset();
    return;
  }
  spdlog::info("web page on http{}://{}:{}/", web->tls() ? "s" : "", rt.cfg_.web.bind, web->port());
}

void Appliance::Impl::on_durable(const store::Record& r) {
  if (r.seq > rt.chain_head_.seq) {  // the raw hash: hex only when a head is signed
    rt.chain_head_.epoch = r.epoch;
    rt.chain_head_.seq = r.seq;
    rt.chain_head_.hash = r.hash;
  }
  if (rt.delivery_) rt.delivery_->notify_appended(r.seq);
  rt.floor_.apply(r.egm, r.type, r.attrs_json, r.ts_gw_ms);
  // The page's copy is built only while a viewer has it open (a parse of the attributes).
  if (rt.live_wanted()) rt.live_(app::event_json(r));
}

void Appliance::Impl::publish_status(const std::string& egm_id) {
  if (!rt.delivery_) return;
  if (auto view = rt.egm(egm_id)) {
    const auto& e = *view;
    EgmStatusInfo info;
    info.egm = e.id;
    info.link_up = e.link_up;
    info.protocol = e.protocol;
    info.sas_version = e.sas_version;
    info.serial = e.serial;
    if (e.denomination_cents) info.denomination = std::to_string(*e.denomination_cents);
    info.last_seen_ms = e.last_poll_ms;
    rt.delivery_->publish_egm_status(info);
    if (rt.live_wanted()) {
      boost::json::object o{{"kind", "egm"}, {"egm", app::to_json(e)}};
      rt.live_(o);
    }
  }
}

}  // namespace floorgate::gateway

namespace floorgate::gateway {

void Appliance::Impl::schedule_maintenance() {
  maintenance.expires_after(std::chrono::seconds(1));
  maintenance.async_wait([this](boost::system::error_code ec) {
    core::LoopSite site("app.maintenance");
    if (ec || stopping) return;
    run_maintenance();
    schedule_maintenance();
  });
}

// Once a second: throughput samples, retention alarm → alarm event (once per episode), the
// result of the store's background integrity check → an event when it failed.
void Appliance::Impl::sign_chain_head() {
  if (!rt.device_key_ || rt.chain_head_.seq == 0 || rt.chain_head_.seq == rt.signed_seq_) return;
  const std::int64_t now = app::wall_ms();
  const auto& h = rt.chain_head_;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string hash_hex;
  for (auto b : h.hash) {
    hash_hex += kHex[b >> 4];
    hash_hex += kHex[b & 15];
  }
  const std::string sig = rt.device_key_->sign(gateway::chain_message(h.epoch, h.seq, hash_hex, now));
  if (sig.empty()) return;
  boost::json::object o{{"schema", "floorgate.chain/1"}, {"gateway", rt.cfg_.gateway.id},
                        {"epoch", h.epoch},         {"seq", h.seq},
                        {"hash", hash_hex},       {"ts_ms", now},
                        {"key_id", rt.device_key_->key_id()}, {"sig", sig}};
  rt.signed_seq_ = h.seq;
  rt.signed_at_ms_ = now;
  if (rt.delivery_) rt.delivery_->publish_chain_head(boost::json::serialize(o));
}

void Appliance::Impl::run_maintenance() {
  auto now = app::wall_ms();
  // A signed head a minute at most after the last (and at shutdown): an edited, deleted or
  // reordered row between two published heads cannot go unnoticed (docs/audit.md).
  if (now - rt.signed_at_ms_ >= 60'000) sign_chain_head();
  rt.rate_samples_.emplace_back(now, rt.sink_->durable());
  while (rt.rate_samples_.size() > 61) rt.rate_samples_.pop_front();
  auto st = rt.store_->stats();
  std::vector<History::Consumer> lag;
  for (const auto& c : st.consumers) {
    lag.push_back({c.name, c.unacked,
                   c.oldest_unacked_ts_ms
                       ? std::optional<std::int64_t>((now - *c.oldest_unacked_ts_ms) / 1000)
                       : std::nullopt});
  }
  rt.history_.sample(now, rt.sink_->durable(), lag);
  if (st.retention_alarm && !alarm_reported) {
    alarm_reported = true;
    rt.alarm_ = st.retention_alarm_reason;
    spdlog::error("store retention alarm: {}", st.retention_alarm_reason);
    drivers::JsonWriter w;
    w.add("reason", st.retention_alarm_reason).add("bytes", st.bytes).add("rows", st.rows);
    rt.emit("gateway.store_alarm", drivers::EventClass::security, std::move(w).finish());
  } else if (!st.retention_alarm && alarm_reported) {
    alarm_reported = false;
    rt.alarm_.clear();
    spdlog::info("store retention alarm cleared");
    rt.emit("gateway.store_alarm_cleared", drivers::EventClass::security, "{}");
  }
  if (st.integrity != integrity_seen) {
    integrity_seen = st.integrity;
    if (st.integrity == "ok") {
      spdlog::info("store integrity check passed");
    } else if (st.integrity != "checking") {
      spdlog::critical("store integrity check failed: {} (the next start moves the file aside)",
                       st.integrity);
      drivers::JsonWriter w;
      w.add("detail", st.integrity);
      rt.emit("gateway.store_integrity_failed", drivers::EventClass::security,
              std::move(w).finish());
    }
  }
}

// Applies a validated configuration to the running appliance: unchanged buses keep running.
void Appliance::Impl::apply(const config::Config& next) {
  config::Config prev = rt.cfg_;
  rt.cfg_ = next;
  set_log_level(config::to_string(next.log_level));
  if (next.store.path != prev.store.path) {
    spdlog::warn("store.path changed; it takes effect at the next restart");
    rt.cfg_.store = prev.store;
  }
  if (next.mqtt != prev.mqtt || next.gateway != prev.gateway) {
    spdlog::info("MQTT settings changed: reconnecting");
    // The old engine is kept alive until its stop() finished (it says offline, disconnects).
    std::shared_ptr<Delivery> old(std::move(rt.delivery_));
    old->stop([old, ex = rt.io_.get_executor()]() mutable {
      boost::asio::post(ex, [keep = std::move(old)] {});
    });
    start_delivery();
  } else if (next.consumers != prev.consumers) {
    rt.delivery_->set_consumers(app::consumer_options(next));
  }
  for (const auto& b : prev.buses) {
    auto it = std::find_if(next.buses.begin(), next.buses.end(),
                           [&](const config::BusConfig& n) { return n.id == b.id; });
    if (it == next.buses.end() || !(*it == b)) {
      spdlog::info("bus {}: {}", b.id, it == next.buses.end() ? "removed" : "changed, restarting");
      stop_bus(b.id);
    }
  }
  for (const auto& b : next.buses) {
    if (!rt.buses_.count(b.id)) start_bus(b);
  }
  if (web && next.web != prev.web) {
    if (next.web.bind != prev.web.bind || next.web.port != prev.web.port ||
        next.web.tls_cert_file != prev.web.tls_cert_file || !next.web.enabled) {
      web->stop();
      web.reset();
      if (next.web.enabled) start_web();
    } else {
      web->set_users(app::web_users(next));
    }
  } else if (!web && next.web.enabled) {
    start_web();
  }
  for (const auto& e : rt.egms()) publish_status(e.id);
}

void Appliance::Impl::wait_commits(int tries_left, std::function<void()> then) {
  if (rt.sink_->pending() == 0 || tries_left <= 0) {
    then();
    return;
  }
  drain.expires_after(std::chrono::milliseconds(10));
  drain.async_wait([this, tries_left, then = std::move(then)](boost::system::error_code) mutable {
    wait_commits(tries_left - 1, std::move(then));
  });
}

void Appliance::Impl::stop(std::function<void()> done) {
  if (stopping) return;
  stopping = true;
  maintenance.cancel();
  rt.loop_lag_.reset();
  for (auto& [id, bus] : rt.buses_) bus->stop();
  if (web) web->stop();
  if (control) control->stop();
  // Let queued commits finish (at most ~3 s) so drivers' last events are durable, then say
  // offline on the broker and close the store.
  wait_commits(300, [this, done = std::move(done)]() mutable {
    sign_chain_head();  // the head at shutdown, retained for whoever audits next
    auto finish = [this, done = std::move(done)]() mutable {
      rt.buses_.clear();
      rt.store_->close();
      // Callbacks the close() just ran were posted to the loop; run them before reporting.
      boost::asio::post(rt.io_, std::move(done));
    };
    if (rt.delivery_) {
      rt.delivery_->stop(std::move(finish));
    } else {
      finish();
    }
  });
}

Appliance::Appliance(boost::asio::io_context& io, config::Config cfg,
                     std::filesystem::path config_path)
    : impl_(std::make_unique<Impl>(io, std::move(cfg), std::move(config_path))) {}

std::vector<config::ConfigError> Appliance::Impl::reload() {
  if (rt.config_path_.empty()) return {};
  auto loaded = config::load_file(rt.config_path_);
  if (!loaded.config) return loaded.errors;
  apply(*loaded.config);
  return {};
}

std::string Appliance::Impl::status_line() const {
  int up = 0, total = 0;
  for (const auto& e : rt.egms()) {
    ++total;
    up += e.link_up ? 1 : 0;
  }
  auto st = rt.delivery_ ? rt.delivery_->stats() : DeliveryStats{};
  char buf[200];
  std::snprintf(buf, sizeof buf, "%d/%d EGMs online, broker %s, %.0f events/s%s", up, total,
                st.connected ? "connected" : "disconnected", rt.events_per_s(),
                rt.alarm_.empty() ? "" : ", ALARM");
  return buf;
}

Appliance::~Appliance() = default;

std::error_code Appliance::start(std::string& detail) { return impl_->start(detail); }

std::vector<config::ConfigError> Appliance::reload() { return impl_->reload(); }

void Appliance::stop(std::function<void()> done) { impl_->stop(std::move(done)); }

void Appliance::run() { impl_->run(); }

std::string Appliance::status_line() const { return impl_->status_line(); }

}  // namespace floorgate::gateway
