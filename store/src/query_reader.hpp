#pragma once
// The reads whose cost a client decides (the event browser's filters, a replay from a time,
// lookups by seq): one thread with its own read connection, so neither the event loop nor the
// delivery reads (the store's reader connection) wait behind a scan of the whole file. Jobs run
// in the order posted; the queue is bounded. Private to store/src.

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "sqlite_util.hpp"

namespace floorgate::store::detail {

class QueryReader {
 public:
  // Runs on the query thread with the connection, or (db == nullptr) wherever the job is
  // refused or dropped: the reader is closed. A job answers its caller either way.
  using Job = std::function<void(sqlite3* db)>;
  static constexpr std::size_t kMaxQueued = 32;

  QueryReader() = default;
  ~QueryReader() { stop(); }
  QueryReader(const QueryReader&) = delete;
  QueryReader& operator=(const QueryReader&) = delete;

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
