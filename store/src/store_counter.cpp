// The counter thread: counts off the pending rows a consumer's big ack jump left uncounted
// (see Consumer::counted), on its own read connection, so the writer never stalls on it.
#include <future>

#include "scan.hpp"
#include "sqlite_store.hpp"

namespace floorgate::store::detail {

namespace {
// Seqs counted per recount op: one commit per chunk, a few hundred ms of scanning at most.
constexpr std::uint64_t kCountChunk = 65536;
}  // namespace

void SqliteStore::wake_counter() {
  std::lock_guard lk(kc_mu_);
  kc_wanted_ = true;
  kc_cv_.notify_one();
}

void SqliteStore::counter_main() {
  background_check();
  std::unique_lock lk(kc_mu_);
  bool retry = false;  // a count was dropped or failed: try again in a while, not at once
  for (;;) {
    if (retry) {
      kc_cv_.wait_for(lk, std::chrono::seconds(1), [&] { return kc_stop_ || oldest_wanted_; });
    } else {
      kc_cv_.wait(lk, [&] { return kc_wanted_ || kc_stop_ || oldest_wanted_; });
    }
    if (kc_stop_) return;
    if (oldest_wanted_) {
      oldest_wanted_ = false;
      lk.unlock();
      refresh_oldest_unacked();
      lk.lock();
      if (!kc_wanted_ && !retry) continue;
    }
    kc_wanted_ = retry = false;
    lk.unlock();
    for (;;) {
      Op op;
      Route route;
      {
        std::lock_guard g(mu_);
        if (stopping_) break;
        for (const auto& [name, c] : consumers_) {
          if (c.counted < c.acked) {
            op.consumer = name;
            op.from = c.counted;
            op.upto = std::min(c.acked, c.counted + kCountChunk);
            route = c.spec.route;
            break;
          }
        }
        op.generation = retention_commits_;
      }
      if (op.consumer.empty()) {
        sqlite3_db_release_memory(kdb_.get());  // idle until the next big jump: give back the cache
        break;
      }
      // The generation is read before this count's snapshot begins: a retention commit after
      // that point makes the writer drop the result.
      int rc = SQLITE_OK;
      op.count = count_route(kcache_, route, op.from, op.upto, &rc);
      if (rc != SQLITE_OK) {  // a read failure: try again in a while, never apply a short count
        retry = true;
        break;
      }
      op.kind = OpKind::recount;
      auto applied = std::make_shared<std::promise<std::error_code>>();
      auto fut = applied->get_future();
      op.on_done = [applied](std::error_code ec) { applied->set_value(ec); };
      {
        std::lock_guard g(mu_);
        if (stopping_) break;
        op.enqueued = std::chrono::steady_clock::now();
        queue_.push_back(std::move(op));
      }
      cv_.notify_one();
      retry = static_cast<bool>(fut.get());  // the writer drains its queue before it stops
      std::lock_guard k(kc_mu_);
      if (kc_stop_) return;
      if (retry) break;
    }
    lk.lock();
  }
}

}  // namespace floorgate::store::detail
