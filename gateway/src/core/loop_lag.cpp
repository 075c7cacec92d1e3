// Event-loop lag probe (see loop_lag.hpp).
#include "floorgate/gateway/loop_lag.hpp"

#include <spdlog/spdlog.h>
#include <time.h>

#include <algorithm>

#include <boost/asio/steady_timer.hpp>

#include "floorgate/core/loop_site.hpp"

namespace floorgate::gateway {

void LagWindow::roll(std::int64_t now_ms) {
  if (!started_) {
    started_ = true;
    window_start_ = now_ms;
    return;
  }
  if (now_ms - window_start_ < period_) return;
  // One period later the current window becomes the previous one; two or more: both empty.
  previous_ = now_ms - window_start_ < 2 * period_ ? current_ : 0;
  current_ = 0;
  window_start_ = now_ms - (now_ms - window_start_) % period_;
}

void LagWindow::record(std::int64_t now_ms, std::int64_t lag_ms) {
  roll(now_ms);
  current_ = std::max(current_, std::max<std::int64_t>(lag_ms, 0));
}

std::int64_t LagWindow::max_ms(std::int64_t now_ms) const {
  if (!started_) return 0;
  const std::int64_t age = now_ms - window_start_;
  if (age >= 2 * period_) return 0;
  if (age >= period_) return current_;  // current_ has become the previous window
  return std::max(current_, previous_);
}

struct LoopLagProbe::State : std::enable_shared_from_this<State> {
  State(boost::asio::any_io_executor ex, std::chrono::milliseconds t, std::chrono::milliseconds p)
      : timer(ex), tick(t), window(p) {}
  boost::asio::steady_timer timer;
  std::chrono::milliseconds tick;
  LagWindow window;
  std::chrono::steady_clock::time_point deadline;

  static std::int64_t ms(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  }
  void arm() {
    deadline = std::chrono::steady_clock::now() + tick;
    timer.expires_at(deadline);
    timer.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      auto self = weak.lock();
      if (!self || ec) return;
      auto now = std::chrono::steady_clock::now();
      self->window.record(ms(now), ms(now) - ms(self->deadline));
      self->arm();
    });
  }
};

LoopLagProbe::LoopLagProbe(boost::asio::any_io_executor ex, std::chrono::milliseconds tick,
                           std::chrono::milliseconds period)
    : state_(std::make_shared<State>(ex, tick, period)) {
  state_->arm();
}

LoopLagProbe::~LoopLagProbe() { state_->timer.cancel(); }

std::int64_t LoopLagProbe::max_ms() const {
  return state_->window.max_ms(State::ms(std::chrono::steady_clock::now()));
}

namespace {
std::int64_t thread_cpu_us() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
}
// A handler above this much CPU is logged as a warning (each new maximum only): it delays
// every SAS poll. A new maximum above kNoteUs is logged at info level with its site, so the
// daemon's log says what the longest handler was.
constexpr std::int64_t kStallLogUs = 20'000;
constexpr std::int64_t kNoteUs = 2'000;
}  // namespace

void LoopMeter::run(boost::asio::io_context& io) {
  const auto wall_us = [] {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  };
  HandlerCpuBound bound(kCpuReadEveryUs);
  bound.start(wall_us(), thread_cpu_us());
  std::int64_t max = max_us_.load(std::memory_order_relaxed);
  std::uint64_t count = 0;
  core::LoopSite::clear();
  while (io.run_one()) {
    const std::int64_t used = bound.done(wall_us(), thread_cpu_us);
    if (used > max) {
      max = used;
      const char* site = core::LoopSite::current();
      max_site_.store(site, std::memory_order_relaxed);
      max_us_.store(max, std::memory_order_relaxed);
      if (max >= kStallLogUs) {
        spdlog::warn("event loop: one handler ({}) used up to {} ms of CPU (a new maximum; SAS "
                     "polls wait while it runs)", site ? site : "unnamed", max / 1000);
      } else if (max >= kNoteUs) {
        spdlog::info("event loop: longest handler so far up to {:.2f} ms of CPU ({})",
                     max / 1000.0, site ? site : "unnamed");
      }
    }
    core::LoopSite::clear();
    if (++count % 64 == 0) handlers_.store(count, std::memory_order_relaxed);
  }
  handlers_.store(count, std::memory_order_relaxed);
}

}  // namespace floorgate::gateway
