#pragma once
// The time source every component reads instead of calling std::chrono clocks itself, so a
// test can drive it by hand (Envoy's TimeSource, open62541's fake clock). Product code gets
// system_clock(); tests construct a ManualClock and advance it.

#include <cstdint>

namespace floorgate::core {

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic milliseconds (arbitrary origin): deadlines, rates, timeouts.
  virtual std::int64_t steady_ms() const = 0;
  // Wall clock, UTC milliseconds since the Unix epoch: event time stamps, ledgers.
  virtual std::int64_t unix_ms() const = 0;
};

// std::chrono::steady_clock / system_clock. Thread-safe; lives for the whole program.
const Clock& system_clock();

// The two real readings as free functions, for code that has no Clock to hand (start-up).
std::int64_t steady_now_ms();
std::int64_t unix_now_ms();

// A clock tests advance by hand; steady and wall time move together. Single-threaded use.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(std::int64_t steady_start_ms = 1000,
                       std::int64_t unix_offset_ms = 1'700'000'000'000)
      : now_(steady_start_ms), unix_offset_(unix_offset_ms) {}
  std::int64_t steady_ms() const override { return now_; }
  std::int64_t unix_ms() const override { return unix_offset_ + now_; }
  // Moves both clocks forward by `ms` milliseconds.
  void advance(std::int64_t ms) { now_ += ms; }
  // Steps the wall clock alone (an NTP correction, a clock set), by `ms` (may be negative).
  void step_wall(std::int64_t ms) { unix_offset_ += ms; }

 private:
  std::int64_t now_;
  std::int64_t unix_offset_;
};

}  // namespace floorgate::core
