#include "db_worker.hpp"

#include "floorgate/core/check.hpp"

namespace floorgate::store::detail {

void DbWorker::start() {
  FG_CHECK(db_.get() != nullptr, "the worker's connection is opened before start");
  thread_ = std::thread([this] { main(); });
}

bool DbWorker::post(Job job) {
  {
    std::lock_guard lk(mu_);
    if (!stopping_) {
      if (queue_.size() >= kMaxQueued) return false;
      queue_.push_back(std::move(job));
      cv_.notify_one();
      return true;
    }
  }
  job(nullptr);
  return true;
}

void DbWorker::stop() {
  std::deque<Job> dropped;
  {
    std::lock_guard lk(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
    dropped.swap(queue_);
    cv_.notify_one();
  }
  if (db_.get()) sqlite3_interrupt(db_.get());
  if (thread_.joinable()) thread_.join();
  for (auto& job : dropped) job(nullptr);
}

void DbWorker::main() {
  std::unique_lock lk(mu_);
  for (;;) {
    cv_.wait(lk, [&] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    Job job = std::move(queue_.front());
    queue_.pop_front();
    lk.unlock();
    job(db_.get());
    job = nullptr;  // what it captured goes now, not when the next job comes
    lk.lock();
  }
}

}  // namespace floorgate::store::detail
