#pragma once
// The store-and-forward queue: one SQLite file (WAL, synchronous=FULL) holding every event
// once, a per-consumer durable cursor, a tamper-evident hash chain and bounded retention.
// It knows events and consumers; nothing of serial ports, MQTT or YAML (DESIGN.md).
// Layout (schema version 4): one table per event class (event_financial ... event_telemetry,
// seq the rowid of each) so a consumer routed by class reads only its classes' pages; `event`
// is a view over the five in seq order, for tools and ad-hoc SQL.
//
// Threading: every method is thread-safe. append() and the *_async calls hand work to the
// store's one writer thread (group commit: many events, one transaction, one fsync); their
// callbacks run on that writer thread and must be quick (post elsewhere); never call the
// blocking methods (append_sync, ack, register_consumer, ...) from inside a callback or from
// an event loop: they wait for that thread. Reads (read_after, get, query) use their own
// connection and are bounded (a batch, a scan budget); stats() reads counters only. An event
// loop reads a consumer's rows with read_recent (memory only: the latest commits) and, when
// that says nullopt, read_after_async (the store's backlog reader thread).

#include <array>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include "floorgate/core/result.hpp"
#include "floorgate/core/route.hpp"

namespace floorgate::store {

// The class and the route matcher are the shared vocabulary of core/.
using core::EventClass;
using core::kEventClassCount;
using core::parse_event_class;
using core::Route;
using core::to_string;

// Expected failures, as std::error_code values (category "floorgate.store").
enum class Errc {
  ok = 0,
  invalid_event,       // empty egm/type, bad field
  payload_too_large,   // attrs+raw above Options::max_payload_bytes
  disk_full,           // SQLITE_FULL or max size reached; earlier events stay readable
  io_error,            // other SQLite/I/O failure
  locked,              // another process holds the store
  corrupt,             // failed integrity check (the file was moved aside)
  closed,              // store is shutting down
  unknown_consumer,
  ack_beyond_sent,     // ack upto > highest seq ever handed to that consumer
  ack_backwards,       // ack upto < the consumer's acked cursor
  out_of_range,        // replay from before the oldest kept row / after the newest
  schema_too_new,      // the file's user_version is newer than this program knows
  busy,                // too many reads queued (the query thread's bound); ask again later
};
const std::error_category& store_category();
std::error_code make_error_code(Errc e);

// One stored event (DESIGN.md "The event"). On append, seq/epoch/egm_seq/hash are assigned by
// the store and ignored in the input.
struct Record {
  std::uint64_t seq = 0;
  std::uint64_t epoch = 0;
  std::string egm;
  std::uint64_t egm_seq = 0;
  std::string type;
  EventClass cls = EventClass::operational;
  std::int64_t ts_gw_ms = 0;
  std::optional<std::int64_t> ts_egm_ms;
  std::string source;
  std::string attrs_json = "{}";
  std::string raw_hex;
  std::array<std::uint8_t, 32> hash{};
};

// True when the consumer's route selects this stored event.
inline bool selects(const Route& route, const Record& r) {
  return route.selects(r.egm, r.cls, r.type);
}

struct ConsumerSpec {
  std::string name;
  Route route;
  bool required = true;  // retention waits for this consumer's acks
};

struct Options {
  std::filesystem::path path;                       // the SQLite file
  std::uint64_t max_bytes = 2ull << 30;             // retention size bound
  std::chrono::seconds max_age{std::chrono::hours(24 * 30)};  // retention age bound
  // Group commit: the writer waits this long after the first queued append, ack or recount
  // for more before committing (one transaction, one fsync for all of them). The wait counts
  // from that op's arrival, so what arrived during the commit before goes at once when that
  // commit's sync took longer: a commit gathers for the longer of this window and the sync
  // before it, and commits deepen with slow storage by themselves. docs/performance.md has the
  // measured comparison with windows computed from the average commit time.
  std::chrono::microseconds commit_window{2000};
  std::size_t max_batch = 2000;                     // events per transaction at most
  std::size_t max_payload_bytes = 64 * 1024;        // attrs_json + raw_hex per event
  std::chrono::milliseconds retention_interval{5000};  // how often retention runs
  std::function<std::int64_t()> now_ms;             // wall clock (UTC ms); default system
  std::uint64_t max_page_count = 0;  // hard cap on the file in pages (0 = none); disk-full tests
  std::size_t retention_chunk_rows = 2000;          // rows per retention transaction at most
  // Files up to this size (with their WAL) get the full PRAGMA quick_check before open()
  // returns. Larger ones get a bounded check (every table but the five event tables, and the
  // first and last rows in seq order) and the full check on a background thread, reported in
  // Stats::integrity; a failure leaves <path>.check-failed, so the next open checks fully (and
  // quarantines).
  std::uint64_t full_check_max_bytes = 64ull << 20;
  // The WAL's size past which the writer pauses between commits to copy it all into the file
  // and start it over (StoreWriter::catch_up_wal). A background checkpoint runs every 2 MiB of
  // WAL; under a load that never pauses it cannot finish a pass, and the WAL would only grow.
  std::uint64_t wal_limit_bytes = 16ull << 20;
  // SQLite VFS name for every connection (empty: the default). Tests and benchmarks pass
  // fault_vfs::name() (fault_vfs.hpp) to fail the Nth I/O call or to slow every sync down.
  std::string vfs;
};

// What open() found; the caller logs it and may emit an alarm event.
struct OpenReport {
  bool created = false;                 // a new file (new epoch)
  std::optional<std::filesystem::path> quarantined;  // corrupt file moved here
  std::string detail;
  int migrated_from_version = -1;       // schema version before migration, -1 if none
};

struct ConsumerStats {
  std::string name;
  bool required = true;
  std::uint64_t acked_upto = 0;      // durable cursor
  std::uint64_t sent_upto = 0;       // highest seq served by read_after (in memory)
  std::uint64_t unacked = 0;         // matching events after the cursor
  // An ack jumped further than the writer counts in its commit and the counter thread is
  // still counting the range off: until it is done, unacked over-reports.
  bool counting = false;
  std::optional<std::int64_t> oldest_unacked_ts_ms;
  std::uint64_t dead_letters = 0;
  std::uint64_t routed_total = 0;    // events committed since open that the route selects
};

struct Stats {
  std::uint64_t epoch = 0;
  std::uint64_t rows = 0;
  std::uint64_t bytes = 0;            // file size incl. WAL
  std::uint64_t first_seq = 0;        // oldest kept (0 when empty)
  std::uint64_t last_seq = 0;         // high-water mark
  bool retention_alarm = false;       // size bound needs events that may not be dropped
  std::string retention_alarm_reason;
  std::uint64_t evicted_total = 0;    // rows removed by retention (age, size)
  std::uint64_t evicted_unacked_total = 0;  // of those, rows a required consumer had not acked
  std::uint64_t anchor_seq = 0;       // chain anchor: seq just before the oldest kept row
  std::uint64_t appended_total = 0;   // events committed since open
  std::uint64_t commits_total = 0;    // append/ack transactions committed since open
  // The writer made an overgrown WAL start over (a sustained load outran the checkpointer), and
  // the attempts readers held up past a short wait (tried again when the WAL has grown by a
  // quarter of Options::wal_limit_bytes more).
  std::uint64_t wal_restarts_total = 0;
  std::uint64_t wal_restart_busy_total = 0;
  std::int64_t commit_us_avg = 0;     // moving average of a commit's duration (its fsync): the
                                      // storage's sync time as the store sees it
  std::uint64_t append_failures_total = 0;  // events rejected or failed since open
  std::uint64_t disk_full_total = 0;  // transactions that failed with disk_full since open
  std::string integrity = "ok";       // "ok", "checking" (background check), or the failure
  std::vector<ConsumerStats> consumers;
};

// The moving average of commit durations: 1/8 of each new sample (like TCP's SRTT).
std::chrono::microseconds commit_average(std::chrono::microseconds avg,
                                         std::chrono::microseconds sample);

struct QueryFilter {  // for the technician event browser
  std::optional<std::string> egm, type, cls;
  std::optional<std::int64_t> since_ms, until_ms;
  std::optional<std::uint64_t> before_seq;  // paging: rows with seq < before_seq
  std::optional<std::uint64_t> from_seq;    // rows with seq >= from_seq (a cheap lower bound)
  std::size_t limit = 100;                  // newest first
};

struct DeadLetter {
  std::uint64_t seq = 0;
  std::string reason;
  std::int64_t ts_ms = 0;
};

struct ChainCheck {
  bool ok = true;
  std::optional<std::uint64_t> first_bad_seq;
  std::string detail;
};

// Recomputes the hash chain of a store file from a read-only connection (a live store or a
// copy), from_seq..to_seq (0..max = all kept rows): the operator's `floorgate store verify`.
ChainCheck verify_file(const std::filesystem::path& path, std::uint64_t from_seq = 0,
                       std::uint64_t to_seq = UINT64_MAX);

// The store in the roles its callers use. A driver-facing sink appends to the event log; the
// MQTT delivery reads the log and keeps consumer cursors; tools and the daemon's maintenance
// administer the file. One object (Store::open) plays all three.

// The event log: appends (group commit) and bounded reads by seq, time or filter, with the
// counters kept as it works.
class EventLog {
 public:
  using AppendHandler = std::function<void(std::error_code, const Record& stored)>;
  virtual ~EventLog() = default;

  // Queues one event; on_durable fires on the writer thread after its transaction committed
  // (with the assigned seq, egm_seq, epoch, hash) or with an error. Invalid input fails fast:
  // on_durable runs inline on the caller's thread with invalid_event (egm empty or > 64 bytes,
  // type empty or > 128, source > 128, class out of range, attrs_json not "{...}", raw_hex not
  // even-length hex), payload_too_large (attrs_json + raw_hex > max_payload_bytes) or closed.
  virtual void append(Record r, AppendHandler on_durable) = 0;
  // Convenience for tests and tools: append and wait.
  virtual std::error_code append_sync(Record r, Record* stored = nullptr) = 0;

  // Reads whose cost depends on what a client asked (a time, a filter): the blocking forms are
  // for start-up, tools and tests; the event loop uses the async forms, which run on the
  // store's query thread (its own connection: delivery reads never wait behind them) and
  // answer there, with busy when too many wait. An SQLite failure is an error, never a
  // shorter result.
  template <class T>
  using ReadHandler = std::function<void(core::Result<T>)>;
  // First seq with ts_gw_ms >= since_ms (for {"since": ...}); nullopt when none.
  virtual core::Result<std::optional<std::uint64_t>> seq_at_time(std::int64_t since_ms) = 0;
  virtual void seq_at_time_async(std::int64_t since_ms,
                                 ReadHandler<std::optional<std::uint64_t>> done) = 0;

  // Loads specific events (seqs not kept are left out). Blocking: tools, tests, start-up.
  virtual core::Result<std::vector<Record>> get(const std::vector<std::uint64_t>& seqs) = 0;
  // The rows after `after`, in seq order, at most max, when they are among the latest commits
  // the store keeps in memory (empty when nothing is newer); nullopt when the row after `after`
  // is no longer there. No I/O: safe on the event loop (the live copy reads with it).
  virtual std::optional<std::vector<Record>> get_recent(std::uint64_t after, std::size_t max) = 0;

  // The event browser: newest first, at most filter.limit (capped at 10,000).
  virtual core::Result<std::vector<Record>> query(const QueryFilter& filter) = 0;
  virtual void query_async(QueryFilter filter, ReadHandler<std::vector<Record>> done) = 0;
  // Counters kept as the store works: no query, safe to call from the event loop. first_seq is
  // exact; oldest_unacked_ts_ms is refreshed off the caller's thread at most about once a
  // second while stats() is being asked for (so it may lag by that much).
  virtual Stats stats() = 0;
  // The same counters without the oldest-unacked stamps and the file size: for a caller that
  // samples every second (backlog rates) and must not keep the refresh scan running.
  virtual Stats counters() = 0;
};

// Consumers: registration, their durable cursors (acks), reads along a consumer's route and
// dead letters.
class ConsumerCursors {
 public:
  using AckHandler = std::function<void(std::error_code)>;
  virtual ~ConsumerCursors() = default;

  // Registers or updates a consumer (route and required flag); its cursor is kept. The async
  // form answers on the writer thread with the consumer's durable cursor (acked_upto); the
  // blocking form is for start-up, tools and tests, never the event loop.
  using RegisterHandler = std::function<void(std::error_code, std::uint64_t acked_upto)>;
  virtual void register_consumer_async(ConsumerSpec spec, RegisterHandler done) = 0;
  virtual std::error_code register_consumer(const ConsumerSpec& spec) = 0;
  virtual std::error_code remove_consumer(const std::string& name) = 0;
  // Operator reset (`floorgate consumer reset`): moves the consumer's durable cursor to
  // `to_seq` in either direction and recounts its backlog. Back: the rows after to_seq are
  // due again; forward: the rows up to to_seq count as acked without having been delivered.
  // out_of_range when to_seq is past the newest row or before the oldest kept one (rows
  // retention removed cannot be delivered again). `previous` is the cursor it replaced. The
  // caller (gateway stream or tool) owns its delivery position and must rewind it.
  using ResetHandler = std::function<void(std::error_code, std::uint64_t previous)>;
  virtual void reset_consumer_async(const std::string& name, std::uint64_t to_seq,
                                    ResetHandler done) = 0;
  virtual std::error_code reset_consumer(const std::string& name, std::uint64_t to_seq,
                                         std::uint64_t* previous = nullptr) = 0;

  // Events matching the consumer's route with seq > after_seq, in seq order, at most max. The
  // caller owns the delivery position (the gateway's consumer stream); the store only records
  // the highest seq it served (sent_upto) to validate acks. A sparse route may examine its
  // budget of rows and find none: *covered (when given) tells up to which seq every matching
  // row was returned, so an empty result with *covered > after_seq means "go on from
  // *covered", not "the end".
  virtual std::vector<Record> read_after(const std::string& consumer, std::uint64_t after_seq,
                                         std::size_t max, std::error_code& ec,
                                         std::uint64_t* covered = nullptr) = 0;
  // read_after's answer when it needs no database: every row after after_seq is still in the
  // store's memory of its latest commits (a consumer at the live edge). nullopt when the rows
  // are on disk only: then read_after_async. Never does I/O, so an event loop may call it.
  virtual std::optional<std::vector<Record>> read_recent(const std::string& consumer,
                                                         std::uint64_t after_seq,
                                                         std::size_t max, std::error_code& ec,
                                                         std::uint64_t* covered) = 0;
  // read_after on the store's backlog reader thread; done runs there (post it to your loop)
  // with the rows and covered, or an error (busy when the reader's queue is full, closed).
  using ReadAfterHandler =
      std::function<void(std::error_code, std::vector<Record>, std::uint64_t covered)>;
  virtual void read_after_async(const std::string& consumer, std::uint64_t after_seq,
                                std::size_t max, ReadAfterHandler done) = 0;
  // Cumulative ack; durable when it returns / when the handler fires (writer thread).
  // upto == the last accepted ack: ok, no-op. upto below it: ack_backwards; above the highest
  // seq served by read_after since open: ack_beyond_sent (that starts at the durable cursor
  // after a restart). Rejections and no-ops call done inline.
  virtual std::error_code ack(const std::string& consumer, std::uint64_t upto) = 0;
  virtual void ack_async(const std::string& consumer, std::uint64_t upto, AckHandler done) = 0;
  // Dead letters: the consumer could not process `seq`; it is listed and counted. The async
  // forms answer on the writer thread.
  virtual void dead_letter_async(const std::string& consumer, std::uint64_t seq,
                                 const std::string& reason, AckHandler done) = 0;
  virtual std::error_code dead_letter(const std::string& consumer, std::uint64_t seq,
                                      const std::string& reason) = 0;
  virtual std::vector<DeadLetter> dead_letters(const std::string& consumer) = 0;
  // Redelivery: the events of the consumer's dead letters (in seq order; those retention
  // already removed are left out), read after what the writer was given before; the list
  // stays. Each is removed from it once its redelivery is in the broker's hands
  // (clear_dead_letters_async), so a restart or a lost link meanwhile loses none.
  using DeadLettersHandler = std::function<void(std::error_code, std::vector<Record>)>;
  virtual void dead_letter_events_async(const std::string& consumer, DeadLettersHandler done) = 0;
  virtual void clear_dead_letters_async(const std::string& consumer, std::vector<std::uint64_t> seqs,
                                        AckHandler done) = 0;
};

// Upkeep of the file: retention, chain verification, closing.
class StoreAdmin {
 public:
  virtual ~StoreAdmin() = default;

  // Runs one bounded retention pass now (it also runs on its own every retention_interval).
  // Order: oldest rows every required consumer acked (by age, or by size); under size pressure
  // then acked rows further on, then unacked telemetry, operational, fault; never unacked
  // financial/security (Stats::retention_alarm instead). Frees pages (incremental vacuum).
  virtual std::error_code run_retention() = 0;
  // Recomputes the hash chain over [from_seq, to_seq] (from the anchor when from_seq is at or
  // before the oldest kept row); names the first altered, missing or reordered seq.
  virtual ChainCheck verify_chain(std::uint64_t from_seq = 0, std::uint64_t to_seq = UINT64_MAX) = 0;

  // Stops accepting appends, commits what is queued, joins the writer thread. Idempotent.
  virtual void close() = 0;
};

// The SQLite store-and-forward queue: all three roles over one file.
class Store : public EventLog, public ConsumerCursors, public StoreAdmin {
 public:
  // Opens or creates the store (quick_check, migrations, quarantine of a corrupt file).
  static std::unique_ptr<Store> open(const Options& options, std::error_code& ec,
                                     OpenReport* report = nullptr);
  ~Store() override = default;
};

}  // namespace floorgate::store

template <>
struct std::is_error_code_enum<floorgate::store::Errc> : std::true_type {};
