#include "floorgate/gateway/store_sink.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <algorithm>
#include <memory>
#include <utility>
#include "floorgate/core/loop_site.hpp"

namespace floorgate::gateway {

store::Record to_record(drivers::Event e) {
  store::Record r;
  r.egm = std::move(e.egm);
  r.type = std::move(e.type);
  r.cls = e.cls;
  r.ts_gw_ms = e.ts_gw_ms;
  r.ts_egm_ms = e.ts_egm_ms;
  r.source = std::move(e.source);
  r.attrs_json = e.attrs_json.empty() ? std::string("{}") : std::move(e.attrs_json);
  r.raw_hex = std::move(e.raw_hex);
  return r;
}

StoreSink::StoreSink(boost::asio::any_io_executor ex, store::EventLog& store)
    : ex_(ex), store_(store), retry_timer_(std::move(ex)) {}

void StoreSink::submit(drivers::Event event, drivers::DurableHandler on_durable) {
  ++submitted_;
  store_.append(to_record(std::move(event)), [this, h = std::move(on_durable)](
                                                 std::error_code ec, const store::Record& stored) mutable {
    // Writer thread: queue the outcome; only the first of a burst posts (one wake-up of the
    // loop per commit, not one per event). Never touch the loop's members here.
    bool post = false;
    {
      std::lock_guard lk(mu_);
      reported_.push_back({ec, stored, std::move(h)});
      post = !std::exchange(drain_posted_, true);
    }
    if (post) boost::asio::post(ex_, [this] { drain(); });
  });
}

void StoreSink::drain() {
  core::LoopSite site("store.durable");
  if (draining_.empty()) {  // else: what the last handler left (more than kDurablePerHandler)
    std::lock_guard lk(mu_);
    draining_.swap(reported_);
  }
  const std::size_t end = std::min(draining_.size(), drain_at_ + kDurablePerHandler);
  for (; drain_at_ < end; ++drain_at_) report(draining_[drain_at_]);
  bool again = drain_at_ < draining_.size();
  if (!again) {
    draining_.clear();  // handlers and records released here, on the loop
    drain_at_ = 0;
    std::lock_guard lk(mu_);
    again = !reported_.empty();
    drain_posted_ = again;
  }
  if (again) boost::asio::post(ex_, [this] { drain(); });
}

void StoreSink::report(Outcome& o) {
  if (o.ec) {
    ++failed_;
  } else {
    ++durable_;
    for (auto& l : listeners_) l(o.rec);
  }
  if (o.on_durable) o.on_durable(o.ec, o.ec ? 0 : o.rec.seq);
  while (!after_.empty() && after_.front().first <= durable_ + failed_) {
    auto fn = std::move(after_.front().second);
    after_.pop_front();
    fn();
  }
}

void StoreSink::after_pending(std::function<void()> fn) {
  if (pending() == 0) {
    boost::asio::post(ex_, std::move(fn));
    return;
  }
  after_.emplace_back(submitted_, std::move(fn));
}

void StoreSink::submit_own(drivers::Event event) {
  auto copy = event;  // nothing else keeps a gateway event: hold it until it is durable
  submit(std::move(event), [this, copy = std::move(copy)](std::error_code ec, std::uint64_t) mutable {
    if (ec) keep_for_retry(std::move(copy), ec);
  });
}

void StoreSink::keep_for_retry(drivers::Event e, std::error_code ec) {
  if (unsaved_.empty()) {
    spdlog::warn("store: could not save gateway event {} ({}); keeping it and retrying", e.type,
                 ec.message());
  }
  if (unsaved_.size() >= kMaxUnsaved) {
    if (own_dropped_++ % 100 == 0) {
      spdlog::error("store: {} gateway events waiting for the store; dropping the oldest ({} so "
                    "far)", unsaved_.size(), own_dropped_);
    }
    unsaved_.pop_front();
  }
  unsaved_.push_back(std::move(e));
  if (retry_armed_) return;
  retry_armed_ = true;
  retry_timer_.expires_after(kRetryEvery);
  retry_timer_.async_wait([this](boost::system::error_code wec) {
    if (wec) return;  // cancelled: the sink is going away
    retry_armed_ = false;
    retry_unsaved();
  });
}

void StoreSink::retry_unsaved() {
  auto batch = std::move(unsaved_);
  unsaved_.clear();
  for (auto& e : batch) submit_own(std::move(e));
}

}  // namespace floorgate::gateway
