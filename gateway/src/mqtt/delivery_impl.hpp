#pragma once
// Internals of Delivery (delivery.hpp). Everything here runs on the one executor; the only
// cross-thread entry points are Store::ack_async completions (posted back) and stats()
// (a mutex-guarded snapshot refreshed by the loop).

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <array>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <unordered_map>
#include <vector>

#include "floorgate/core/clock.hpp"
#include "floorgate/gateway/backlog.hpp"
#include "floorgate/gateway/delivery.hpp"
#include "floorgate/gateway/mqtt_codec.hpp"
#include "floorgate/gateway/mqtt_transport.hpp"

namespace floorgate::gateway {

using SteadyTime = std::chrono::steady_clock::time_point;

// One consumer's live stream, replay stream and counters.
struct ConsumerState {
  ConsumerOptions opt;
  bool ready = false;               // the store answered the registration with the cursor
  std::uint64_t registration = 0;   // generation of the latest registration request
  std::uint64_t acked = 0;          // highest accepted ack (in memory)
  std::uint64_t durable_acked = 0;  // highest ack the store confirmed
  std::uint64_t sent_upto = 0;      // highest seq ever published (either lane)
  struct Inflight {
    std::uint64_t seq;
    SteadyTime sent;
  };
  // A lane publishes in seq order with its own window: the ordered stream, or (live_first)
  // the backlog beside a live lane.
  struct Lane {
    std::uint64_t pos = 0;          // read position (last seq handed to the broker or scanned)
    std::uint64_t after = 0;        // last seq published on the lane: the next event's "after"
    std::deque<Inflight> inflight;  // published, not yet acked, in seq order
    std::uint64_t reading = 0;      // id of the store read in flight (rows on disk only), 0: none
    SteadyTime progress{};          // when an ack last moved the lane (check_ack_timeout)
  };
  Lane main;                        // ordered; with a live lane: the backlog up to live->from
  // live_first only: new events (seq > from) while the backlog drains. Its acks arrive as
  // {"upto":..,"live_from":from,"live_upto":..}; the durable cursor moves with the backlog,
  // and the lanes merge once the backlog is acked up to `from`. The lane publishes in seq
  // order, so its `after` is also the highest live seq sent.
  struct LiveLane : Lane {
    std::uint64_t from = 0, acked = 0;
  };
  std::optional<LiveLane> live;
  std::size_t inflight() const { return main.inflight.size() + (live ? live->inflight.size() : 0); }
  bool ack_committing = false;      // one ack_async in flight at a time (coalesced)
  // A failed ack commit is tried again from the tick, after a delay that doubles up to a
  // limit (a full disk refuses every commit: no retry loop on the event loop).
  SteadyTime ack_retry_at{};
  std::chrono::milliseconds ack_retry_delay{0};
  bool resetting = false;           // an operator reset is on its way to the store: no acks
  // Presence (docs/mqtt.md): the consumer's retained <root>/consumer/<name>/status. Unknown
  // (no message, or an empty retained one): today's behaviour. False: nothing is sent to it
  // and nothing times out; true again: its stream starts from the cursor at once.
  std::optional<bool> present;
  // Each return of presence resends the unacked window: a consumer whose presence flaps may do
  // it a burst of kPresenceBurst times, then once every kPresenceEvery. Beyond that its stream
  // is held until `resume_at` (the tokens go negative, to a bound: the next hold is longer the
  // more it flapped; returns during a hold do not extend it).
  double presence_tokens = 3;
  SteadyTime presence_refill{};
  SteadyTime resume_at{};  // zero: not held
  // Replay: events (pos, end] re-read from the store and flagged "replay": true.
  bool replay_active = false;
  std::uint64_t replay_pos = 0, replay_end = 0;
  std::uint64_t replay_reading = 0;      // id of the replay's store read in flight, 0: none
  std::deque<store::Record> dead_queue;  // dead letters being redelivered
  std::set<std::uint64_t> dead_known;     // queued or awaiting PUBACK (a second request adds none)
  // Published as dead letters: the consumer may nack one of them again, below its cursor.
  std::set<std::uint64_t> redelivered;
  std::vector<std::uint64_t> dead_to_clear;  // PUBACKed, not yet removed from the store's list
  bool dead_clearing = false;
  std::set<std::uint64_t> renacked;  // nacked again while their clear was on its way
  SteadyTime dead_clear_retry_at{};
  // Nacks recorded (or on their way to the store) above the cursor: a repeat is not written
  // again (each is a durable commit on the store's writer, which the EGMs' events wait for).
  std::set<std::uint64_t> nacked;
  double tokens = 0;                     // replay token bucket (events)
  // Replay requests: a bucket of kReplayRequestBurst, one more every kReplayRequestEveryMs.
  double request_tokens = 3;
  SteadyTime request_refill{};
  std::size_t replay_outstanding = 0;    // replay publishes awaiting PUBACK
  ConsumerDeliveryStats counters;
  std::uint64_t last_health_published = 0, last_health_acks = 0;
  std::uint64_t silent_timeouts = 0;  // ack timeouts in a row without an ack (backoff, logging)
  BacklogRate backlog;                // incoming / processing / growth / drain ETA (health)
};

class DeliveryImpl : public std::enable_shared_from_this<DeliveryImpl> {
 public:
  DeliveryImpl(boost::asio::any_io_executor ex, store::Store& store, MqttOptions mqtt,
               std::vector<ConsumerOptions> consumers, DeliveryDrive drive);
  ~DeliveryImpl();
  void start();
  void stop(std::function<void()> done);
  void notify_appended(std::uint64_t seq);
  void publish_egm_status(const EgmStatusInfo& info);
  void publish_chain_head(std::string payload);
  void set_consumers(std::vector<ConsumerOptions> consumers);
  void reset_consumer(const std::string& name, std::uint64_t to_seq, Delivery::ResetDone done);
  DeliveryStats stats() const;
  const std::string& boot_id() const { return boot_id_; }
  // Without timers (DeliveryDrive::timers false): runs the delivery tick, and the health
  // publish when its period has passed on the clock.
  void poll();

 private:
  friend class DeliveryTestPeer;
  // delivery.cpp: lifecycle, status, health, inbound dispatch
  void on_connected();
  void on_disconnected(const std::string& why);
  void on_message(const std::string& topic, std::string_view payload);
  void on_puback(int mid, int reason);
  void on_tick();
  void publish_health();
  void refresh_snapshot();
  void reject(ConsumerState* c, std::uint64_t DeliveryStats::*counter, const std::string& topic,
              const std::string& why);
  void schedule_pump();
  void pump_live_copy();
  std::shared_ptr<ConsumerState> find(const std::string& name);
  std::int64_t now_ms() const;
  // The clock's monotonic reading as a time point (deadlines, rates, timeouts).
  SteadyTime steady_now() const {
    return SteadyTime(std::chrono::milliseconds(clock_.steady_ms()));
  }
  void tick();          // one delivery tick: refill, ack timeouts, pumps
  void arm_tick();      // timers only
  void arm_health();    // timers only
  // consumer_stream.cpp: per consumer streams, acks, replays
  void add_consumer(const ConsumerOptions& o);
  void register_consumer(const std::shared_ptr<ConsumerState>& c, bool first);
  void on_registered(ConsumerState& c, std::error_code ec, std::uint64_t acked, bool first);
  void dead_letter(const std::shared_ptr<ConsumerState>& c, std::uint64_t seq,
                   const std::string& reason);
  void redeliver_dead_letters(const std::shared_ptr<ConsumerState>& c);
  void pump(ConsumerState& c);
  // Publishes the lane's next events (up to `limit`, at most `window` in flight); false when
  // the stream was rewound or a read failed.
  bool pump_lane(ConsumerState& c, ConsumerState::Lane& lane, std::uint64_t limit,
                 std::optional<std::uint64_t> live_from, std::size_t window);
  // Publishes one batch read for the lane (more: a full batch, read on; idle: the end for now;
  // stop: the stream was rewound or the read failed).
  enum class LaneStep { more, idle, stop };
  LaneStep take_batch(ConsumerState& c, ConsumerState::Lane& lane,
                      const std::vector<store::Record>& batch, std::error_code ec,
                      std::uint64_t covered, std::size_t n, std::uint64_t limit,
                      std::optional<std::uint64_t> live_from);
  // Rows no longer in the store's memory: read on the store's backlog reader, answered on the
  // loop (on_lane_read); the lane reads nothing else meanwhile. A stale answer is dropped.
  void read_lane_async(ConsumerState& c, ConsumerState::Lane& lane, std::size_t n);
  // read_after_async for consumer c; `then` runs on the loop with the answer unless the
  // delivery stopped or the consumer went away meanwhile.
  using ReadAnswer =
      std::function<void(DeliveryImpl&, ConsumerState&, std::error_code,
                         const std::vector<store::Record>&, std::uint64_t covered)>;
  void read_async(ConsumerState& c, std::uint64_t after, std::size_t n, ReadAnswer then);
  void on_lane_read(ConsumerState& c, bool live, std::uint64_t id, std::uint64_t after,
                    std::size_t n, std::error_code ec, const std::vector<store::Record>& rows,
                    std::uint64_t covered);
  void merge_live_lane(ConsumerState& c);
  void pump_replay(ConsumerState& c);
  // Publishes one replay batch; false when the replay is done, failed or waits for a tick.
  bool take_replay_batch(ConsumerState& c, const std::vector<store::Record>& batch,
                         std::error_code ec, std::uint64_t covered);
  void read_replay_async(ConsumerState& c, std::size_t n);
  // The message id, or < 0 when the broker link did not take it.
  int publish_event(ConsumerState& c, const store::Record& r, const StreamMarks& marks);
  void clear_dead_letters(const std::shared_ptr<ConsumerState>& c);
  // An event's payload and user properties, encoded once for every consumer that gets it
  // with the same marks (consumers are pumped one after the other, a few events each).
  struct Encoded {
    bool valid = false;
    std::uint64_t epoch = 0, seq = 0;
    std::array<std::uint8_t, 32> hash{};
    StreamMarks marks;
    std::string payload;
    UserProps props;
  };
  const Encoded& encoded(const store::Record& r, const StreamMarks& marks);
  void handle_ack(const std::shared_ptr<ConsumerState>& c, const std::string& topic,
                  std::string_view payload);
  void handle_replay(const std::shared_ptr<ConsumerState>& c, const std::string& topic,
                     std::string_view payload);
  // Replays from `from` (a checked request; past_retention: rows it asks for were evicted,
  // first_kept is the oldest kept seq, for the rejection).
  void start_replay(const std::shared_ptr<ConsumerState>& c, const std::string& topic,
                    std::uint64_t from, bool past_retention, std::uint64_t first_kept);
  void handle_presence(const std::shared_ptr<ConsumerState>& c, std::string_view payload);
  void commit_ack(const std::shared_ptr<ConsumerState>& c);
  void check_ack_timeout(ConsumerState& c, SteadyTime now);
  void rewind(ConsumerState& c);

  boost::asio::any_io_executor ex_;
  store::EventLog& log_;            // reads by seq, time; counters
  store::ConsumerCursors& cursors_; // registration, reads along a route, acks, dead letters
  MqttOptions opt_;
  std::string boot_id_;
  std::uint64_t epoch_ = 0;
  const core::Clock& clock_;
  MqttTransportFactory make_transport_;
  bool timers_ = true;
  std::shared_ptr<MqttTransport> client_;
  std::vector<std::shared_ptr<ConsumerState>> consumers_;
  std::unordered_map<int, std::weak_ptr<ConsumerState>> replay_mids_;
  // Redelivered dead letters the broker has not PUBACKed: each leaves the store's list on its
  // PUBACK, and goes back to the front of its queue when the link is lost first.
  std::unordered_map<int, std::pair<std::weak_ptr<ConsumerState>, store::Record>> dead_mids_;
  std::array<Encoded, 64> encoded_;                // by seq % size
  std::map<std::string, std::string> egm_status_;  // egm -> retained payload
  std::string chain_head_;                         // retained <root>/chain payload
  struct LinkState {
    bool up = false;
    std::uint64_t downs = 0;  // up -> down transitions since this engine started
  };
  std::map<std::string, LinkState> links_;  // egm -> link, for health
  boost::asio::steady_timer tick_timer_, health_timer_;
  bool started_ = false, stopped_ = false, pump_scheduled_ = false;
  std::uint64_t live_pos_ = 0, appended_hint_ = 0;
  std::uint64_t read_ids_ = 0;  // the last id given to a store read in flight
  SteadyTime last_tick_{};
  SteadyTime next_health_{};  // poll() only
  SteadyTime last_backlog_sample_{};
  void sample_backlogs(SteadyTime now);  // once a second: store counters into BacklogRate
  DeliveryStats counters_;  // gateway-wide counters (consumers vector unused here)
  // Rejected-input log lines: at most kRejectLogBurst per kRejectLogPeriod, then one line
  // saying how many were left out (a stranger's flood must not fill the disk with logs).
  SteadyTime reject_log_window_{};
  std::uint64_t reject_log_lines_ = 0, reject_log_suppressed_ = 0;
  mutable std::mutex snap_mu_;
  DeliveryStats snapshot_;
};

}  // namespace floorgate::gateway
