// History: per-minute points of the dashboard's last hour, fed with a manual clock.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "floorgate/gateway/history.hpp"

using floorgate::gateway::History;

TEST(History, OnePointPerMinuteWithRatesAndConsumerMaxima) {
  History h;
  const std::int64_t t0 = 1'800'000'000'000;  // a minute boundary (divisible by 60,000)
  // Minute 0: 10 events/s for 59 s; slot-mgmt's backlog peaks at 40 then falls.
  for (int s = 0; s < 60; ++s) {
    h.sample(t0 + s * 1000, 10u * s,
             {{"slot-mgmt", s == 30 ? 40u : 5u, s == 30 ? std::optional<std::int64_t>(12) : 2}});
  }
  // Minute 1: nothing new, nothing unacked.
  for (int s = 60; s < 120; ++s) h.sample(t0 + s * 1000, 590, {{"slot-mgmt", 0, std::nullopt}});
  auto p = h.points();
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].t_ms, t0);
  EXPECT_DOUBLE_EQ(p[0].events_per_s, 10.0);
  ASSERT_EQ(p[0].consumers.size(), 1u);
  EXPECT_EQ(p[0].consumers[0].unacked, 40u);
  EXPECT_EQ(*p[0].consumers[0].oldest_age_s, 12);
  EXPECT_EQ(p[1].t_ms, t0 + 60'000);
  EXPECT_DOUBLE_EQ(p[1].events_per_s, 0.0);
  EXPECT_EQ(p[1].consumers[0].unacked, 0u);
  EXPECT_FALSE(p[1].consumers[0].oldest_age_s);
  auto j = h.to_json();
  EXPECT_EQ(j.at("step_s").as_int64(), 60);
  const auto& last = j.at("points").as_array().at(1).as_object();
  EXPECT_TRUE(last.at("consumers").at("slot-mgmt").at("oldest_unacked_age_s").is_null());
}

TEST(History, KeepsTheLastHourAndCountsEveryEventOnce) {
  History h;
  const std::int64_t t0 = 1'800'000'000'000;
  std::uint64_t durable = 0;
  // Two hours at 3 events per 5 s sample: every minute's rate is 0.6/s, none counted twice
  // across a minute boundary.
  for (int s = 0; s <= 7200; s += 5) {
    h.sample(t0 + s * 1000LL, durable, {});
    durable += 3;
  }
  auto p = h.points();
  ASSERT_EQ(p.size(), History::kMinutes);
  EXPECT_EQ(p.back().t_ms, t0 + 7'200'000);  // the minute in progress
  EXPECT_EQ(p.front().t_ms, t0 + 7'200'000 - 59 * 60'000);
  for (std::size_t i = 0; i + 1 < p.size(); ++i) EXPECT_NEAR(p[i].events_per_s, 0.6, 1e-9) << i;
}
