#pragma once
// Reconciliation of an EGM's money events against its meters (docs/reconciliation.md).
//
// The driver tells the Reconciler about every money event it reports (category and amount) and
// hands it each meter snapshot that is *settled*: taken while the EGM reported nothing, so every
// event that moved those meters has already been counted and none that happened after the read
// has. Between two settled snapshots the meter delta of each category must equal the sum of the
// events; the difference beyond the tolerance is a mismatch. Unsettled snapshots leave the
// window open (it then spans several snapshots). A meter reset or a snapshot without a
// category's meter starts a new baseline instead of producing a difference. Pure; one thread.

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace floorgate::drivers {

// What is reconciled. Amounts are cents, except `games` (a count). New categories go at the
// end: the order is the order of a window's lines.
enum class ReconCategory : std::uint8_t {
  bills_in, tickets_in, tickets_out, aft_in, aft_out, handpaid, games, progressives, bonuses
};
inline constexpr std::size_t kReconCategories = 9;
// "bills_in", ...
std::string_view to_string(ReconCategory c);

// One category's meter value in a snapshot (cents or count) and the modulus it rolls over at
// (10^digits of the meter's BCD size).
struct MeterReading {
  std::uint64_t value = 0;
  std::uint64_t modulus = 0;
};

// One category's result for a closed window.
struct ReconLine {
  ReconCategory category{};
  std::int64_t meter_delta = 0;  // what the meters moved
  std::int64_t event_sum = 0;    // what the events reported
  std::int64_t difference = 0;   // meter_delta - event_sum
  bool amount_unknown = false;   // an event in the window had no amount: not judged
  bool rollover = false;         // the meter wrapped in the window (handled)
  bool mismatch = false;         // |difference| > tolerance (and the amounts were known)
};

// The outcome of a settled snapshot.
struct ReconResult {
  bool baseline = false;             // first snapshot or after a reset: nothing compared
  std::int64_t window_ms = 0;        // since the previous settled snapshot
  std::int64_t window_start_ms = 0;  // wall clock of the previous settled snapshot
  std::vector<ReconLine> lines;      // compared categories, in enum order
};

class Reconciler {
 public:
  // Differences up to `tolerance_cents` (games: 0) are not mismatches.
  explicit Reconciler(std::uint64_t tolerance_cents = 0) : tolerance_(tolerance_cents) {}

  // A money event reported in the current window; nullopt = its amount is unknown.
  void add_event(ReconCategory c, std::optional<std::uint64_t> amount);
  // The EGM's meters restarted (RAM clear, 7A, a backwards jump): the next settled snapshot
  // is a new baseline.
  void reset() { have_baseline_ = false; }
  // A settled snapshot at wall time `now_ms`: per category, the reading (nullopt = not read).
  ReconResult settle(const std::array<std::optional<MeterReading>, kReconCategories>& readings,
                     std::int64_t now_ms);

 private:
  struct Sum {
    std::int64_t total = 0;
    bool unknown = false;
  };
  std::uint64_t tolerance_;
  bool have_baseline_ = false;
  std::int64_t baseline_ms_ = 0;
  std::array<std::optional<MeterReading>, kReconCategories> baseline_{};
  std::array<Sum, kReconCategories> sums_{};
};

}  // namespace floorgate::drivers
