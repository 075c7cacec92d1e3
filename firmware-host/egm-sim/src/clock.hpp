#pragma once
// Time source injected into the simulator core: monotonic ms for timers and chirps, Unix ms
// for the ledger. Tests use ManualClock; the program uses SystemClock. Single-threaded use.

#include <chrono>
#include <cstdint>

namespace floorgate::sim {

// What the core reads time from.
class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic milliseconds (arbitrary origin).
  virtual std::int64_t steady_ms() const = 0;
  // Wall clock, milliseconds since the Unix epoch (UTC).
  virtual std::int64_t unix_ms() const = 0;
};

// The real clocks.
class SystemClock final : public Clock {
 public:
  std::int64_t steady_ms() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  std::int64_t unix_ms() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

// A clock tests advance by hand; steady and wall time move together.
class ManualClock final : public Clock {
 public:
  std::int64_t steady_ms() const override { return now_; }
  std::int64_t unix_ms() const override { return 1'700'000'000'000 + now_; }
  // Moves time forward by `ms` milliseconds.
  void advance(std::int64_t ms) { now_ += ms; }

 private:
  std::int64_t now_ = 1000;
};

}  // namespace floorgate::sim
