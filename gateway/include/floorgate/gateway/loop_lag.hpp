#pragma once
// How late the event loop runs its handlers: a timer armed every `tick` measures how far past
// its deadline it fires. The loop is the SAS poll clock, so this is the figure that says
// whether a client request (or anything else) is starving the machines. The maximum is kept
// over a sliding window of two periods, so a stall is visible for at least one full period
// (/metrics `floorgate_loop_lag_seconds`, health topic `loop_lag_ms_max`).

#include <chrono>
#include <cstdint>
#include <memory>

#include <boost/asio/any_io_executor.hpp>

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

}  // namespace floorgate::gateway
