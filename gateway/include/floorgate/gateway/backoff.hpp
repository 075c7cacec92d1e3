#pragma once
// Jittered, bounded exponential backoff for broker reconnects ("equal jitter": the delay is
// uniformly drawn from [d/2, d] where d doubles from `initial` up to `max`). Pure; the
// caller owns the timer. Not thread-safe (one owner on the event loop).

#include <chrono>
#include <cstdint>
#include <random>

namespace floorgate::gateway {

class Backoff {
 public:
  // initial/max: bounds of the undithered delay; seed: for reproducible tests.
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max,
          std::uint64_t seed = std::random_device{}())
      : initial_(initial.count() > 0 ? initial : std::chrono::milliseconds(1)),
        max_(max < initial_ ? initial_ : max),
        rng_(seed) {}

  // The next delay to wait before retrying; grows each call until reset().
  std::chrono::milliseconds next() {
    auto d = current();
    if (attempt_ < 62) ++attempt_;
    auto half = d.count() / 2;
    std::uniform_int_distribution<std::int64_t> dist(half, d.count());
    return std::chrono::milliseconds(dist(rng_));
  }
  // After a successful connection.
  void reset() { attempt_ = 0; }
  // Attempts since the last reset().
  int attempts() const { return attempt_; }

 private:
  std::chrono::milliseconds current() const {
    std::int64_t d = initial_.count();
    for (int i = 0; i < attempt_ && d < max_.count(); ++i) d *= 2;
    return std::chrono::milliseconds(d < max_.count() ? d : max_.count());
  }
  std::chrono::milliseconds initial_, max_;
  int attempt_ = 0;
  std::mt19937_64 rng_;
};

}  // namespace floorgate::gateway
