// Validates real published messages (events, replays, dead letters, live copies, status,
// EGM status, health) and the documented consumer messages against docs/schemas/.
#include <gtest/gtest.h>

#include "fake_store.hpp"
#include "harness.hpp"
#include "json_schema.hpp"
#include "mosquitto_broker.hpp"

namespace fg = floorgate::gateway;
namespace json = boost::json;
using namespace floorgate::testing;
using namespace std::chrono_literals;

namespace {


json::value schema(const std::string& name) {
  return SchemaCheck::load(std::string(FLOORGATE_SOURCE_DIR) + "/docs/schemas/" + name +
                           ".schema.json");
}

}  // namespace

TEST(Schemas, ValidatorCatchesViolations) {
  auto ev = schema("event");
  EXPECT_FALSE(SchemaCheck::validate(ev, json::parse("{}")).empty());
  auto ack = schema("ack");
  EXPECT_EQ(SchemaCheck::validate(ack, json::parse(R"({"upto": 5})")), "");
  EXPECT_EQ(SchemaCheck::validate(ack, json::parse(R"({"nack": 5, "reason": "x"})")), "");
  EXPECT_NE(SchemaCheck::validate(ack, json::parse(R"({"upto": "5"})")), "");
  EXPECT_NE(SchemaCheck::validate(ack, json::parse(R"({"upto": 5, "x": 1})")), "");
  auto rp = schema("replay");
  EXPECT_EQ(SchemaCheck::validate(rp, json::parse(R"({"from_seq": 5})")), "");
  EXPECT_EQ(SchemaCheck::validate(rp, json::parse(R"({"since": "2025-11-22T19:37:30.123Z"})")), "");
  EXPECT_EQ(SchemaCheck::validate(rp, json::parse(R"({"redeliver_dead": true})")), "");
  EXPECT_NE(SchemaCheck::validate(rp, json::parse(R"({"since": "tuesday"})")), "");
  EXPECT_NE(SchemaCheck::validate(rp, json::parse(R"({"redeliver_dead": false})")), "");
}

TEST(Schemas, PublishedMessagesConform) {
  MosquittoBroker broker;
  FakeStore store;
  TestClient::Options wo;
  wo.port = broker.port();
  wo.id = "schema-watcher";
  wo.subscriptions = {kTestRoot + "/#"};
  TestClient watch(wo);
  auto opts = mqtt_options(broker.port());
  opts.live_copy = true;
  auto h = std::make_unique<DeliveryHarness>(store, opts, std::vector{consumer("a")});
  fg::EgmStatusInfo info;
  info.egm = "bank3-07";
  info.link_up = false;
  info.protocol = "g2s";
  h->on_loop([&] { h->delivery().publish_egm_status(info); });
  info.egm = "bank3-08";
  info.last_seen_ms = 1763840250000;
  h->on_loop([&] { h->delivery().publish_egm_status(info); });
  for (int i = 0; i < 20; ++i) {
    auto r = make_event(i);
    if (i % 3 == 0) r.ts_egm_ms = 1763840240000 + i;
    store.add(r);
  }
  h->notify(20);
  ASSERT_TRUE(wait_until([&] { return store.acked("a") == 0 && watch.count() > 20; }, 10s));
  watch.publish(kTestRoot + "/ack/a", R"({"nack": 3, "reason": "test"})");
  watch.publish(kTestRoot + "/ack/a", R"({"upto": 20})");
  ASSERT_TRUE(wait_until([&] { return store.acked("a") == 20; }, 10s));
  watch.publish(kTestRoot + "/replay/a", R"({"from_seq": 15})");
  watch.publish(kTestRoot + "/replay/a", R"({"redeliver_dead": true})");
  ASSERT_TRUE(wait_until([&] {
    std::size_t health = 0, replays = 0;
    for (auto& m : watch.messages()) {
      health += m.topic.ends_with("/health");
      replays += m.payload.find("\"replay\":true") != std::string::npos;
    }
    return health >= 1 && replays >= 7;
  }, 10s));
  h.reset();  // the clean stop publishes "offline"
  ASSERT_TRUE(wait_until([&] {
    for (auto& m : watch.messages())
      if (m.topic == kTestRoot + "/status" && m.payload.find("offline") != std::string::npos)
        return true;
    return false;
  }, 10s));

  auto event = schema("event"), status = schema("status"), egm = schema("egm_status"),
       health = schema("health"), ack = schema("ack"), replay = schema("replay");
  std::map<std::string, int> seen;
  for (auto& m : watch.messages()) {
    const json::value* s = nullptr;
    std::string kind;
    if (m.topic.find("/c/a/") != std::string::npos || m.topic.find("/live/") != std::string::npos) {
      s = &event, kind = m.topic.find("/live/") != std::string::npos ? "live" : "event";
    } else if (m.topic == kTestRoot + "/status") {
      s = &status, kind = "status";
    } else if (m.topic.ends_with("/status")) {
      s = &egm, kind = "egm_status";
    } else if (m.topic.ends_with("/health")) {
      s = &health, kind = "health";
    } else if (m.topic.find("/ack/") != std::string::npos) {
      s = &ack, kind = "ack";
    } else if (m.topic.find("/replay/") != std::string::npos) {
      s = &replay, kind = "replay";
    }
    ASSERT_NE(s, nullptr) << "unexpected topic " << m.topic;
    boost::system::error_code ec;
    auto v = json::parse(m.payload, ec);
    ASSERT_FALSE(ec) << m.topic << ": " << m.payload;
    EXPECT_EQ(SchemaCheck::validate(*s, v), "") << m.topic << ": " << m.payload;
    ++seen[kind];
  }
  for (auto k : {"event", "live", "status", "egm_status", "health", "ack", "replay"})
    EXPECT_GT(seen[k], 0) << k;
}
