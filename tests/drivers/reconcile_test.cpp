// Reconciler unit tests (drivers/include/floorgate/drivers/reconcile.hpp): windows between
// settled snapshots, rollover, resets, unknown amounts and the tolerance.
#include <gtest/gtest.h>

#include <limits>

#include "floorgate/drivers/reconcile.hpp"

using floorgate::drivers::kReconCategories;
using floorgate::drivers::MeterReading;
using floorgate::drivers::ReconCategory;
using floorgate::drivers::Reconciler;

namespace {

using Readings = std::array<std::optional<MeterReading>, kReconCategories>;

Readings bills(std::uint64_t cents, std::uint64_t modulus = 100'000'000) {
  Readings r{};
  r[static_cast<std::size_t>(ReconCategory::bills_in)] = MeterReading{cents, modulus};
  return r;
}

}  // namespace

TEST(Reconciler, FirstSettledSnapshotIsABaselineThenWindowsCompare) {
  Reconciler rc;
  EXPECT_TRUE(rc.settle(bills(1000), 1000).baseline);
  rc.add_event(ReconCategory::bills_in, 2000);
  rc.add_event(ReconCategory::bills_in, 500);
  auto r = rc.settle(bills(3500), 5000);
  ASSERT_FALSE(r.baseline);
  ASSERT_EQ(r.lines.size(), 1u);
  EXPECT_EQ(r.lines[0].meter_delta, 2500);
  EXPECT_EQ(r.lines[0].event_sum, 2500);
  EXPECT_FALSE(r.lines[0].mismatch);
  EXPECT_EQ(r.window_ms, 4000);
  // The next window starts empty: an unreported bill is a mismatch of exactly its value.
  auto skim = rc.settle(bills(5500), 6000);
  ASSERT_EQ(skim.lines.size(), 1u);
  EXPECT_TRUE(skim.lines[0].mismatch);
  EXPECT_EQ(skim.lines[0].difference, 2000);
  // And only once: the window after it is clean again.
  EXPECT_FALSE(rc.settle(bills(5500), 7000).lines[0].mismatch);
}

TEST(Reconciler, RolloverIsCountedAcrossTheWrap) {
  Reconciler rc;
  rc.settle(bills(99'999'000), 0);
  rc.add_event(ReconCategory::bills_in, 2000);
  auto r = rc.settle(bills(1000), 1);
  ASSERT_EQ(r.lines.size(), 1u);
  EXPECT_TRUE(r.lines[0].rollover);
  EXPECT_EQ(r.lines[0].meter_delta, 2000);
  EXPECT_FALSE(r.lines[0].mismatch);
}

TEST(Reconciler, ResetsStartANewBaselineInsteadOfAMismatch) {
  Reconciler rc;
  rc.settle(bills(50'000'000), 0);
  rc.add_event(ReconCategory::bills_in, 100);
  EXPECT_TRUE(rc.settle(bills(100), 1).baseline);  // backwards, not a wrap: meters restarted
  rc.reset();                                        // 7A: told explicitly
  EXPECT_TRUE(rc.settle(bills(0), 2).baseline);
  rc.add_event(ReconCategory::bills_in, 100);
  EXPECT_FALSE(rc.settle(bills(100), 3).lines.at(0).mismatch);
}

TEST(Reconciler, UnknownAmountsAreShownButNotJudgedAndToleranceApplies) {
  Reconciler rc(50);
  rc.settle(bills(0), 0);
  rc.add_event(ReconCategory::bills_in, std::nullopt);
  auto r = rc.settle(bills(2000), 1);
  EXPECT_TRUE(r.lines.at(0).amount_unknown);
  EXPECT_FALSE(r.lines.at(0).mismatch);
  rc.add_event(ReconCategory::bills_in, 1000);
  EXPECT_FALSE(rc.settle(bills(3050), 2).lines.at(0).mismatch);  // 50 within tolerance
  rc.add_event(ReconCategory::bills_in, 1000);
  EXPECT_TRUE(rc.settle(bills(4101), 3).lines.at(0).mismatch);   // 51 beyond it
  // Games always use a tolerance of zero.
  Readings g{};
  g[static_cast<std::size_t>(ReconCategory::games)] = MeterReading{10, 100'000'000};
  rc.settle(g, 4);  // games first read: no baseline for it, nothing compared
  g[static_cast<std::size_t>(ReconCategory::games)] = MeterReading{11, 100'000'000};
  auto games = rc.settle(g, 5);
  ASSERT_EQ(games.lines.size(), 1u);
  EXPECT_TRUE(games.lines[0].mismatch);
}

// A sum of amounts that would not fit in 64 bits (a G2S machine may send any integer) makes
// the window's amount unknown: shown, not judged, and no overflow.
TEST(Reconciler, AnAmountTheSumCannotHoldIsUnknown) {
  Reconciler rc;
  EXPECT_TRUE(rc.settle(bills(1000), 1000).baseline);
  rc.add_event(ReconCategory::bills_in, 1000);
  rc.add_event(ReconCategory::bills_in, std::numeric_limits<std::uint64_t>::max() - 10);
  auto r = rc.settle(bills(2000), 2000);
  ASSERT_EQ(r.lines.size(), 1u);
  EXPECT_TRUE(r.lines[0].amount_unknown);
  EXPECT_EQ(r.lines[0].event_sum, 1000);
  EXPECT_FALSE(r.lines[0].mismatch);
}
