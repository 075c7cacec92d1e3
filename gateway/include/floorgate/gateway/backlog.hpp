#pragma once
// Backlog arithmetic of one consumer (issue 23, the seeds' "backlog growth = incoming rate -
// processing rate"): from samples of the events routed to it (a cumulative count) and its
// unacked count, over a sliding window. Pure and clock-free: the caller passes steady time, so
// unit tests drive it by hand. Loop thread only.

#include <cstdint>
#include <deque>
#include <optional>

namespace floorgate::gateway {

class BacklogRate {
 public:
  static constexpr std::int64_t kWindowMs = 60'000;  // the stated window of every figure

  struct Figures {
    double incoming_per_s = 0;          // events routed to the consumer
    double acked_per_s = 0;             // events leaving its backlog (acked, or evicted)
    double backlog_growth_per_min = 0;  // incoming - processing; negative while draining
    std::optional<double> drain_eta_s;  // unacked / drain rate while draining; else none
    double window_s = 0;                // what the figures cover (0: not enough samples)
  };

  // One sample at steady time now_ms. A routed_total lower than the last one (a store that was
  // reopened) starts over.
  void sample(std::int64_t now_ms, std::uint64_t routed_total, std::uint64_t unacked);
  // Rates between the oldest sample in the window and the newest (all zero and no ETA until
  // two samples at least a second apart exist).
  Figures figures() const;

 private:
  struct Sample {
    std::int64_t t_ms;
    std::uint64_t routed, unacked;
  };
  std::deque<Sample> samples_;
};

}  // namespace floorgate::gateway
