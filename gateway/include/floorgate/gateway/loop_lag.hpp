#pragma once
// How late the event loop runs its handlers: a timer armed every `tick` measures how far past
// its deadline it fires. The loop is the SAS poll clock, so this is the figure that says
// whether a client request (or anything else) is starving the machines. The maximum is kept
// over a sliding window of two periods, so a stall is visible for at least one full period
// (/metrics `floorgate_loop_lag_seconds`, health topic `loop_lag_ms_max`).

#include <algorithm>
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

// What the loop meter reports for each handler: a bound on the CPU time it used, never below
// it (to within the clocks' microsecond) and less than `read_every_us` above its CPU time plus
// that of the wait for work before it (which the exact meter always counted too). It reads the
// wall clock after every handler and the thread's CPU clock only once `read_every_us` of wall
// time have passed since its last read: that clock is a system call (CLOCK_THREAD_CPUTIME_ID,
// not served by the vDSO), and read after every handler it cost an idle SAS poll about 1.6–3 µs
// of its 25–29 on the development VM (docs/performance.md, "The loop meter reads the CPU clock
// once a millisecond").
//   - A handler that returned less than `read_every_us` after the last read: its bound is the
//     wall time since the previous handler returned (its own run and the wait before it),
//     which is under `read_every_us`.
//   - Otherwise the smaller of that wall time and the CPU time since the last read (its own,
//     and that of the handlers and waits after the read, which all returned within
//     `read_every_us` of it).
// So every handler that takes `read_every_us` or more of wall time (and so every one that
// uses that much CPU) is measured on the CPU clock, and the largest bound is the longest
// handler to within `read_every_us`. Pure logic on the caller's clocks (microseconds):
// unit-testable with manual ones.
class HandlerCpuBound {
 public:
  explicit HandlerCpuBound(std::int64_t read_every_us) : every_(read_every_us) {}
  // Where counting starts: the wall clock, and the CPU clock read at that moment.
  void start(std::int64_t wall_us, std::int64_t cpu_us) {
    prev_end_ = read_at_ = wall_us;
    cpu_at_ = cpu_us;
  }
  // A handler returned at wall time `end_us`: its bound. `cpu_now()` reads the CPU clock; it
  // is called only when the rule above needs it.
  template <class CpuClock>
  std::int64_t done(std::int64_t end_us, CpuClock&& cpu_now) {
    std::int64_t bound = end_us - prev_end_;
    if (end_us - read_at_ >= every_) {
      const std::int64_t cpu = cpu_now();
      bound = std::min(bound, cpu - cpu_at_);
      cpu_at_ = cpu;
      read_at_ = end_us;
      ++reads_;
    }
    prev_end_ = end_us;
    return bound > 0 ? bound : 0;
  }
  // How often the CPU clock was read.
  std::uint64_t reads() const { return reads_; }

 private:
  std::int64_t every_;
  std::int64_t prev_end_ = 0;  // wall clock when the previous handler returned
  std::int64_t read_at_ = 0;   // wall clock at the last CPU clock read
  std::int64_t cpu_at_ = 0;    // what that read gave
  std::uint64_t reads_ = 0;
};

// The longest single handler on the loop, measured as the loop thread's CPU time, so
// scheduling noise and idle waits count for less than a millisecond: the figure that proves
// no request stalls the SAS poll clock (/metrics floorgate_loop_handler_cpu_max_seconds,
// benchmark daemon.loop_stall_max_ms). Each handler's figure is a HandlerCpuBound with
// kCpuReadEveryUs: never below the handler's CPU time, less than 1 ms above it (and the CPU of
// the wait before it). Costs one vDSO clock read per handler and a CPU clock read (a system
// call) at most once a millisecond. Handlers name themselves for its report with
// core::LoopSite.
class LoopMeter {
 public:
  static constexpr std::int64_t kCpuReadEveryUs = 1'000;
  // Runs io like io.run(): until it is stopped or out of work, one handler at a time.
  // Thread: the loop thread.
  void run(boost::asio::io_context& io);
  // Largest CPU time one handler used since start (its bound, see above), microseconds. Any
  // thread.
  std::int64_t max_handler_cpu_us() const { return max_us_.load(std::memory_order_relaxed); }
  // Handlers run since start. Any thread.
  std::uint64_t handlers() const { return handlers_.load(std::memory_order_relaxed); }
  // The site (core::LoopSite) of the handler with the largest bound, "unnamed" when it opened
  // none. The bound may be up to 1 ms over, so a handler that was up to 1 ms shorter than the
  // longest can be the one named. Any thread.
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
