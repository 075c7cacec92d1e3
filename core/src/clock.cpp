#include "floorgate/core/clock.hpp"

#include <chrono>

namespace floorgate::core {
namespace {

class SystemClock final : public Clock {
 public:
  std::int64_t steady_ms() const override { return steady_now_ms(); }
  std::int64_t unix_ms() const override { return unix_now_ms(); }
};

}  // namespace

std::int64_t steady_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::int64_t unix_now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

const Clock& system_clock() {
  static const SystemClock clock;
  return clock;
}

}  // namespace floorgate::core
