#pragma once
// A thread with its own connection that runs jobs in the order posted, from a bounded queue.
// The store runs two: the query reader (reads whose cost a client decides -- the event
// browser's filters, a replay from a time -- so neither the event loop nor the delivery reads
// wait behind a scan of the whole file) and the checkpointer (WAL checkpoints, so no commit
// waits for one). Private to store/src.

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "sqlite_util.hpp"

namespace floorgate::store::detail {

class DbWorker {
 public:
  // Runs on the worker's thread with the connection, or (db == nullptr) at once on the
  // caller's thread when the worker is stopped (or stopping). A job answers its caller either
  // way.
  using Job = std::function<void(sqlite3* db)>;
  static constexpr std::size_t kMaxQueued = 32;

  DbWorker() = default;
  ~DbWorker() { stop(); }
  DbWorker(const DbWorker&) = delete;
  DbWorker& operator=(const DbWorker&) = delete;

  // The connection, to open and configure before start().
  Db& connection() { return db_; }
  void start();
  // Queues `job`; false (the job not called) when kMaxQueued jobs wait: the caller answers busy.
  // After stop() the job runs at once with nullptr.
  bool post(Job job);
  // Interrupts the running job's statement, runs the queued jobs with nullptr, joins. Idempotent.
  void stop();

 private:
  void main();

  Db db_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace floorgate::store::detail
