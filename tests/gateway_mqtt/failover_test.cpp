// Broker failover (issue 23): mqtt hosts lists two independent Mosquitto brokers. The first is
// killed under traffic: the gateway moves to the second, resumes from the cursor and loses
// nothing; it stays there when the first comes back (no moving back and forth).
#include <gtest/gtest.h>

#include <set>

#include "fake_store.hpp"
#include "harness.hpp"
#include "mosquitto_broker.hpp"

namespace fg = floorgate::gateway;
using namespace floorgate::testing;
using namespace std::chrono_literals;

namespace {

std::uint64_t add(FakeStore& store, int n, int offset) {
  std::uint64_t last = 0;
  for (int i = 0; i < n; ++i) last = store.add(make_event(offset + i)).seq;
  return last;
}

std::string address(const MosquittoBroker& b) { return "127.0.0.1:" + std::to_string(b.port()); }

TEST(Failover, FirstBrokerKilledMovesToSecondAndStaysLosingNothing) {
  MosquittoBroker first, second;
  FakeStore store;
  // One acking consumer on each broker: whichever the gateway uses serves the stream.
  TestClient on_first(client_options(first.port(), "a"));
  TestClient on_second(client_options(second.port(), "a"));
  auto mqtt = mqtt_options(first.port());
  mqtt.brokers = {{"127.0.0.1", first.port()}, {"127.0.0.1", second.port()}};
  DeliveryHarness h(store, mqtt, {consumer("a")});

  h.notify(add(store, 100, 0));
  ASSERT_TRUE(wait_until([&] { return store.acked("a") == 100; }, 20s));
  // The stats are a snapshot the loop refreshes each tick: wait for one that saw the acks.
  ASSERT_TRUE(wait_until([&] { return h.stats().consumers.at(0).acked_upto == 100; }, 20s));
  auto st = h.stats();
  EXPECT_EQ(st.broker, address(first));
  EXPECT_EQ(st.failovers, 0u);
  EXPECT_EQ(st.connects, 1u);  // both brokers up: it stayed on the first

  first.stop(SIGKILL);  // a broker crash: no clean close
  h.notify(add(store, 100, 100));
  ASSERT_TRUE(wait_until([&] { return store.acked("a") == 200; }, 30s));
  ASSERT_TRUE(wait_until([&] { return h.stats().consumers.at(0).acked_upto == 200; }, 20s));
  st = h.stats();
  EXPECT_EQ(st.broker, address(second));
  EXPECT_EQ(st.failovers, 1u);

  first.start();  // back, but the gateway has a working broker: it stays on the second
  ASSERT_TRUE(wait_until([&] { return on_first.connected(); }, 20s));
  h.notify(add(store, 100, 200));
  ASSERT_TRUE(wait_until([&] { return store.acked("a") == 300; }, 20s));
  ASSERT_TRUE(wait_until([&] { return h.stats().consumers.at(0).acked_upto == 300; }, 20s));
  st = h.stats();
  EXPECT_EQ(st.broker, address(second));
  EXPECT_EQ(st.failovers, 1u);
  EXPECT_EQ(st.connects, 2u);

  // Nothing lost: every seq reached a consumer on one broker or the other.
  std::set<std::uint64_t> seen = on_first.distinct_seqs();
  for (auto s : on_second.distinct_seqs()) seen.insert(s);
  for (std::uint64_t s = 1; s <= 300; ++s) EXPECT_TRUE(seen.count(s)) << "seq " << s << " lost";
  EXPECT_TRUE(on_first.distinct_seqs().count(1));    // the first part went through the first
  EXPECT_TRUE(on_second.distinct_seqs().count(300));  // the last part through the second
}

TEST(Failover, ASingleHostKeepsRetryingTheSameBroker) {
  MosquittoBroker only;
  FakeStore store;
  TestClient c(client_options(only.port(), "a"));
  DeliveryHarness h(store, mqtt_options(only.port()), {consumer("a")});
  h.notify(add(store, 10, 0));
  ASSERT_TRUE(wait_until([&] { return store.acked("a") == 10; }, 20s));
  only.stop(SIGKILL);
  ASSERT_TRUE(wait_until([&] { return h.stats().connect_failures >= 2; }, 20s));
  only.start();
  ASSERT_TRUE(wait_until([&] { return c.connected(); }, 20s));
  h.notify(add(store, 10, 10));
  ASSERT_TRUE(wait_until([&] { return store.acked("a") == 20; }, 20s));
  ASSERT_TRUE(wait_until([&] { return h.stats().consumers.at(0).acked_upto == 20; }, 20s));
  auto st = h.stats();
  EXPECT_EQ(st.broker, address(only));
  EXPECT_EQ(st.failovers, 0u);
}

}  // namespace
