#pragma once
// How late the event loop runs its handlers: a timer armed every `tick` measures how far past
// its deadline it fires. The loop is the SAS poll clock, so this is the figure that says
// whether a client request (or anything else) is starving the machines. The maximum is kept
// over a sliding window of two periods, so a stall is visible for at least one full period
// (/metrics `floorgate_loop_lag_seconds`, health topic `loop_lag_ms_max`).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>

namespace floorgate::gateway {

// The windowed maximum alone (no timer), driven by the caller's clock: unit-testable.
class LagWindow {
 public:
  explicit LagWindow(std::chrono::milliseconds period) : period_(period.count()) {}
  // One measurement taken at `now_ms` (steady clock, ms).
  void record(std::int64_t now_ms, std::int64_t lag_ms);
  // Largest lag recorded in the current and the previous period, as seen at `now_ms`.
  std::int64_t max_ms(std::int64_t now_ms) const;

 private:
  void roll(std::int64_t now_ms);
  std::int64_t period_;
  std::int64_t window_start_ = 0;
  std::int64_t current_ = 0, previous_ = 0;
  bool started_ = false;
};

// The timer shell: starts at construction, stops at destruction. Executor thread only.
class LoopLagProbe {
 public:
  LoopLagProbe(boost::asio::any_io_executor ex, std::chrono::milliseconds tick,
               std::chrono::milliseconds period);
  ~LoopLagProbe();
  LoopLagProbe(const LoopLagProbe&) = delete;
  LoopLagProbe& operator=(const LoopLagProbe&) = delete;
  // Worst lateness over the last one to two periods, milliseconds.
  std::int64_t max_ms() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

// The longest single handler on the loop, measured as the loop thread's CPU time
// (CLOCK_THREAD_CPUTIME_ID) around each handler, so scheduling noise and idle waits do not
// count: the figure that proves no request stalls the SAS poll clock (/metrics
// floorgate_loop_handler_cpu_max_seconds, benchmark daemon.loop_stall_max_ms). Costs one
// clock read per handler. Handlers name themselves for its report with core::LoopSite.
class LoopMeter {
 public:
  // Runs io like io.run(): until it is stopped or out of work, one handler at a time.
  // Thread: the loop thread.
  void run(boost::asio::io_context& io);
  // Largest CPU time one handler used since start, microseconds. Any thread.
  std::int64_t max_handler_cpu_us() const { return max_us_.load(std::memory_order_relaxed); }
  // Handlers run since start. Any thread.
  std::uint64_t handlers() const { return handlers_.load(std::memory_order_relaxed); }
  // The site (core::LoopSite) of the longest handler, "unnamed" when it opened none. Any thread.
  const char* max_handler_site() const {
    const char* s = max_site_.load(std::memory_order_relaxed);
    return s ? s : "unnamed";
  }

 private:
  std::atomic<std::int64_t> max_us_{0};
  std::atomic<const char*> max_site_{nullptr};
  std::atomic<std::uint64_t> handlers_{0};
};

}  // namespace floorgate::gateway
