// The two bus drivers behind app::BusDriver: a SAS bus and a G2S host.
#include "app/bus_driver.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <set>

#include "app/mapping.hpp"
#include "floorgate/drivers/g2s/host.hpp"
#include "floorgate/drivers/sas/bus.hpp"

namespace floorgate::gateway::app {

namespace {
// The backfill's look at the store reads seq windows, newest first: each read visits at most a
// window of rows whatever the EGM filter matches (the event tables have no EGM index), and the
// whole look at most kStoredKeysMaxWindows of them.
// A window is no wider than a query may return (10,000 rows): every match in it comes back.
constexpr std::uint64_t kStoredKeysWindow = 10000;
constexpr int kStoredKeysMaxWindows = 100;  // 1,000,000 rows at most
constexpr auto kStoredKeysBusyRetry = std::chrono::milliseconds(200);
constexpr int kStoredKeysBusyRetries = 150;  // 30 s of a full queue: give up (stored again)
}  // namespace

void find_stored_keys(store::EventLog& log, boost::asio::any_io_executor ex, std::string bus,
                      std::string egm, std::vector<drivers::g2s::SeenKey> keys,
                      std::int64_t since_ms,
                      std::function<void(std::vector<drivers::g2s::SeenKey>)> done) {
  struct Lookup {
    store::EventLog* log;
    boost::asio::any_io_executor ex;
    std::string bus, egm;
    std::set<std::pair<std::int64_t, std::string>> wanted;
    std::vector<drivers::g2s::SeenKey> found;
    std::uint64_t floor = 1, hi = 0;  // seqs still to read: [floor, hi]
    std::int64_t since_ms = 0;
    int windows = 0, busy = 0;
    std::unique_ptr<boost::asio::steady_timer> retry;
    std::function<void(std::vector<drivers::g2s::SeenKey>)> done;

    void finish(const std::shared_ptr<Lookup>& self, const std::string& error) {
      boost::asio::post(ex, [self, error] {
        if (!error.empty())
          spdlog::error("bus {}: looking for {}'s backfilled events in the store failed ({}): "
                        "{} of them may be stored twice", self->bus, self->egm, error,
                        self->wanted.size());
        self->done(std::move(self->found));
      });
    }
    // The query thread's queue is bounded: a read it refuses as busy is asked again later
    // (`step`: the first lookup or a window), up to a limit.
    void later(const std::shared_ptr<Lookup>& self, void (Lookup::*step)(const std::shared_ptr<Lookup>&)) {
      if (++busy > kStoredKeysBusyRetries) return finish(self, "the store stayed busy");
      boost::asio::post(ex, [self, step] {
        self->retry = std::make_unique<boost::asio::steady_timer>(self->ex, kStoredKeysBusyRetry);
        self->retry->async_wait([self, step](boost::system::error_code ec) {
          if (ec) return self->finish(self, ec.message());
          ((*self).*step)(self);
        });
      });
    }
    static bool is_busy(const std::error_code& ec) {
      return ec == store::make_error_code(store::Errc::busy);
    }
    void start(const std::shared_ptr<Lookup>& self) {
      log->seq_at_time_async(since_ms, [self](core::Result<std::optional<std::uint64_t>> first) {
        if (!first && is_busy(first.error())) return self->later(self, &Lookup::start);
        if (!first) return self->finish(self, first.error().message());
        if (!*first || **first > self->hi) return self->finish(self, {});  // nothing since then
        self->floor = **first;
        boost::asio::post(self->ex, [self] { self->window(self); });
      });
    }
    void window(const std::shared_ptr<Lookup>& self) {
      store::QueryFilter f;
      f.egm = egm;
      f.before_seq = hi + 1;
      f.from_seq = hi + 1 - floor > kStoredKeysWindow ? hi + 1 - kStoredKeysWindow : floor;
      f.limit = kStoredKeysWindow;
      const std::uint64_t low = *f.from_seq;
      log->query_async(std::move(f), [self, low](core::Result<std::vector<store::Record>> rows) {
        // On the query thread: only this lookup's own state is touched until it posts.
        if (!rows && is_busy(rows.error())) return self->later(self, &Lookup::window);
        if (!rows) return self->finish(self, rows.error().message());
        for (const auto& r : *rows) {
          auto k = drivers::g2s::seen_key_from_attrs(r.attrs_json);
          if (k && self->wanted.erase({k->event_id, k->event_dt})) self->found.push_back(*k);
        }
        if (low <= self->floor || self->wanted.empty()) return self->finish(self, {});
        if (++self->windows >= kStoredKeysMaxWindows)
          return self->finish(self, "read back its limit of " +
                                        std::to_string(kStoredKeysWindow * kStoredKeysMaxWindows) +
                                        " events without finding them");
        self->hi = low - 1;
        boost::asio::post(self->ex, [self] { self->window(self); });
      });
    }
  };
  auto l = std::make_shared<Lookup>();
  l->log = &log;
  l->ex = ex;
  l->bus = std::move(bus);
  l->egm = std::move(egm);
  for (auto& k : keys) l->wanted.emplace(k.event_id, std::move(k.event_dt));
  l->done = std::move(done);
  l->hi = log.counters().last_seq;
  l->since_ms = since_ms;
  l->start(l);
}

// The backfill's lookups of one bus, one at a time: a bus of many EGMs re-associating after a
// restart would otherwise fill the query thread's queue with them.
class StoredKeyLookups : public std::enable_shared_from_this<StoredKeyLookups> {
 public:
  StoredKeyLookups(store::EventLog& log, boost::asio::any_io_executor ex, std::string bus)
      : log_(log), ex_(std::move(ex)), bus_(std::move(bus)) {}
  void ask(const std::string& egm, std::vector<drivers::g2s::SeenKey> keys, std::int64_t since_ms,
           std::function<void(std::vector<drivers::g2s::SeenKey>)> done) {
    queue_.push_back([self = shared_from_this(), egm, keys = std::move(keys), since_ms,
                      done = std::move(done)]() mutable {
      find_stored_keys(self->log_, self->ex_, self->bus_, egm, std::move(keys), since_ms,
                       [self, done = std::move(done)](std::vector<drivers::g2s::SeenKey> found) {
                         done(std::move(found));
                         self->busy_ = false;
                         self->next();
                       });
    });
    next();
  }

 private:
  void next() {
    if (busy_ || queue_.empty()) return;
    busy_ = true;
    auto job = std::move(queue_.front());
    queue_.pop_front();
    job();
  }
  store::EventLog& log_;
  boost::asio::any_io_executor ex_;
  std::string bus_;
  std::deque<std::function<void()>> queue_;
  bool busy_ = false;
};

namespace {

void fill_sas(EgmView& v, const drivers::sas::EgmStatus& s, bool meters) {
  v.link_up = s.link_up;
  v.sas_version = s.sas_version;
  v.serial = s.serial;
  v.denomination_cents = s.denomination_cents;
  v.last_poll_ms = s.last_poll_ms;
  v.last_event_ms = s.last_event_ms;
  if (meters) {
    v.meters = s.meters;
    v.meter_units = s.meter_units;
  }
  v.clock_drift_ms = s.clock_drift_ms;
  v.rom_signature = s.rom_signature;
  v.rom_check_running = s.rom_check_running;
  v.meter_poll = s.meter_poll;
  v.meters_unreadable = s.meters_unreadable;
  v.last_mismatch = s.last_mismatch;
  v.counters = {{"polls", s.polls},       {"answers", s.answers},
                {"crc_errors", s.crc_errors}, {"timeouts", s.timeouts},
                {"retries", s.retries},   {"nack_resends", s.nack_resends},
                {"link_transitions", s.link_transitions},
                {"events", s.events},     {"chirps", s.chirps},
                {"busy", s.busy},         {"rte_resyncs", s.rte_resyncs},
                {"line_errors", s.line_errors},
                {"reconciliations", s.reconciliations},
                {"reconciliation_mismatches", s.reconciliation_mismatches}};
}

void fill_g2s(EgmView& v, const drivers::g2s::EgmStatus& s) {
  v.link_up = s.link_up;
  v.g2s_state = std::string(drivers::g2s::to_string(s.state));
  if (s.last_seen_ms) v.last_poll_ms = s.last_seen_ms;
  v.clock_drift_ms = s.clock_skew_ms;
  v.g2s_subscriptions = s.subscriptions;
  v.g2s_missing_events = s.missing_events;
  v.g2s_no_rights = s.no_rights;
  v.last_mismatch = s.last_mismatch;
  v.counters = {{"events", s.events_received},    {"events_committed", s.events_committed},
                {"duplicates", s.duplicates},     {"acks_sent", s.acks_sent},
                {"post_failures", s.post_failures}, {"rejected", s.rejected},
                {"reconciliations", s.reconciliations},
                {"reconciliation_mismatches", s.reconciliation_mismatches}};
}

// Writes each driver status into the view of the EGM with the same id.
template <class Status, class Fill>
void fill_views(const std::vector<Status>& status, std::span<EgmView> views, Fill fill) {
  for (auto& v : views) {
    for (const auto& s : status) {
      if (s.id == v.id) fill(v, s);
    }
  }
}

class SasDriver final : public BusDriver {
 public:
  SasDriver(const config::BusConfig& b, const DriverContext& ctx,
            std::function<void(const std::string&)> on_status)
      : egms_(b.egms.size()) {
    auto cfg = sas_bus(b, ctx.state_dir);
    port_ = cfg.port;
    bus_ = std::make_unique<drivers::sas::Bus>(ctx.ex, std::move(cfg), ctx.sink,
                                               [] { return wall_ms(); });
    bus_->on_status_change(
        [on_status = std::move(on_status)](const drivers::sas::EgmStatus& s) { on_status(s.id); });
  }
  std::error_code start() override {
    bus_->start();  // opens (and keeps reopening) the port by itself
    return {};
  }
  void stop() override { bus_->stop(); }
  void fill(std::span<EgmView> views, bool meters) const override {
    // Visited in place and without the meter maps unless asked: a copy of every status (two
    // meter maps each) per view request is what made the dashboard push the longest handler
    // on the loop.
    bus_->visit_status([&](const drivers::sas::EgmStatus& s) {
      for (auto& v : views) {
        if (v.id == s.id) fill_sas(v, s, meters);
      }
    });
  }
  std::string request_rom_check(const std::string& egm) override {
    return bus_->request_rom_check(egm);
  }
  std::string describe() const override {
    return "SAS on " + port_ + " with " + std::to_string(egms_) + " EGM(s)";
  }

 private:
  std::string port_;
  std::size_t egms_;
  std::unique_ptr<drivers::sas::Bus> bus_;
};

class G2sDriver final : public BusDriver {
 public:
  G2sDriver(const config::BusConfig& b, const DriverContext& ctx,
            std::function<void(const std::string&)> on_status, RecentKeys keys)
      : bind_(b.bind), egms_(b.egms.size()) {
    auto cfg = g2s_host(b);
    // G2S dedupe across restarts: the (eventId, eventDateTime) keys already committed, newest
    // last, and the keys of complete end-of-day meter pushes, so an EGM's re-sent eventReport
    // or EOD meterInfo is recognised after a gateway restart.
    cfg.recent_keys = [keys = std::move(keys)](const std::string& egm) {
      auto it = keys.find(egm);
      return it == keys.end() ? std::vector<drivers::g2s::SeenKey>{} : it->second;
    };
    // A log entry the backfill takes is never acknowledged on the EGM: after a restart that
    // forgot its key, the store is asked before it is stored again.
    cfg.stored_keys = [lookups = std::make_shared<StoredKeyLookups>(ctx.log, ctx.ex, b.id)](
                          const std::string& egm, std::vector<drivers::g2s::SeenKey> wanted,
                          std::int64_t since_ms,
                          std::function<void(std::vector<drivers::g2s::SeenKey>)> done) {
      lookups->ask(egm, std::move(wanted), since_ms, std::move(done));
    };
    cfg.log = [id = b.id](const std::string& line) { spdlog::warn("bus {}: {}", id, line); };
    host_ = std::make_unique<drivers::g2s::Host>(ctx.ex, std::move(cfg), ctx.sink,
                                                 [] { return wall_ms(); });
    host_->on_status_change(
        [on_status = std::move(on_status)](const drivers::g2s::EgmStatus& s) { on_status(s.id); });
  }
  std::error_code start() override { return host_->start(); }
  void stop() override { host_->stop(); }
  void fill(std::span<EgmView> views, bool) const override {
    fill_views(host_->status(), views, fill_g2s);
  }
  std::string request_rom_check(const std::string& egm) override {
    return "ROM signature checks are a SAS long poll (LP 21); " + egm + " speaks G2S";
  }
  std::string describe() const override {
    return "G2S host listening on " + bind_ + ":" + std::to_string(host_->port()) +
           (host_->tls() ? " (HTTPS, mutual TLS)" : "") + " for " + std::to_string(egms_) +
           " EGM(s)";
  }

 private:
  std::string bind_;
  std::size_t egms_;
  std::unique_ptr<drivers::g2s::Host> host_;
};

}  // namespace

std::unique_ptr<BusDriver> make_bus_driver(const config::BusConfig& b, const DriverContext& ctx,
                                           std::function<void(const std::string&)> on_status,
                                           RecentKeys keys) {
  if (b.driver == config::Driver::g2s) {
    return std::make_unique<G2sDriver>(b, ctx, std::move(on_status), std::move(keys));
  }
  return std::make_unique<SasDriver>(b, ctx, std::move(on_status));
}

void load_recent_keys(const config::BusConfig& b, const DriverContext& ctx,
                      std::function<void(RecentKeys)> done) {
  // One EGM at a time: a bus may have more EGMs than the query thread queues (32).
  struct Pending {
    std::string bus;
    std::vector<std::string> egms;
    std::size_t next = 0;
    RecentKeys keys;
    std::function<void(RecentKeys)> done;
    store::EventLog* log = nullptr;
    boost::asio::any_io_executor ex;
    void step(const std::shared_ptr<Pending>& self) {
      if (next == egms.size()) return done(std::move(keys));
      store::QueryFilter f;
      f.egm = egms[next];
      f.limit = 1000;
      log->query_async(std::move(f), [self](core::Result<std::vector<store::Record>> rows) {
        drivers::g2s::SeenKeys seen;  // built here, on the query thread
        std::string error;
        if (!rows) {
          error = rows.error().message();
        } else {
          for (auto it = rows->rbegin(); it != rows->rend(); ++it) seen.add(it->attrs_json);
        }
        boost::asio::post(self->ex, [self, error, keys = seen.keys()]() mutable {
          const std::string& egm = self->egms[self->next];
          if (!error.empty()) {
            spdlog::error("bus {}: reading {}'s recent events failed ({}): an event it sends "
                          "again may be stored twice", self->bus, egm, error);
          }
          self->keys[egm] = std::move(keys);
          ++self->next;
          self->step(self);
        });
      });
    }
  };
  auto p = std::make_shared<Pending>();
  p->bus = b.id;
  for (const auto& e : b.egms) p->egms.push_back(e.id);
  p->done = std::move(done);
  p->log = &ctx.log;
  p->ex = ctx.ex;
  boost::asio::post(p->ex, [p] { p->step(p); });
}

}  // namespace floorgate::gateway::app
