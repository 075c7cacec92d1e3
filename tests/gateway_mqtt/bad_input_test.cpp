// Bad input on the ack and replay topics (issue 5 "Bad input"): every case is rejected with a
// counter and a log line, changes nothing, and the stream keeps working afterwards.
#include <gtest/gtest.h>

#include "fake_store.hpp"
#include "harness.hpp"
#include "mosquitto_broker.hpp"

namespace fg = floorgate::gateway;
using namespace floorgate::testing;
using namespace std::chrono_literals;

namespace {


struct BadInputCase {
  std::string name;
  std::string topic_suffix;  // after <root>/
  std::string payload;
  std::uint64_t fg::DeliveryStats::*counter;
};

class BadInput : public ::testing::TestWithParam<BadInputCase> {};

}  // namespace

TEST_P(BadInput, IsRejectedCountedAndChangesNothing) {
  const auto& tc = GetParam();
  MosquittoBroker broker;
  FakeStore store;
  TestClient::Options o;
  o.port = broker.port();
  o.id = "bad-input-sub";
  o.subscriptions = {kTestRoot + "/c/a/#"};
  TestClient c(o);  // does not ack by itself
  auto opts = mqtt_options(broker.port());
  opts.max_inbound_bytes = 1024;
  auto co = consumer("a");
  co.ack_timeout = 120s;  // no resends during the test
  DeliveryHarness h(store, opts, {co});
  for (int i = 0; i < 20; ++i) store.add(make_event(i));
  h.notify(20);
  ASSERT_TRUE(wait_until([&] { return c.count() == 20; }, 10s));
  // A valid ack first, so "backwards" has a cursor to go behind.
  c.publish(kTestRoot + "/ack/a", R"({"upto": 10})");
  ASSERT_TRUE(wait_until([&] { return store.acked("a") == 10; }, 10s));
  // stats() is a snapshot refreshed by the loop every 50 ms: let it catch up first.
  ASSERT_TRUE(wait_until([&] {
    auto s = h.stats();
    return s.connected && s.connects == 1 && s.consumers.at(0).acked_upto == 10;
  }, 10s));
  auto before = h.stats();
  c.clear();

  c.publish(kTestRoot + "/" + tc.topic_suffix, tc.payload);
  ASSERT_TRUE(wait_until([&] { return h.stats().rejected_inbound == before.rejected_inbound + 1; },
                         10s));
  auto after = h.stats();
  EXPECT_EQ(after.*(tc.counter), before.*(tc.counter) + 1);
  EXPECT_EQ(after.consumers[0].acked_upto, 10u);
  EXPECT_EQ(after.consumers[0].replay_active, false);
  EXPECT_EQ(store.acked("a"), 10u);
  EXPECT_TRUE(store.dead_letters("a").empty());
  EXPECT_TRUE(after.connected);
  EXPECT_EQ(after.connects, before.connects);
  // Nothing is (re)sent because of it: after three more delivery ticks (each pumps every
  // consumer and refreshes the snapshot) the gateway's own publish counters have not moved.
  ASSERT_TRUE(wait_until([&] { return h.stats().ticks >= after.ticks + 3; }, 10s));
  const auto later = h.stats();
  EXPECT_EQ(later.consumers[0].published, before.consumers[0].published);
  EXPECT_EQ(later.consumers[0].replayed, before.consumers[0].replayed);
  EXPECT_EQ(later.consumers[0].resends, before.consumers[0].resends);
  EXPECT_EQ(c.count(), 0u);
  for (auto& m : c.messages()) ADD_FAILURE() << "unexpected " << m.topic << " " << m.payload;
  // Still working: a good ack goes through.
  c.publish(kTestRoot + "/ack/a", R"({"upto": 20})");
  ASSERT_TRUE(wait_until([&] { return store.acked("a") == 20; }, 10s));
}

INSTANTIATE_TEST_SUITE_P(
    Cases, BadInput,
    ::testing::Values(
        BadInputCase{"malformed_json", "ack/a", "{\"upto\": 1", &fg::DeliveryStats::rejected_malformed},
        BadInputCase{"not_an_object", "ack/a", "[1,2,3]", &fg::DeliveryStats::rejected_malformed},
        BadInputCase{"wrong_type", "ack/a", R"({"upto": "15"})", &fg::DeliveryStats::rejected_malformed},
        BadInputCase{"negative", "ack/a", R"({"upto": -3})", &fg::DeliveryStats::rejected_malformed},
        BadInputCase{"replay_wrong_type", "replay/a", R"({"from_seq": true})",
                     &fg::DeliveryStats::rejected_malformed},
        BadInputCase{"replay_bad_date", "replay/a", R"({"since": "tuesday"})",
                     &fg::DeliveryStats::rejected_malformed},
        BadInputCase{"unknown_consumer", "ack/nobody", R"({"upto": 15})",
                     &fg::DeliveryStats::rejected_unknown_consumer},
        BadInputCase{"ack_beyond_sent", "ack/a", R"({"upto": 21})",
                     &fg::DeliveryStats::rejected_ack_beyond},
        BadInputCase{"nack_unsent", "ack/a", R"({"nack": 500, "reason": "x"})",
                     &fg::DeliveryStats::rejected_ack_beyond},
        BadInputCase{"ack_backwards", "ack/a", R"({"upto": 5})",
                     &fg::DeliveryStats::rejected_ack_backwards},
        BadInputCase{"replay_future_seq", "replay/a", R"({"from_seq": 1000000})",
                     &fg::DeliveryStats::rejected_replay_range},
        BadInputCase{"replay_future_time", "replay/a", R"({"since": "2999-01-01T00:00:00Z"})",
                     &fg::DeliveryStats::rejected_replay_range},
        BadInputCase{"oversized", "ack/a", "{\"upto\": 15, \"pad\": \"" + std::string(2000, 'x') + "\"}",
                     &fg::DeliveryStats::rejected_oversize},
        BadInputCase{"foreign_topic", "ack/a/extra", R"({"upto": 15})",
                     &fg::DeliveryStats::rejected_topic},
        BadInputCase{"foreign_topic_replay", "replay/a/b/c", R"({"from_seq": 1})",
                     &fg::DeliveryStats::rejected_topic}),
    [](const auto& p) { return p.param.name; });

TEST(BadInputRetention, ReplayFromBeforeRetentionIsRejected) {
  MosquittoBroker broker;
  FakeStore store;
  TestClient::Options o;
  o.port = broker.port();
  o.id = "retention-sub";
  o.subscriptions = {kTestRoot + "/c/a/#"};
  o.ack_topic = kTestRoot + "/ack/a";
  TestClient c(o);
  DeliveryHarness h(store, mqtt_options(broker.port()), {consumer("a")});
  for (int i = 0; i < 50; ++i) store.add(make_event(i));
  h.notify(50);
  ASSERT_TRUE(wait_until([&] { return store.acked("a") == 50; }, 10s));
  store.evict_upto(30);  // retention removed seq 1..30
  auto before = h.stats();
  c.clear();
  c.publish(kTestRoot + "/replay/a", R"({"from_seq": 10})");
  ASSERT_TRUE(wait_until([&] { return h.stats().rejected_replay_range == before.rejected_replay_range + 1; }, 10s));
  c.publish(kTestRoot + "/replay/a", R"({"since": "2000-01-01T00:00:00Z"})");
  ASSERT_TRUE(wait_until([&] { return h.stats().rejected_replay_range == before.rejected_replay_range + 2; }, 10s));
  EXPECT_EQ(c.count(), 0u);
  // From the oldest kept row is fine.
  c.publish(kTestRoot + "/replay/a", R"({"from_seq": 31})");
  ASSERT_TRUE(wait_until([&] { return c.count() == 20; }, 10s));
  EXPECT_EQ(store.acked("a"), 50u);
}

// Issue 17: 1,500 replay requests must not mean 1,500 full replays. A burst of three is
// served (each replacing the one before), the rest are rejected and counted; their log lines
// are limited too.
TEST(BadInputReplay, ReplayRequestFloodIsRateLimited) {
  MosquittoBroker broker;
  FakeStore store;
  TestClient::Options o;
  o.port = broker.port();
  o.id = "flood-sub";
  o.subscriptions = {kTestRoot + "/c/a/#"};
  o.ack_topic = kTestRoot + "/ack/a";
  TestClient c(o);
  DeliveryHarness h(store, mqtt_options(broker.port()), {consumer("a")});
  for (int i = 0; i < 20; ++i) store.add(make_event(i));
  h.notify(20);
  ASSERT_TRUE(wait_until([&] { return store.acked("a") == 20; }, 10s));
  auto before = h.stats();
  // QoS 0: the client keeps no in-flight state to tear down while the flood is still acked.
  for (int i = 0; i < 60; ++i) c.publish(kTestRoot + "/replay/a", R"({"from_seq": 1})", 0);
  ASSERT_TRUE(wait_until([&] {
    auto s = h.stats();
    return s.rejected_replay_rate >= before.rejected_replay_rate + 50;
  }, 10s)) << h.stats().rejected_replay_rate;
  auto s = h.stats();
  // At most the burst (plus what refilled while the flood arrived) got through.
  EXPECT_GE(s.rejected_replay_rate - before.rejected_replay_rate, 50u);
  EXPECT_GE(s.log_lines_suppressed, 30u);
  EXPECT_EQ(store.acked("a"), 20u);
}


