#pragma once
// The checkpointer: one thread with its own connection that copies WAL frames into the
// database file while the writer keeps committing, so no commit ever waits for a checkpoint
// (the writer's WAL hook asks for one every 1,000 frames). Private to store/src.

#include <condition_variable>
#include <mutex>
#include <thread>

#include "sqlite_util.hpp"

namespace floorgate::store::detail {

class Checkpointer {
 public:
  Checkpointer() = default;
  ~Checkpointer() { stop(); }
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // The connection, to open and configure before start().
  Db& connection() { return db_; }
  void start();
  // Asks for a passive checkpoint soon (any thread; requests made meanwhile fold into one).
  void want();
  // Joins the thread (a checkpoint in progress finishes first). Idempotent.
  void stop();

 private:
  void main();

  Db db_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool wanted_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace floorgate::store::detail
