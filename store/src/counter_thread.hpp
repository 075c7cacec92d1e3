#pragma once
// The store's counter thread, on its own read connection, for the work that reads many rows
// but must not hold up the writer or a caller: the integrity check of a file too big to check
// at open, counting off the rows of a consumer's big ack jump (one chunk per recount op the
// writer applies), and refreshing the oldest-unacked times stats() reports. SqliteStore says
// what each piece of work is (Work); this class owns the thread, the connection and when each
// runs.

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "sqlite_util.hpp"

namespace floorgate::store::detail {

class CounterThread {
 public:
  enum class Count {
    idle,   // nothing left to count
    more,   // a chunk was counted and applied: look for the next
    retry,  // a read failed or the result was dropped: again in a while, not at once
  };
  struct Work {
    std::function<void(sqlite3* db)> check;             // once, first: the deferred check
    std::function<void(StmtCache& db)> refresh_oldest;  // when want_oldest() asked
    std::function<Count(StmtCache& db)> count_chunk;    // one chunk of a big ack's count
  };

  CounterThread() = default;
  ~CounterThread();
  CounterThread(const CounterThread&) = delete;
  CounterThread& operator=(const CounterThread&) = delete;

  // The thread's connection: opened by the store before start().
  Db& connection() { return db_; }
  void start(Work work);
  // An ack left rows uncounted: count them. Any thread.
  void wake();
  // stats() wants fresher oldest-unacked times. Any thread.
  void want_oldest();
  // Interrupts a running check and joins. The writer must still run: a count waits for its
  // recount op to be applied.
  void stop();
  // Closes the connection (after stop()).
  void close();

 private:
  void main();

  Work work_;
  Db db_;
  StmtCache cache_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool wanted_ = true;  // a crash may have left a count unfinished
  bool stop_ = false;
  bool oldest_wanted_ = false;
};

}  // namespace floorgate::store::detail
