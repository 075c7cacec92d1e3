#pragma once
// The store's read side (private): delivery reads along a consumer's route and the lookups
// (by seq, by time, by filter). Three connections, none of them the writer's:
// - the read connection, used on callers' threads under its mutex (the blocking calls);
// - the query reader, a DbWorker (db_worker.hpp): client-priced reads posted from the loop;
// - the backlog reader, a DbWorker: delivery reads of rows no longer in memory, posted from
//   the loop so it never steps a statement.
// A consumer at the live edge reads from StoreState::recent without any of them. Every read is
// one read transaction; an SQLite failure is an error, never a shorter result.

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "db_worker.hpp"
#include "floorgate/store/store.hpp"
#include "sqlite_util.hpp"
#include "store_state.hpp"

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

class StoreReader {
 public:
  using ReadAfterHandler = ConsumerCursors::ReadAfterHandler;
  template <typename T>
  using ReadHandler = EventLog::ReadHandler<T>;

  explicit StoreReader(StoreState& state) : state_(state) {}
  StoreReader(const StoreReader&) = delete;
  StoreReader& operator=(const StoreReader&) = delete;

  // Opening: the three connections (opened by the store's StoreFile), then start().
  Db& connection() { return db_; }
  DbWorker& query_worker() { return query_; }
  DbWorker& backlog_worker() { return backlog_; }
  void start();
  // Queued reads are answered closed; then close() drops statements and connections.
  void stop();
  void close();

  // delivery (ConsumerCursors)
  std::optional<std::vector<Record>> read_recent(const std::string& consumer,
                                                 std::uint64_t after_seq, std::size_t max,
                                                 std::error_code& ec, std::uint64_t* covered);
  std::vector<Record> read_after(const std::string& consumer, std::uint64_t after_seq,
                                 std::size_t max, std::error_code& ec, std::uint64_t* covered);
  void read_after_async(const std::string& consumer, std::uint64_t after_seq, std::size_t max,
                        ReadAfterHandler done);

  // lookups (EventLog)
  core::Result<std::vector<Record>> get(const std::vector<std::uint64_t>& seqs);
  std::optional<std::vector<Record>> get_recent(std::uint64_t after, std::size_t max);
  core::Result<std::optional<std::uint64_t>> seq_at_time(std::int64_t since_ms);
  void seq_at_time_async(std::int64_t since_ms, ReadHandler<std::optional<std::uint64_t>> done);
  core::Result<std::vector<Record>> query(const QueryFilter& filter);
  void query_async(QueryFilter filter, ReadHandler<std::vector<Record>> done);

  // Runs fn(sqlite3*) on the read connection under its lock (dead letters, chain checks).
  template <typename F>
  auto with_connection(F&& fn) {
    std::lock_guard lk(mu_);
    return fn(db_.get());
  }

 private:
  // read_after from the tables on `db` (its owner's thread; cache_ under mu_).
  std::vector<Record> read_stored(StmtCache& db, const std::string& consumer,
                                  std::uint64_t after_seq, std::size_t max, std::error_code& ec,
                                  std::uint64_t* covered);
  std::pair<std::uint64_t, std::uint64_t> kept_range();  // [anchor_seq + 1, last_seq]
  // Queues a job on the query reader; `refused` answers when its queue is full.
  void post_query(DbWorker::Job job, const std::function<void()>& refused);

  StoreState& state_;
  Db db_;  // the read connection, under mu_
  std::mutex mu_;
  StmtCache cache_;          // statements of db_, under mu_
  DbWorker query_;           // client-priced reads (query_async, seq_at_time_async)
  DbWorker backlog_;         // read_after_async: a backlog, a replay
  StmtCache backlog_cache_;  // statements of backlog_'s connection, on its thread only
};

}  // namespace floorgate::store::detail
