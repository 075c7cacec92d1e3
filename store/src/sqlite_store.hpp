#pragma once
// The SQLite implementation of Store (private). Its parts, each with its own connection:
// - the writer thread (store_writer.cpp): group commits of appends and acks, tasks, retention
//   chunks (store_retention.cpp);
// - the reader (store_read.cpp): lookups and blocking delivery reads under read_mu_, callers'
//   threads;
// - the query reader, a DbWorker (db_worker.hpp): client-priced reads, off the event loop;
// - the backlog reader, a DbWorker: delivery reads of rows no longer in memory (RecentRows,
//   recent_rows.hpp, holds the latest commits; read_recent serves the live edge from it);
// - the checkpointer, a DbWorker: WAL checkpoints off the writer;
// - the counter thread, a CounterThread (counter_thread.hpp): big ack recounts
//   (store_counter.cpp), oldest-unacked refresh, the background integrity check;
// - the file, a StoreFile (store_file.hpp): lock, check at open, quarantine, creation,
//   migrations (schema.cpp); loading its state (store_open.cpp).

#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "codec.hpp"
#include "counter_thread.hpp"
#include "db_worker.hpp"
#include "scan.hpp"
#include "floorgate/store/store.hpp"
#include "recent_rows.hpp"
#include "sqlite_util.hpp"
#include "store_file.hpp"

namespace floorgate::store::detail {

// The hash-chain walk of verify_chain on any connection (the store's reader, or a read-only
// connection of `floorgate store verify`).
ChainCheck verify_chain_db(sqlite3* db, std::uint64_t from_seq, std::uint64_t to_seq);

// The event log's lookups on any read connection, each in one read transaction; an SQLite
// failure is an error, never a shorter result (store_read.cpp).
core::Result<std::vector<Record>> query_rows(sqlite3* db, const QueryFilter& filter);
core::Result<std::vector<Record>> rows_by_seq(sqlite3* db, const std::vector<std::uint64_t>& seqs);
// The first kept seq in [lo, hi] stamped at or after since_ms (binary search on seq).
core::Result<std::optional<std::uint64_t>> first_seq_at_time(sqlite3* db, std::uint64_t lo,
                                                             std::uint64_t hi,
                                                             std::int64_t since_ms);

class SqliteStore final : public Store {
 public:
  // The in-memory window of just-committed rows: about 4 s at 1,000 events/s, a few MiB.
  static constexpr std::size_t kRecentRows = 4096;
  static constexpr std::size_t kRecentBytes = 4u << 20;

  explicit SqliteStore(Options options);
  ~SqliteStore() override;

  // Opens, checks, migrates and loads state; then starts the writer. Thread: caller of open().
  std::error_code start(OpenReport& report);

  void append(Record r, AppendHandler on_durable) override;
  std::error_code append_sync(Record r, Record* stored) override;
  void register_consumer_async(ConsumerSpec spec, RegisterHandler done) override;
  std::error_code register_consumer(const ConsumerSpec& spec) override;
  std::error_code remove_consumer(const std::string& name) override;
  void reset_consumer_async(const std::string& name, std::uint64_t to_seq,
                            ResetHandler done) override;
  std::error_code reset_consumer(const std::string& name, std::uint64_t to_seq,
                                 std::uint64_t* previous) override;
  std::vector<Record> read_after(const std::string& consumer, std::uint64_t after_seq,
                                 std::size_t max, std::error_code& ec,
                                 std::uint64_t* covered) override;
  std::optional<std::vector<Record>> read_recent(const std::string& consumer,
                                                 std::uint64_t after_seq, std::size_t max,
                                                 std::error_code& ec,
                                                 std::uint64_t* covered) override;
  void read_after_async(const std::string& consumer, std::uint64_t after_seq, std::size_t max,
                        ReadAfterHandler done) override;
  std::optional<std::vector<Record>> get_recent(std::uint64_t after, std::size_t max) override;
  std::error_code ack(const std::string& consumer, std::uint64_t upto) override;
  void ack_async(const std::string& consumer, std::uint64_t upto, AckHandler done) override;
  core::Result<std::optional<std::uint64_t>> seq_at_time(std::int64_t since_ms) override;
  void seq_at_time_async(std::int64_t since_ms,
                         ReadHandler<std::optional<std::uint64_t>> done) override;
  void dead_letter_async(const std::string& consumer, std::uint64_t seq,
                         const std::string& reason, AckHandler done) override;
  std::error_code dead_letter(const std::string& consumer, std::uint64_t seq,
                              const std::string& reason) override;
  std::vector<DeadLetter> dead_letters(const std::string& consumer) override;
  void take_dead_letters_async(const std::string& consumer, DeadLettersHandler done) override;
  core::Result<std::vector<Record>> get(const std::vector<std::uint64_t>& seqs) override;
  core::Result<std::vector<Record>> query(const QueryFilter& filter) override;
  void query_async(QueryFilter filter, ReadHandler<std::vector<Record>> done) override;
  Stats stats() override;
  Stats counters() override;
  std::error_code run_retention() override;
  ChainCheck verify_chain(std::uint64_t from_seq, std::uint64_t to_seq) override;
  void close() override;

 private:
  struct Consumer {
    ConsumerSpec spec;
    std::uint64_t acked = 0;     // durable cursor
    std::uint64_t ack_req = 0;   // highest ack accepted (durable or queued)
    std::uint64_t sent_upto = 0; // highest seq served by read_after (in memory)
    std::uint64_t pending = 0;   // matching rows after `counted` (stored with pending_at)
    std::uint64_t pending_at = 0;  // open only: the seq the stored pending was exact at
    // pending counts the rows in (counted, last_seq]. counted == acked, except after an ack
    // that jumped further than kSyncCountSpan: the counter thread counts that range off in
    // chunks so one big ack never stalls appends; until it is done, unacked over-reports.
    std::uint64_t counted = 0;
    std::uint64_t dead_letters = 0;
    std::uint64_t routed_total = 0;  // committed rows the route selected, since open
  };
  enum class OpKind { append, ack, recount, task };
  struct Op {
    OpKind kind = OpKind::append;
    Record rec;
    AppendHandler on_append;
    std::string consumer;
    std::uint64_t upto = 0;
    std::uint64_t from = 0, count = 0, generation = 0;  // recount: count rows in (from, upto]
    AckHandler on_done;
    std::function<std::error_code()> task;
    std::chrono::steady_clock::time_point enqueued;
  };
  struct BatchUndo;

  // loading the state of an opened file (store_open.cpp)
  std::error_code load_state();

  // Per-batch cursor changes of one consumer.
  struct CursorDelta {
    std::int64_t pending = 0;
    std::uint64_t routed = 0;  // appended rows the route selects (Consumer::routed_total)
    std::optional<std::uint64_t> acked;
    std::optional<std::uint64_t> counted;
  };
  using CursorDeltas = std::map<std::string, CursorDelta>;
  // writer (store_writer.cpp)
  void writer_main();
  // Runs task on the writer thread; done (may be empty) gets its result there, or closed.
  void post_task(std::function<std::error_code()> task, AckHandler done);
  // post_task and wait (blocking: never from an event loop).
  std::error_code run_task(std::function<std::error_code()> task);
  std::error_code register_on_writer(const ConsumerSpec& spec, std::uint64_t* acked_out);
  std::error_code reset_on_writer(const std::string& name, std::uint64_t to_seq,
                                  std::uint64_t* previous);
  std::error_code dead_letter_on_writer(const std::string& consumer, std::uint64_t seq,
                                        const std::string& reason);
  void commit_batch(std::vector<Op>& ops);
  // A batch's running state: per-EGM sequences and (type, class) pairs not stored before.
  struct BatchState {
    std::unordered_map<std::string, std::uint64_t> egm_seen;
    std::vector<std::pair<std::string, int>> new_types;
  };
  std::error_code apply_append(Op& op, CursorDeltas& deltas, BatchState& b, Hash& last_hash,
                               std::uint64_t& last_seq);
  std::error_code apply_ack(Op& op, CursorDeltas& deltas);
  // Writes the consumer rows a commit changed: those with an ack or a recount in `deltas`, or
  // every consumer when `all` (the head book, retention, a clean stop). Their pending counts
  // are exact at `at` (the commit's last seq); rows after it are counted again at open.
  std::error_code write_consumer_counters(const CursorDeltas& deltas, std::uint64_t at, bool all);
  // Open: adds to each consumer's pending the rows after its pending_at that its route selects.
  std::error_code load_pending_tail();
  void apply_cursor_deltas(const CursorDeltas& deltas);  // caller holds mu_
  // The class tables that can hold rows of `route` up to last_seq_. Caller holds mu_.
  std::vector<int> tables_for(const Route& route) const;
  std::error_code apply_recount(const Op& op, CursorDeltas& deltas);

  // retention (store_retention.cpp); writer thread only. Returns true when more work remains.
  struct RetentionCtx;
  std::error_code retention_chunk(bool* more);
  std::error_code retention_prefix(RetentionCtx& x);
  std::error_code retention_evict(RetentionCtx& x);
  std::error_code retention_fold_anchor(RetentionCtx& x);
  void update_alarm(const RetentionCtx& x, bool clear);  // caller holds mu_
  void vacuum_some();

  // read_after from the tables on connection `db` (its owner's thread; rdb_ under read_mu_).
  std::vector<Record> read_stored(StmtCache& db, const std::string& consumer,
                                  std::uint64_t after_seq, std::size_t max, std::error_code& ec,
                                  std::uint64_t* covered);

  // helpers
  std::uint64_t live_bytes();
  std::pair<std::uint64_t, std::uint64_t> kept_range();  // [anchor_seq_ + 1, last_seq_]
  // Queues a job on the query thread; `refused` answers when its queue is full.
  void post_query(DbWorker::Job job, const std::function<void()>& refused);
  static std::string join(const std::vector<std::string>& v);
  static std::vector<std::string> split(const std::string& s);
  std::error_code validate(const Record& r) const;
  std::int64_t now_ms() const { return opt_.now_ms(); }

  Options opt_;
  StoreFile file_{opt_};   // the lock, the check at open, quarantine, creation, migrations
  Db wdb_;                 // writer thread (and start())
  Db rdb_;                 // read side, under read_mu_
  std::mutex read_mu_;
  DbWorker query_reader_;  // client-priced reads (query_async, seq_at_time_async)
  // Delivery reads of rows no longer in memory (read_after_async: a backlog, a replay), so the
  // event loop never steps a statement; bcache_ is used on its thread only.
  DbWorker backlog_reader_;
  StmtCache bcache_;
  StmtCache wcache_;       // statements of wdb_
  StmtCache rcache_;       // statements of rdb_, under read_mu_

  std::mutex mu_;          // guards everything below
  std::condition_variable cv_;
  std::deque<Op> queue_;
  bool stopping_ = false;
  bool closed_ = false;
  std::thread writer_;
  std::map<std::string, Consumer> consumers_;
  // The rows of the latest commits (added by the writer with last_seq_, emptied when retention
  // deletes rows): read_after and get serve the live edge from here.
  RecentRows recent_{kRecentRows, kRecentBytes};
  // Type -> bit (1 << class) per class a committed row of that type has; written by the writer
  // with last_seq_, so every row up to last_seq_ is covered (persisted in type_class).
  std::unordered_map<std::string, std::uint8_t> type_classes_;
  std::uint64_t epoch_ = 0;
  std::uint64_t last_seq_ = 0;
  std::uint64_t anchor_seq_ = 0;
  std::uint64_t first_seq_ = 0;  // smallest kept seq, 0 when empty (exact; see min_kept_seq)
  std::uint64_t row_count_ = 0;
  std::uint64_t evicted_total_ = 0;
  std::uint64_t evicted_unacked_total_ = 0;
  std::uint64_t appended_total_ = 0;
  std::uint64_t commits_total_ = 0;
  std::chrono::microseconds commit_avg_{0};  // commit_average() of COMMIT durations (mu_)
  std::uint64_t append_failures_total_ = 0;
  std::uint64_t disk_full_total_ = 0;
  bool alarm_ = false;
  std::string alarm_reason_;
  bool retention_requested_ = false;

  // writer-thread state
  std::vector<Op> batch_;                  // the ops of the current commit (capacity kept)
  std::vector<std::error_code> batch_ec_;  // their results
  Hash last_hash_{};
  Hash anchor_hash_{};
  std::unordered_map<std::string, std::uint64_t> egm_seq_;
  // The head book (state row: last_seq, last_hash, row_count; egm rows) is written at most once
  // per kHeadBookPeriod, not in every commit: each would cost two more whole pages on the
  // device. The rows after the book's last_seq are the book's tail; load_state() reads them.
  std::uint64_t book_seq_ = 0;  // last_seq the state row holds
  std::chrono::steady_clock::time_point book_at_{};
  std::unordered_map<std::string, std::uint64_t> egm_unbooked_;  // egm seqs newer than the book
  std::error_code write_head_book(std::uint64_t last_seq, const Hash& last_hash,
                                  std::uint64_t row_count,
                                  const std::unordered_map<std::string, std::uint64_t>& batch_egms);
  std::error_code load_head_tail();
  void book_on_close();
  ChainHasher hasher_;
  std::array<Stmt, kEventClassCount> insert_;  // one per class table
  int wal_frames_ = 0;  // frames in the WAL after the last commit (wal hook)

  // WAL checkpoints off the writer: the writer's WAL hook queues one every 1,000 frames unless
  // one is queued already.
  DbWorker checkpointer_;
  std::atomic<bool> checkpoint_queued_{false};
  void want_checkpoint();

  // The counter thread (counter_thread.hpp) with its own read connection; its work:
  // - count_chunk (store_counter.cpp): counts the rows of a consumer's big ack jump and hands
  //   the result to the writer as a recount op. The writer applies it only if no retention
  //   commit happened since the count's snapshot began (a row deleted meanwhile would otherwise
  //   be subtracted twice);
  // - background_check: the deferred integrity check, once after open;
  // - refresh_oldest_unacked: Stats::oldest_unacked_ts_ms per consumer, when stats() asked and
  //   the last refresh is older than kOldestRefreshMs (results under mu_).
  CounterThread counter_;
  CounterThread::Count count_chunk(StmtCache& db);
  void background_check(sqlite3* db);
  void refresh_oldest_unacked(StmtCache& db);
  std::uint64_t retention_commits_ = 0;  // under mu_
  std::string integrity_ = "ok";         // under mu_; see Stats::integrity
  Stats snapshot(bool full);             // counters(), plus (full) oldest-unacked and bytes
  std::map<std::string, std::optional<std::int64_t>> oldest_unacked_;
  std::int64_t oldest_refreshed_ms_ = -1'000'000;  // steady ms of the last refresh
  std::uint64_t min_kept_seq();                    // writer thread (wdb_), 0 when empty
};

}  // namespace floorgate::store::detail
