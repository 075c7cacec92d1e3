#pragma once
// What the event loop is doing, named for the longest-handler report (LoopMeter in
// gateway/loop_lag.hpp). A handler that may run long opens a LoopSite with a static name at
// its top; the loop meter clears the name before each handler and, when a handler sets a new
// maximum, reports it with the name the handler left ("mqtt.read", "web.metrics", ...). The
// last site opened in a handler names it: a handler's first site says where it came in (the
// HTTP request), a later one what it turned out to be (the /metrics page).
// Costs one thread-local write; no allocation, no lock.

namespace floorgate::core {

class LoopSite {
 public:
  // `name` must be a string literal (it is kept, not copied).
  explicit LoopSite(const char* name) noexcept { current_ = name; }
  LoopSite(const LoopSite&) = delete;
  LoopSite& operator=(const LoopSite&) = delete;

  // The name the running handler set (nullptr: none). The loop meter's use only.
  static const char* current() noexcept { return current_; }
  // Forgets the name: the loop meter calls it before each handler.
  static void clear() noexcept { current_ = nullptr; }

 private:
  static inline thread_local const char* current_ = nullptr;
};

}  // namespace floorgate::core
