// FloorState: the floor view's per-machine conditions from a sequence of events.
#include <gtest/gtest.h>

#include "floorgate/gateway/web/floor_state.hpp"

using floorgate::gateway::web::FloorState;

TEST(FloorState, DoorsHandpaysTiltsAndStackersComeAndGo) {
  FloorState f;
  f.apply("e1", "door.opened", R"({"door":"main"})", 100);
  f.apply("e1", "door.opened", R"({"door":"cash_box"})", 110);
  f.apply("e1", "door.closed", R"({"door":"main"})", 120);
  EXPECT_EQ(f.of("e1").doors_open, (std::set<std::string>{"cash_box"}));
  f.apply("e1", "handpay.pending", R"({"amount_cents":120000})", 130);
  f.apply("e1", "tilt.reel", "{}", 140);
  f.apply("e1", "bill.stacker_full", "{}", 150);
  const auto& c = f.of("e1");
  EXPECT_TRUE(c.handpay_pending);
  EXPECT_EQ(c.tilt, "tilt.reel");
  EXPECT_TRUE(c.stacker_full);
  EXPECT_EQ(c.last_type, "bill.stacker_full");
  EXPECT_EQ(c.last_ms, 150);
  f.apply("e1", "handpay.reset", "{}", 160);
  f.apply("e1", "tilt.cleared", "{}", 170);
  f.apply("e1", "bill.stacker_removed", "{}", 180);
  f.apply("e1", "door.closed", R"({"door":"cash_box"})", 190);
  EXPECT_FALSE(f.of("e1").handpay_pending);
  EXPECT_TRUE(f.of("e1").tilt.empty());
  EXPECT_FALSE(f.of("e1").stacker_full);
  EXPECT_TRUE(f.of("e1").doors_open.empty());
  // Another machine and an unknown one are apart; a door event without a name is "door".
  f.apply("e2", "door.opened", "not json", 200);
  EXPECT_EQ(f.of("e2").doors_open, (std::set<std::string>{"door"}));
  EXPECT_TRUE(f.of("nope").doors_open.empty());
  auto j = f.of("e2").to_json();
  EXPECT_EQ(j.at("doors_open").as_array().size(), 1u);
  EXPECT_TRUE(j.at("tilt").is_null());
}
