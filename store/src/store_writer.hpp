#pragma once
// The store's writer (private): one thread with the write connection. It group-commits appends,
// acks and recounts (one transaction, one fsync per commit window), runs tasks that need the
// write connection (consumer registration, resets, dead letters), keeps the chain head and the
// head book, runs retention chunks (store_retention.hpp) and queues WAL checkpoints on its own
// connection (the checkpointer). Its queue and the head it moves live in StoreState, under
// StoreState::mu.

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <thread>
#include <unordered_map>
#include <vector>

#include "codec.hpp"
#include "counter_thread.hpp"
#include "db_worker.hpp"
#include "sqlite_util.hpp"
#include "store_retention.hpp"
#include "store_state.hpp"

namespace floorgate::store::detail {

class StoreWriter {
 public:
  using AppendHandler = EventLog::AppendHandler;
  using AckHandler = ConsumerCursors::AckHandler;
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

  StoreWriter(const Options& opt, StoreState& state, CounterThread& counter);
  StoreWriter(const StoreWriter&) = delete;
  StoreWriter& operator=(const StoreWriter&) = delete;

  // Opening, on the caller of SqliteStore::start() before start(): the write connection (opened
  // by the store's StoreFile), then the chain head from the state row's hashes, the egm rows and
  // the rows after the book (advancing state.last_seq and state.row_count), then prepare().
  Db& db() { return db_; }
  DbWorker& checkpointer() { return checkpointer_; }
  std::error_code load_head(const Hash& last_hash, const Hash& anchor_hash);
  std::error_code prepare();  // statements and the WAL hook
  void start();

  // Queues op unless stopping. Caller holds state.mu; returns the queue's length after the
  // push, 0 (op untouched) when stopping. wake() after unlocking.
  std::size_t push_locked(Op&& op);
  bool stopping_locked() const { return stopping_; }
  void wake() { cv_.notify_one(); }
  // Locks, queues op and wakes the writer; false (op untouched) when stopping.
  bool submit(Op&& op);
  // Runs task on the writer thread; done (may be empty) gets its result there, or closed.
  void post_task(std::function<std::error_code()> task, AckHandler done);
  // post_task and wait (blocking: never from an event loop).
  std::error_code run_task(std::function<std::error_code()> task);

  // Stopping: request_stop() refuses new work and wakes the writer; join() waits for the queue
  // to drain and the head book to be written; release() drops the statements before the
  // connections close.
  void request_stop();
  void join();
  void release();

  // Writer thread only (tasks, retention).
  StmtCache& cache() { return cache_; }
  Retention& retention() { return retention_; }
  // Writes the consumer rows a commit changed: those with an ack or a recount in `deltas`, or
  // every consumer when `all` (the head book, retention, a clean stop). Their pending counts
  // are exact at `at` (the commit's last seq); rows after it are counted again at open.
  std::error_code write_consumer_counters(const CursorDeltas& deltas, std::uint64_t at, bool all);
  // The head book at the current head, inside the caller's transaction; booked() after it
  // committed (caller holds state.mu).
  std::error_code book_head();
  void booked();
  const Hash& anchor_hash() const { return anchor_hash_; }
  void set_anchor_hash(const Hash& h) { anchor_hash_ = h; }

 private:
  // A commit's running state: per-EGM sequences and (type, class) pairs not stored before.
  struct BatchState {
    std::unordered_map<std::string, std::uint64_t> egm_seen;
    std::vector<std::pair<std::string, int>> new_types;
  };

  void main();
  void commit_batch(std::vector<Op>& ops);
  std::error_code apply_append(Op& op, CursorDeltas& deltas, BatchState& b, Hash& last_hash,
                               std::uint64_t& last_seq);
  std::error_code apply_ack(Op& op, CursorDeltas& deltas);
  std::error_code apply_recount(const Op& op, CursorDeltas& deltas);
  std::error_code write_head_book(std::uint64_t last_seq, const Hash& last_hash,
                                  std::uint64_t row_count,
                                  const std::unordered_map<std::string, std::uint64_t>& batch_egms);
  void book_on_close();
  void want_checkpoint();
  void catch_up_wal();

  const Options& opt_;
  StoreState& state_;
  CounterThread& counter_;  // woken when an ack leaves rows uncounted
  Db db_;
  StmtCache cache_;
  std::array<Stmt, kEventClassCount> insert_;  // one per class table
  Retention retention_{opt_, state_, *this};

  // under state_.mu
  std::condition_variable cv_;
  std::deque<Op> queue_;
  bool stopping_ = false;
  std::thread thread_;

  // writer thread only
  std::vector<Op> batch_;                  // the ops of the current commit (capacity kept)
  std::vector<std::error_code> batch_ec_;  // their results
  ChainHasher hasher_;
  Hash last_hash_{};
  Hash anchor_hash_{};
  std::unordered_map<std::string, std::uint64_t> egm_seq_;
  // The head book (state row: last_seq, last_hash, row_count; egm rows) is written at most once
  // per kHeadBookPeriod, not in every commit: each would cost two more whole pages on the
  // device. The rows after the book's last_seq are the book's tail; load_head() reads them.
  std::uint64_t book_seq_ = 0;  // last_seq the state row holds
  std::chrono::steady_clock::time_point book_at_{};
  std::unordered_map<std::string, std::uint64_t> egm_unbooked_;  // egm seqs newer than the book

  // WAL checkpoints off the writer: the WAL hook queues one every kCheckpointFrames frames
  // (store_writer.cpp) unless one is queued already.
  DbWorker checkpointer_;
  std::atomic<bool> checkpoint_queued_{false};
  int wal_frames_ = 0;  // frames in the WAL after the last commit (the WAL hook; writer thread)
  int wal_limit_frames_ = 0;  // Options::wal_limit_bytes in frames of this file's page size
  int wal_catch_up_at_ = 0;   // WAL frames at which catch_up_wal runs next
};

}  // namespace floorgate::store::detail
