// ApplianceBackend::metrics_text: Prometheus text exposition (format 0.0.4) of the gateway.
#include <sstream>

#include "floorgate/core/check.hpp"
#include "app/backend.hpp"

namespace floorgate::gateway::app {
namespace {

class Exposition {
 public:
  // Starts a metric family with its HELP and TYPE lines.
  void family(const char* name, const char* type, const char* help) {
    out_ << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
  }
  void sample(const char* name, double v) { out_ << name << ' ' << v << '\n'; }
  void sample(const char* name, const char* label, const std::string& value, double v) {
    out_ << name << '{' << label << "=\"" << escape(value) << "\"} " << v << '\n';
  }
  std::string str() const { return out_.str(); }

 private:
  static std::string escape(const std::string& s) {
    std::string o;
    for (char c : s) {
      if (c == '\\' || c == '"') o.push_back('\\');
      if (c == '\n') {
        o += "\\n";
        continue;
      }
      o.push_back(c);
    }
    return o;
  }
  std::ostringstream out_;
};

}  // namespace

std::string ApplianceBackend::metrics_text() {
  Exposition m;
  auto now = wall_ms();
  auto st = rt_.store()->stats();
  auto ds = rt_.delivery() ? rt_.delivery()->stats() : DeliveryStats{};

  m.family("floorgate_consumer_unacked_events", "gauge", "Events routed to the consumer and not yet acknowledged.");
  for (const auto& c : st.consumers) m.sample("floorgate_consumer_unacked_events", "consumer", c.name, static_cast<double>(c.unacked));
  m.family("floorgate_consumer_oldest_unacked_age_seconds", "gauge", "Age of the oldest unacknowledged event per consumer (0 when none).");
  for (const auto& c : st.consumers) {
    double age = c.oldest_unacked_ts_ms ? static_cast<double>(now - *c.oldest_unacked_ts_ms) / 1000.0 : 0.0;
    m.sample("floorgate_consumer_oldest_unacked_age_seconds", "consumer", c.name, age);
  }
  m.family("floorgate_consumer_acked_seq", "gauge", "Durable acknowledged cursor per consumer.");
  for (const auto& c : st.consumers) m.sample("floorgate_consumer_acked_seq", "consumer", c.name, static_cast<double>(c.acked_upto));
  m.family("floorgate_consumer_published_total", "counter", "Events published to the consumer's stream, resends included.");
  for (const auto& c : ds.consumers) m.sample("floorgate_consumer_published_total", "consumer", c.name, static_cast<double>(c.published));
  m.family("floorgate_consumer_inflight_events", "gauge", "Events published and awaiting the consumer's ack.");
  for (const auto& c : ds.consumers) m.sample("floorgate_consumer_inflight_events", "consumer", c.name, static_cast<double>(c.inflight));
  m.family("floorgate_consumer_incoming_per_second", "gauge", "Events routed to the consumer per second (last 60 s).");
  for (const auto& c : ds.consumers) m.sample("floorgate_consumer_incoming_per_second", "consumer", c.name, c.incoming_per_s);
  m.family("floorgate_consumer_acked_per_second", "gauge", "Events leaving the consumer's backlog per second (last 60 s).");
  for (const auto& c : ds.consumers) m.sample("floorgate_consumer_acked_per_second", "consumer", c.name, c.acked_per_s);
  m.family("floorgate_consumer_backlog_growth_per_minute", "gauge", "Incoming minus processed events per minute (last 60 s); negative while draining.");
  for (const auto& c : ds.consumers) m.sample("floorgate_consumer_backlog_growth_per_minute", "consumer", c.name, c.backlog_growth_per_min);
  m.family("floorgate_consumer_drain_eta_seconds", "gauge", "Time to clear the backlog at the current rates; absent when not draining.");
  for (const auto& c : ds.consumers) {
    if (c.drain_eta_s) m.sample("floorgate_consumer_drain_eta_seconds", "consumer", c.name, *c.drain_eta_s);
  }
  m.family("floorgate_consumer_dead_letters", "gauge", "Events the consumer rejected (dead letters).");
  for (const auto& c : st.consumers) m.sample("floorgate_consumer_dead_letters", "consumer", c.name, static_cast<double>(c.dead_letters));

  m.family("floorgate_loop_lag_seconds", "gauge", "Worst lateness of the event loop (the SAS poll clock) over the last 10 to 20 s.");
  m.sample("floorgate_loop_lag_seconds", rt_.loop_lag() ? static_cast<double>(rt_.loop_lag()->max_ms()) / 1000.0 : 0.0);
  m.family("floorgate_loop_handler_cpu_max_seconds", "gauge", "CPU time of the longest single event-loop handler since start, to within 1 ms above (SAS polls wait while one runs).");
  m.sample("floorgate_loop_handler_cpu_max_seconds", static_cast<double>(rt_.loop_meter().max_handler_cpu_us()) / 1e6);
  m.family("floorgate_invariant_failures_total", "counter", "Failed internal invariant checks (FG_CHECK) since start; anything above 0 is a bug to report.");
  m.sample("floorgate_invariant_failures_total", static_cast<double>(core::check_failures()));
  m.family("floorgate_events_in_total", "counter", "Events made durable in the store since start.");
  m.sample("floorgate_events_in_total", static_cast<double>(rt_.sink()->durable()));
  m.family("floorgate_events_failed_total", "counter", "Events the store could not make durable (the EGM keeps them).");
  m.sample("floorgate_events_failed_total", static_cast<double>(rt_.sink()->failed()));
  m.family("floorgate_broker_connected", "gauge", "1 while the MQTT broker connection is up.");
  m.sample("floorgate_broker_connected", ds.connected ? 1 : 0);
  m.family("floorgate_broker_failovers_total", "counter", "Connections made to a different broker of mqtt.hosts than the last one.");
  m.sample("floorgate_broker_failovers_total", static_cast<double>(ds.failovers));
  m.family("floorgate_broker_info", "gauge", "The broker in use (or being tried), as a label.");
  m.sample("floorgate_broker_info", "address", ds.broker, 1);
  m.family("floorgate_broker_connects_total", "counter", "Successful MQTT connections.");
  m.sample("floorgate_broker_connects_total", static_cast<double>(ds.connects));
  m.family("floorgate_broker_stall_recycles_total", "counter", "Connections recycled by the PUBACK progress watchdog.");
  m.sample("floorgate_broker_stall_recycles_total", static_cast<double>(ds.stall_recycles));
  m.family("floorgate_inbound_rejected_total", "counter", "Malformed or invalid ack/replay messages rejected.");
  m.sample("floorgate_inbound_rejected_total", static_cast<double>(ds.rejected_inbound));

  m.family("floorgate_store_evicted_total", "counter", "Rows removed by retention (age, size) since the store was opened.");
  m.sample("floorgate_store_evicted_total", static_cast<double>(st.evicted_total));
  m.family("floorgate_store_disk_full_total", "counter", "Store transactions that failed with a full disk since open.");
  m.sample("floorgate_store_disk_full_total", static_cast<double>(st.disk_full_total));
  m.family("floorgate_store_commits_total", "counter", "Append/ack transactions committed since the store was opened (one WAL sync each).");
  m.sample("floorgate_store_commits_total", static_cast<double>(st.commits_total));
  m.family("floorgate_store_wal_restarts_total", "counter", "Times the writer paused to copy an overgrown WAL into the file and start it over (a sustained load outran the checkpointer).");
  m.sample("floorgate_store_wal_restarts_total", static_cast<double>(st.wal_restarts_total));
  m.family("floorgate_consumer_acks_total", "counter", "Acks accepted from the consumer.");
  for (const auto& c : ds.consumers) m.sample("floorgate_consumer_acks_total", "consumer", c.name, static_cast<double>(c.acks));
  m.family("floorgate_consumer_replayed_total", "counter", "Events published again on a replay request.");
  for (const auto& c : ds.consumers) m.sample("floorgate_consumer_replayed_total", "consumer", c.name, static_cast<double>(c.replayed));
  m.family("floorgate_consumer_resends_total", "counter", "Ack timeouts that rewound the consumer's stream.");
  for (const auto& c : ds.consumers) m.sample("floorgate_consumer_resends_total", "consumer", c.name, static_cast<double>(c.resends));
  m.family("floorgate_consumer_presence_holds_total", "counter", "Times the consumer's stream was held because its presence returned too often (flapping).");
  for (const auto& c : ds.consumers) m.sample("floorgate_consumer_presence_holds_total", "consumer", c.name, static_cast<double>(c.presence_holds));
  m.family("floorgate_build_info", "gauge", "The running build, as a label.");
  m.sample("floorgate_build_info", "version", FLOORGATE_VERSION, 1);
  m.family("floorgate_store_bytes", "gauge", "Store file size including the WAL.");
  m.sample("floorgate_store_bytes", static_cast<double>(st.bytes));
  m.family("floorgate_store_rows", "gauge", "Events kept in the store.");
  m.sample("floorgate_store_rows", static_cast<double>(st.rows));
  m.family("floorgate_store_last_seq", "gauge", "Highest sequence number assigned.");
  m.sample("floorgate_store_last_seq", static_cast<double>(st.last_seq));
  m.family("floorgate_store_commit_seconds_avg", "gauge", "Moving average of a store commit's duration (its fsync): the storage's sync time.");
  m.sample("floorgate_store_commit_seconds_avg", static_cast<double>(st.commit_us_avg) / 1e6);
  m.family("floorgate_store_retention_alarm", "gauge", "1 when retention would have to drop events it may not drop.");
  m.sample("floorgate_store_retention_alarm", st.retention_alarm ? 1 : 0);

  auto egms = rt_.egms();
  m.family("floorgate_egm_link_up", "gauge", "1 while the EGM answers its polls.");
  for (const auto& e : egms) m.sample("floorgate_egm_link_up", "egm", e.id, e.link_up ? 1 : 0);
  m.family("floorgate_egm_meters_unreadable", "gauge",
           "1 while no meter long poll (6F, 2F, single) is answered: money cannot be reconciled.");
  for (const auto& e : egms) {
    if (e.protocol == "sas") {
      m.sample("floorgate_egm_meters_unreadable", "egm", e.id, e.meters_unreadable ? 1 : 0);
    }
  }
  const std::pair<const char*, const char*> counters[] = {
      {"polls", "floorgate_egm_polls_total"},         {"crc_errors", "floorgate_egm_crc_errors_total"},
      {"timeouts", "floorgate_egm_timeouts_total"},   {"retries", "floorgate_egm_retries_total"},
      {"events", "floorgate_egm_events_total"},       {"link_transitions", "floorgate_egm_link_transitions_total"},
      {"reconciliations", "floorgate_egm_reconciliations_total"},
      {"reconciliation_mismatches", "floorgate_egm_reconciliation_mismatches_total"}};
  for (const auto& [key, name] : counters) {
    m.family(name, "counter", "Per-EGM driver counter.");
    for (const auto& e : egms) {
      if (auto n = e.counter(key)) m.sample(name, "egm", e.id, static_cast<double>(*n));
    }
  }
  return m.str();
}

}  // namespace floorgate::gateway::app

namespace floorgate::gateway::app {

// The watchdog (WatchdogSec=10s) kills a daemon whose loop stops; a probe says so earlier.
web::Backend::Probe ApplianceBackend::liveness() {
  Probe p;
  const std::int64_t lag = rt_.loop_lag() ? rt_.loop_lag()->max_ms() : 0;
  p.ok = lag < 5000;
  p.detail["loop_lag_ms_max"] = lag;
  return p;
}

web::Backend::Probe ApplianceBackend::readiness() {
  Probe p;
  const bool store = rt_.store() != nullptr;
  const bool broker = rt_.delivery() && rt_.delivery()->stats().connected;
  std::size_t started = 0;
  for (const auto& b : rt_.cfg().buses) {
    started += rt_.bus_running(b.id) ? 1 : 0;
  }
  const bool buses = started == rt_.cfg().buses.size();
  p.ok = store && broker && buses;
  p.detail["store_open"] = store;
  p.detail["broker_connected"] = broker;
  p.detail["buses_started"] = started;
  p.detail["buses_configured"] = rt_.cfg().buses.size();
  return p;
}

}  // namespace floorgate::gateway::app
