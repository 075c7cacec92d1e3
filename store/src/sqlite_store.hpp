#pragma once
// The SQLite implementation of Store (private): the coordinator of named parts, each with its
// own connection, and the state they share (StoreState, store_state.hpp, under one mutex):
// - the file, a StoreFile (store_file.hpp): lock, check at open, quarantine, creation,
//   migrations (schema.cpp); loading its state (store_open.cpp);
// - the writer, a StoreWriter (store_writer.hpp): group commits of appends and acks, tasks,
//   the chain head and head book, retention chunks (Retention, store_retention.hpp), WAL
//   checkpoints on the checkpointer's connection;
// - the reader (store_read.cpp): lookups and blocking delivery reads under read_mu_, callers'
//   threads;
// - the query reader, a DbWorker (db_worker.hpp): client-priced reads, off the event loop;
// - the backlog reader, a DbWorker: delivery reads of rows no longer in memory (RecentRows,
//   recent_rows.hpp, holds the latest commits; read_recent serves the live edge from it);
// - the counter thread, a CounterThread (counter_thread.hpp): big ack recounts
//   (store_counter.cpp), oldest-unacked refresh, the background integrity check.
// The consumer calls (store_consumers.cpp) validate on the caller's thread and run their writes
// as writer tasks.

#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "counter_thread.hpp"
#include "db_worker.hpp"
#include "floorgate/store/store.hpp"
#include "sqlite_util.hpp"
#include "store_file.hpp"
#include "store_state.hpp"
#include "store_writer.hpp"

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
  using Op = StoreWriter::Op;
  using OpKind = StoreWriter::OpKind;

  // loading the state of an opened file (store_open.cpp)
  std::error_code load_state();
  // Open: adds to each consumer's pending the rows after its pending_at that its route selects.
  std::error_code load_pending_tail();

  // consumer writes, as writer tasks (store_consumers.cpp)
  std::error_code register_on_writer(const ConsumerSpec& spec, std::uint64_t* acked_out);
  std::error_code reset_on_writer(const std::string& name, std::uint64_t to_seq,
                                  std::uint64_t* previous);
  std::error_code dead_letter_on_writer(const std::string& consumer, std::uint64_t seq,
                                        const std::string& reason);

  // read_after from the tables on connection `db` (its owner's thread; rdb_ under read_mu_).
  std::vector<Record> read_stored(StmtCache& db, const std::string& consumer,
                                  std::uint64_t after_seq, std::size_t max, std::error_code& ec,
                                  std::uint64_t* covered);

  // The counter thread's work (counter_thread.hpp):
  // - count_chunk (store_counter.cpp): counts the rows of a consumer's big ack jump and hands
  //   the result to the writer as a recount op. The writer applies it only if no retention
  //   commit happened since the count's snapshot began (a row deleted meanwhile would otherwise
  //   be subtracted twice);
  // - background_check: the deferred integrity check, once after open;
  // - refresh_oldest_unacked: Stats::oldest_unacked_ts_ms per consumer, when stats() asked and
  //   the last refresh is older than kOldestRefreshMs (results in state_).
  CounterThread::Count count_chunk(StmtCache& db);
  void background_check(sqlite3* db);
  void refresh_oldest_unacked(StmtCache& db);

  // helpers
  Stats snapshot(bool full);                             // counters(), plus (full) bytes
  std::pair<std::uint64_t, std::uint64_t> kept_range();  // [anchor_seq + 1, last_seq]
  // Queues a job on the query thread; `refused` answers when its queue is full.
  void post_query(DbWorker::Job job, const std::function<void()>& refused);
  static std::string join(const std::vector<std::string>& v);
  static std::vector<std::string> split(const std::string& s);
  std::error_code validate(const Record& r) const;
  std::int64_t now_ms() const { return opt_.now_ms(); }

  Options opt_;
  StoreFile file_{opt_};  // the lock, the check at open, quarantine, creation, migrations
  StoreState state_;
  CounterThread counter_;
  StoreWriter writer_{opt_, state_, counter_};
  Db rdb_;                 // read side, under read_mu_
  std::mutex read_mu_;
  StmtCache rcache_;       // statements of rdb_, under read_mu_
  DbWorker query_reader_;  // client-priced reads (query_async, seq_at_time_async)
  // Delivery reads of rows no longer in memory (read_after_async: a backlog, a replay), so the
  // event loop never steps a statement; bcache_ is used on its thread only.
  DbWorker backlog_reader_;
  StmtCache bcache_;
  bool closed_ = false;  // under state_.mu
};

}  // namespace floorgate::store::detail
