// The store's counter thread (see counter_thread.hpp).
#include "counter_thread.hpp"

#include <chrono>

namespace floorgate::store::detail {

CounterThread::~CounterThread() {
  stop();
  close();
}

void CounterThread::start(Work work) {
  work_ = std::move(work);
  cache_.reset_db(db_.get());
  thread_ = std::thread([this] { main(); });
}

void CounterThread::wake() {
  std::lock_guard lk(mu_);
  wanted_ = true;
  cv_.notify_one();
}

void CounterThread::want_oldest() {
  std::lock_guard lk(mu_);
  if (!oldest_wanted_) {
    oldest_wanted_ = true;
    cv_.notify_one();
  }
}

void CounterThread::stop() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (db_.get()) sqlite3_interrupt(db_.get());  // a background quick_check may be running
  if (thread_.joinable()) thread_.join();
}

void CounterThread::close() {
  cache_.reset_db(nullptr);
  db_.close();
}

void CounterThread::main() {
  if (work_.check) work_.check(db_.get());
  std::unique_lock lk(mu_);
  bool retry = false;  // a count was dropped or failed: try again in a while, not at once
  for (;;) {
    if (retry) {
      cv_.wait_for(lk, std::chrono::seconds(1), [&] { return stop_ || oldest_wanted_; });
    } else {
      cv_.wait(lk, [&] { return wanted_ || stop_ || oldest_wanted_; });
    }
    if (stop_) return;
    if (oldest_wanted_) {
      oldest_wanted_ = false;
      lk.unlock();
      work_.refresh_oldest(cache_);
      lk.lock();
      if (!wanted_ && !retry) continue;
    }
    wanted_ = retry = false;
    lk.unlock();
    for (;;) {
      const Count c = work_.count_chunk(cache_);
      if (c == Count::idle) break;
      if (c == Count::retry) {
        retry = true;
        break;
      }
      std::lock_guard k(mu_);
      if (stop_) return;
    }
    lk.lock();
  }
}

}  // namespace floorgate::store::detail
