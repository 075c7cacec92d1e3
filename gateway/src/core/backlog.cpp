#include "floorgate/gateway/backlog.hpp"

namespace floorgate::gateway {

void BacklogRate::sample(std::int64_t now_ms, std::uint64_t routed_total, std::uint64_t unacked) {
  if (!samples_.empty() && routed_total < samples_.back().routed) samples_.clear();
  samples_.push_back({now_ms, routed_total, unacked});
  // Keep one sample at or before the window's start, so the window is always covered.
  while (samples_.size() > 2 && now_ms - samples_[1].t_ms >= kWindowMs) samples_.pop_front();
}

BacklogRate::Figures BacklogRate::figures() const {
  Figures f;
  if (samples_.size() < 2) return f;
  const Sample& a = samples_.front();
  const Sample& b = samples_.back();
  const double dt = static_cast<double>(b.t_ms - a.t_ms) / 1000.0;
  if (dt < 1.0) return f;
  f.window_s = dt;
  f.incoming_per_s = static_cast<double>(b.routed - a.routed) / dt;
  const double growth_per_s =
      (static_cast<double>(b.unacked) - static_cast<double>(a.unacked)) / dt;
  f.acked_per_s = f.incoming_per_s - growth_per_s;
  f.backlog_growth_per_min = growth_per_s * 60.0;
  if (b.unacked > 0 && growth_per_s < 0) {
    f.drain_eta_s = static_cast<double>(b.unacked) / -growth_per_s;
  }
  return f;
}

}  // namespace floorgate::gateway
