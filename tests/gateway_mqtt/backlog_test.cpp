// BacklogRate: the backlog arithmetic of health and /metrics, driven by a hand-held clock.
#include <gtest/gtest.h>

#include "floorgate/gateway/backlog.hpp"

namespace fg = floorgate::gateway;

TEST(BacklogRate, NeedsTwoSamplesASecondApart) {
  fg::BacklogRate r;
  EXPECT_EQ(r.figures().window_s, 0);
  r.sample(1000, 10, 5);
  r.sample(1500, 20, 5);
  auto f = r.figures();
  EXPECT_EQ(f.window_s, 0);
  EXPECT_EQ(f.incoming_per_s, 0);
  EXPECT_FALSE(f.drain_eta_s);
}

TEST(BacklogRate, GrowingBacklogHasNoEta) {
  fg::BacklogRate r;
  // 100 events/s arrive, the consumer (offline) acks none: the backlog grows 100/s.
  for (int s = 0; s <= 10; ++s) r.sample(1000 + s * 1000, 100u * s, 100u * s);
  auto f = r.figures();
  EXPECT_DOUBLE_EQ(f.window_s, 10);
  EXPECT_DOUBLE_EQ(f.incoming_per_s, 100);
  EXPECT_DOUBLE_EQ(f.acked_per_s, 0);
  EXPECT_DOUBLE_EQ(f.backlog_growth_per_min, 6000);
  EXPECT_FALSE(f.drain_eta_s);
}

TEST(BacklogRate, DrainingBacklogGivesTheTimeToClear) {
  fg::BacklogRate r;
  // 50 events/s arrive; the consumer processes 250/s: the backlog of 10,000 shrinks 200/s.
  std::uint64_t unacked = 10'000, routed = 0;
  for (int s = 0; s <= 20; ++s) {
    r.sample(s * 1000, routed, unacked);
    routed += 50;
    unacked -= 200;
  }
  auto f = r.figures();
  EXPECT_DOUBLE_EQ(f.incoming_per_s, 50);
  EXPECT_DOUBLE_EQ(f.acked_per_s, 250);
  EXPECT_DOUBLE_EQ(f.backlog_growth_per_min, -12'000);
  ASSERT_TRUE(f.drain_eta_s);
  EXPECT_DOUBLE_EQ(*f.drain_eta_s, (10'000.0 - 20 * 200) / 200);  // 30 s left
}

TEST(BacklogRate, WindowSlidesAndAReopenedStoreStartsOver) {
  fg::BacklogRate r;
  for (int s = 0; s <= 120; ++s) r.sample(s * 1000, s < 60 ? 0u : 10u * (s - 60), 0);
  auto f = r.figures();
  EXPECT_DOUBLE_EQ(f.window_s, 60);         // only the last minute counts
  EXPECT_DOUBLE_EQ(f.incoming_per_s, 10);   // the quiet first minute is gone
  r.sample(121'000, 5, 0);                  // routed went down: the store was reopened
  EXPECT_EQ(r.figures().window_s, 0);
}
