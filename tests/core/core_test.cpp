#include <gtest/gtest.h>

#include "floorgate/core/check.hpp"
#include "floorgate/core/clock.hpp"
#include "floorgate/core/event_class.hpp"
#include "floorgate/core/route.hpp"
#include "floorgate/core/utf8.hpp"

namespace floorgate::core {
namespace {

TEST(EventClass, NamesRoundTripAndKeepTheirStoredNumbers) {
  // The numbers are on disk (one table per class): a reorder would misfile every row.
  EXPECT_EQ(index_of(EventClass::financial), 0u);
  EXPECT_EQ(index_of(EventClass::telemetry), 4u);
  for (std::size_t i = 0; i < kEventClassCount; ++i) {
    auto c = event_class_at(static_cast<std::int64_t>(i));
    ASSERT_TRUE(c);
    EXPECT_EQ(parse_event_class(to_string(*c)), c);
  }
  EXPECT_FALSE(parse_event_class("Financial"));
  EXPECT_FALSE(event_class_at(5));
  EXPECT_FALSE(event_class_at(-1));
  EXPECT_EQ(to_string(static_cast<EventClass>(9)), "unknown");
}

TEST(Route, EmptyListsSelectEverything) {
  Route all;
  EXPECT_TRUE(all.selects("e1", EventClass::telemetry, "meters.snapshot"));
  EXPECT_TRUE(all.selects("", EventClass::security, "x"));
}

TEST(Route, EachAxisMustMatch) {
  Route r{{"financial", "security"}, {"door.*", "bill.stacked"}, {"e1", "e2"}};
  EXPECT_TRUE(r.selects("e1", EventClass::security, "door.opened"));
  EXPECT_TRUE(r.selects("e2", EventClass::financial, "bill.stacked"));
  EXPECT_FALSE(r.selects("e3", EventClass::security, "door.opened"));
  EXPECT_FALSE(r.selects("e1", EventClass::fault, "door.opened"));
  EXPECT_FALSE(r.selects("e1", EventClass::financial, "bill.jam"));
}

TEST(Route, PrefixWildcardNeedsSomethingAfterTheDot) {
  EXPECT_TRUE(type_pattern_matches("tilt.*", "tilt.reel"));
  EXPECT_TRUE(type_pattern_matches("tilt.*", "tilt.reel.stuck"));
  EXPECT_FALSE(type_pattern_matches("tilt.*", "tilt"));
  EXPECT_FALSE(type_pattern_matches("tilt.*", "tilt."));
  EXPECT_FALSE(type_pattern_matches("tilt.*", "tiltx.reel"));
  EXPECT_TRUE(type_pattern_matches("*", "anything"));
  EXPECT_TRUE(type_pattern_matches("door.opened", "door.opened"));
  EXPECT_FALSE(type_pattern_matches("door.opened", "door.opened.x"));
}

TEST(Utf8, SequenceLengthAcceptsWellFormedOnly) {
  using namespace std::string_view_literals;
  EXPECT_EQ(utf8_sequence_length("a"sv, 0), 1u);
  EXPECT_EQ(utf8_sequence_length("\xC3\xA9"sv, 0), 2u);          // e acute
  EXPECT_EQ(utf8_sequence_length("\xE2\x82\xAC"sv, 0), 3u);      // euro sign
  EXPECT_EQ(utf8_sequence_length("\xF0\x9F\x8E\xB0"sv, 0), 4u);  // slot machine
  EXPECT_EQ(utf8_sequence_length("\xC0\xAF"sv, 0), 0u);          // overlong '/'
  EXPECT_EQ(utf8_sequence_length("\xED\xA0\x80"sv, 0), 0u);      // a surrogate
  EXPECT_EQ(utf8_sequence_length("\xF4\x90\x80\x80"sv, 0), 0u);  // above U+10FFFF
  EXPECT_EQ(utf8_sequence_length("\xE2\x82"sv, 0), 0u);          // cut short
  EXPECT_EQ(utf8_sequence_length("\xFF"sv, 0), 0u);               // never in UTF-8
}

TEST(ManualClock, MovesBothClocksAndStepsWallAlone) {
  ManualClock c(5000, 1'000'000);
  EXPECT_EQ(c.steady_ms(), 5000);
  EXPECT_EQ(c.unix_ms(), 1'005'000);
  c.advance(250);
  EXPECT_EQ(c.steady_ms(), 5250);
  EXPECT_EQ(c.unix_ms(), 1'005'250);
  c.step_wall(-3000);
  EXPECT_EQ(c.steady_ms(), 5250);
  EXPECT_EQ(c.unix_ms(), 1'002'250);
}

TEST(SystemClock, ReadsTheRealClocks) {
  const auto& c = system_clock();
  const auto s1 = c.steady_ms(), s2 = c.steady_ms();
  EXPECT_LE(s1, s2);
  EXPECT_GT(c.unix_ms(), 1'600'000'000'000);  // after 2020: a real wall clock
}

int g_reported = 0;
void count_report(std::string_view, const CheckSite&) { ++g_reported; }

#ifndef FLOORGATE_CHECK_ABORT
TEST(Check, ReleaseCountsAndReportsOncePerSite) {
  set_check_reporter(count_report);
  const auto before = check_failures();
  for (int i = 0; i < 3; ++i) FG_CHECK(i < 0, "impossible");
  EXPECT_EQ(check_failures(), before + 3);
  EXPECT_EQ(g_reported, 1);
  FG_CHECK(true, "holds");
  EXPECT_EQ(check_failures(), before + 3);
  set_check_reporter(nullptr);
}
#else
TEST(CheckDeathTest, DebugAbortsWithTheSite) {
  set_check_reporter(nullptr);
  EXPECT_DEATH(FG_CHECK(1 + 1 == 3, "arithmetic broke"), "invariant failed at .*arithmetic broke");
  FG_CHECK(true, "holds");
  EXPECT_EQ(check_failures(), 0u);
  (void)count_report;
}
#endif

}  // namespace
}  // namespace floorgate::core
