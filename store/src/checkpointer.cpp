#include "checkpointer.hpp"

#include "floorgate/core/check.hpp"

namespace floorgate::store::detail {

void Checkpointer::start() {
  FG_CHECK(db_.get() != nullptr, "the checkpoint connection is opened before start");
  thread_ = std::thread([this] { main(); });
}

void Checkpointer::want() {
  std::lock_guard lk(mu_);
  wanted_ = true;
  cv_.notify_one();
}

void Checkpointer::stop() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Checkpointer::main() {
  std::unique_lock lk(mu_);
  for (;;) {
    cv_.wait(lk, [&] { return wanted_ || stopping_; });
    if (stopping_) return;
    wanted_ = false;
    lk.unlock();
    sqlite3_wal_checkpoint_v2(db_.get(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    lk.lock();
  }
}

}  // namespace floorgate::store::detail
