#include "floorgate/drivers/reconcile.hpp"

#include <limits>

namespace floorgate::drivers {

std::string_view to_string(ReconCategory c) {
  switch (c) {
    case ReconCategory::bills_in: return "bills_in";
    case ReconCategory::tickets_in: return "tickets_in";
    case ReconCategory::tickets_out: return "tickets_out";
    case ReconCategory::aft_in: return "aft_in";
    case ReconCategory::aft_out: return "aft_out";
    case ReconCategory::handpaid: return "handpaid";
    case ReconCategory::games: return "games";
    case ReconCategory::progressives: return "progressives";
    case ReconCategory::bonuses: return "bonuses";
  }
  return "unknown";
}

void Reconciler::add_event(ReconCategory c, std::optional<std::uint64_t> amount) {
  Sum& s = sums_[static_cast<std::size_t>(c)];
  // An amount the sum cannot hold (a G2S machine may send any integer) is an unknown amount.
  constexpr auto kMax = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (amount && *amount <= kMax - static_cast<std::uint64_t>(s.total)) {
    s.total += static_cast<std::int64_t>(*amount);
  } else {
    s.unknown = true;
  }
}

ReconResult Reconciler::settle(
    const std::array<std::optional<MeterReading>, kReconCategories>& readings,
    std::int64_t now_ms) {
  ReconResult r;
  r.window_start_ms = baseline_ms_;
  r.window_ms = now_ms - baseline_ms_;
  bool reset_seen = false;
  if (have_baseline_) {
    for (std::size_t i = 0; i < kReconCategories; ++i) {
      const auto& prev = baseline_[i];
      const auto& cur = readings[i];
      if (!prev || !cur) continue;  // not metered on both sides: a new baseline for it below
      ReconLine line;
      line.category = static_cast<ReconCategory>(i);
      std::uint64_t delta = 0;
      if (cur->value >= prev->value) {
        delta = cur->value - prev->value;
      } else if (cur->modulus > 0 && prev->value - cur->value > cur->modulus / 2) {
        delta = cur->value + cur->modulus - prev->value;  // BCD rollover
        line.rollover = true;
      } else {
        reset_seen = true;  // backwards: the meters restarted; judge nothing in this window
        break;
      }
      if (delta > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        reset_seen = true;  // no real meter moves this far: judge nothing, start over
        break;
      }
      line.meter_delta = static_cast<std::int64_t>(delta);
      line.event_sum = sums_[i].total;
      line.difference = line.meter_delta - line.event_sum;
      line.amount_unknown = sums_[i].unknown;
      const std::int64_t tol =
          line.category == ReconCategory::games ? 0 : static_cast<std::int64_t>(tolerance_);
      const std::int64_t off = line.difference < 0 ? -line.difference : line.difference;
      line.mismatch = !line.amount_unknown && off > tol;
      r.lines.push_back(line);
    }
  }
  if (!have_baseline_ || reset_seen) {
    r.baseline = true;
    r.lines.clear();
  }
  have_baseline_ = true;
  baseline_ = readings;
  baseline_ms_ = now_ms;
  sums_ = {};
  return r;
}

}  // namespace floorgate::drivers
