#pragma once
// MQTT fan-out (DESIGN.md "Delivery contract"): per-consumer streams from the store's cursors
// to a broker, application acks back into the store, replay, dead letters, retained status,
// periodic health. Runs entirely on one executor (the daemon's io_context); store commits go
// through Store::ack_async and their results are posted back, so the loop never waits on fsync.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "floorgate/gateway/mqtt_transport.hpp"
#include "floorgate/store/store.hpp"

namespace floorgate::gateway {

// Broker connection and the gateway-wide topics. Copied at construction.
struct MqttOptions {
  std::string host = "127.0.0.1";   // broker host or IP literal (used when brokers is empty)
  int port = 1883;                  // broker TCP port (used when brokers is empty)
  // Brokers in order of preference (failover); empty = the one host/port. On losing a broker
  // (or failing to reach it) the client moves to the next one, with the usual backoff, and
  // stays on whichever works (no moving back while it is up).
  std::vector<std::pair<std::string, int>> brokers;
  std::string client_id;            // MQTT client id; empty = "floorgate-<boot id>"
  std::string username, password;   // empty username = no authentication
  std::string ca_file;              // PEM CA bundle; non-empty = TLS
  std::string cert_file, key_file;  // optional client certificate + key (PEM)
  int keepalive_s = 30;             // MQTT keepalive, seconds
  std::chrono::seconds stall_timeout{20};   // no PUBACK while messages outstanding -> recycle
  std::string topic_root = "floor/v1/site/gw";  // e.g. floor/v1/<site>/<gateway>
  bool live_copy = false;                   // also publish untracked <root>/live/... (QoS 0)
  std::chrono::seconds health_period{10};   // <root>/health cadence
  std::chrono::milliseconds backoff_initial{250};  // first reconnect delay (jittered)
  std::chrono::milliseconds backoff_max{30000};    // reconnect delay cap
  std::size_t max_inbound_bytes = 4096;     // ack/replay messages above this are rejected
  bool mqtt5 = true;                        // try MQTT 5 first (falls back to 3.1.1 on refusal)
  // true: speak only the version mqtt5 names. false (auto): fall back to 3.1.1 when the broker
  // refuses MQTT 5 (CONNACK 0x84 / return code 1) or closes the connection during an MQTT 5
  // CONNECT without any CONNACK (RabbitMQ's 3.1.1-only plugin does); a 3.1.1 attempt that
  // ends the same way goes back to 5 (the broker was down, not picky).
  bool protocol_fixed = false;
  std::function<std::int64_t()> now_ms;     // wall clock, UTC ms (default: system clock)
  std::function<std::int64_t()> loop_lag_ms;  // health "loop_lag_ms_max" (empty: not sent)
  // health "egm_alarms": one sentence per EGM alarm (reconciliation mismatch, unreadable
  // meters); empty function: not sent.
  std::function<std::vector<std::string>()> egm_alarms;
};

// One tracked consumer (config consumers[]). Its cursor lives in the store.
struct ConsumerOptions {
  std::string name;              // [A-Za-z0-9_-], used in topics
  store::Route route;            // which events it gets
  bool required = true;          // retention waits for its acks
  std::size_t window = 256;      // events published but not yet acked by the consumer
  std::chrono::milliseconds ack_timeout{30000};  // no ack for this long, events unacked -> resend
  double replay_rate = 1000;     // replayed events per second (token bucket)
  // live_first: more than a window behind, new events go out at once on a live lane (events
  // carry "live_from") while the backlog drains beside them, one window in flight each.
  bool live_first = false;
};

// Retained <root>/egm/<egm>/status content, supplied by the drivers' side of the daemon.
struct EgmStatusInfo {
  std::string egm;                    // configured EGM id
  bool link_up = false;               // protocol link state
  std::string protocol;               // "sas" | "g2s" | ...
  std::string sas_version, serial, denomination, game_id;  // identity (empty = unknown)
  std::optional<std::int64_t> last_seen_ms;  // last frame from the EGM, UTC ms
};

// Per consumer counters (since start) and live positions.
struct ConsumerDeliveryStats {
  std::string name;
  bool required = true;
  std::uint64_t acked_upto = 0;      // highest ack accepted (durable once commit returns)
  std::uint64_t durable_acked = 0;   // highest ack the store confirmed
  std::uint64_t sent_upto = 0;       // highest seq published on the live stream
  std::size_t inflight = 0;          // published, not yet acked
  std::uint64_t published = 0;       // live publishes incl. resends
  std::uint64_t resends = 0;         // ack-timeout rewinds
  std::uint64_t presence_holds = 0;  // stream held: its presence returned too often
  std::uint64_t acks = 0;            // accepted acks
  std::uint64_t replayed = 0;        // replay publishes
  bool replay_active = false;
  std::optional<bool> present;       // consumer presence; none when it does not announce it
  std::optional<std::uint64_t> live_from;  // live_first: the open live lane's start, if any
  std::uint64_t nacks = 0;           // dead letters recorded
  std::uint64_t rejected = 0;        // bad ack/replay messages for this consumer
  // Backlog arithmetic over the last BacklogRate::kWindowMs (see backlog.hpp).
  double incoming_per_s = 0;         // events routed to it
  double acked_per_s = 0;            // events leaving its backlog
  double backlog_growth_per_min = 0; // negative while draining
  std::optional<double> drain_eta_s; // time to clear while draining; none otherwise
};

// Snapshot of the delivery side (web page, /metrics, health topic, tests).
struct DeliveryStats {
  bool connected = false;           // CONNACK accepted and not lost since
  int protocol = 5;                 // 5 or 4 (3.1.1) currently negotiated/tried
  std::string broker;               // host:port of the broker in use (or being tried)
  std::uint64_t failovers = 0;      // connections made to a different broker than the last
  std::string last_error;           // last connection problem, human readable
  std::uint64_t connects = 0;       // successful CONNACKs
  std::uint64_t connect_failures = 0;  // refused / failed attempts
  std::uint64_t disconnects = 0;
  std::uint64_t stall_recycles = 0;    // watchdog recycled the connection
  std::uint64_t pubacks = 0;
  std::uint64_t puback_no_subscribers = 0;  // MQTT 5 PUBACK reason 0x10
  std::uint64_t rejected_inbound = 0;  // all rejected inbound messages
  std::uint64_t rejected_malformed = 0, rejected_unknown_consumer = 0, rejected_topic = 0,
                rejected_oversize = 0, rejected_ack_beyond = 0, rejected_ack_backwards = 0,
                rejected_replay_range = 0,
                rejected_replay_rate = 0;  // replay requests above the per-consumer rate
  std::uint64_t log_lines_suppressed = 0;  // rejection log lines not written (rate limit)
  std::uint64_t ack_commit_errors = 0;
  std::uint64_t health_published = 0;
  std::uint64_t live_published = 0;
  std::uint64_t live_skipped = 0;     // rows the live copy skipped: gone from memory first
  std::uint64_t ticks = 0;  // delivery ticks run; each pumps every consumer (tests wait on it)
  std::vector<ConsumerDeliveryStats> consumers;
};

class DeliveryImpl;

// The delivery engine. Construct, start(), feed notify_appended(); stop() before destroying.
// Every method must be called on `ex` (the daemon's event loop thread), except stats(),
// which is safe from any thread.
class Delivery {
 public:
  // `drive` replaces the broker link, the clock and the timers (unit tests: a fake
  // MqttTransport, a core::ManualClock and poll()); the default is the product's.
  Delivery(boost::asio::any_io_executor ex, store::Store& store, MqttOptions mqtt,
           std::vector<ConsumerOptions> consumers, DeliveryDrive drive = {});
  ~Delivery();
  Delivery(const Delivery&) = delete;
  Delivery& operator=(const Delivery&) = delete;

  // Registers the consumers in the store, connects, starts the streams and timers.
  void start();
  // Publishes retained "offline", disconnects, cancels timers; `done` runs on the executor
  // once the broker link is closed (or immediately when it was not connected). Never blocks.
  void stop(std::function<void()> done = {});
  // A new event is durable (seq assigned): wake the streams. Cheap; calls coalesce.
  void notify_appended(std::uint64_t seq);
  // Publishes (retained) the EGM's status now or on the next connect.
  void publish_egm_status(const EgmStatusInfo& info);
  // Retained <root>/chain: the newest signed chain head (docs/audit.md); re-sent on reconnect.
  void publish_chain_head(std::string payload);
  // Configuration reload: adds, updates (route/window/...) and drops consumers. Cursors stay.
  void set_consumers(std::vector<ConsumerOptions> consumers);
  // Operator reset of a consumer's acked cursor (store::Store::reset_consumer, audited by the
  // caller): its stream resends from to_seq + 1. `done` runs on the executor with the cursor
  // it replaced; unknown_consumer when no such consumer is configured.
  using ResetDone = std::function<void(std::error_code, std::uint64_t previous)>;
  void reset_consumer(const std::string& name, std::uint64_t to_seq, ResetDone done);
  // With DeliveryDrive::timers false: one delivery tick now (refill replay tokens, ack
  // timeouts, pump every stream), and the health message once its period has passed on the
  // drive's clock. Completions from the store still arrive on the executor.
  void poll();
  // Thread-safe snapshot.
  DeliveryStats stats() const;
  // The boot id carried by <root>/status (random per process start).
  std::string boot_id() const;

 private:
  std::shared_ptr<DeliveryImpl> impl_;
};

}  // namespace floorgate::gateway
