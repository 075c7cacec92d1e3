// Delivery against a real Mosquitto with the in-memory store: routing, order, windows,
// acks, ack-timeout resend, replay, dead letters, status/health/live topics, broker restarts
// and the progress watchdog.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "fake_store.hpp"
#include "harness.hpp"
#include "mosquitto_broker.hpp"

namespace fg = floorgate::gateway;
using namespace floorgate::testing;
namespace json = boost::json;
namespace store = floorgate::store;
using namespace std::chrono_literals;

namespace {


std::vector<std::uint64_t> first_seen_order(const std::vector<Received>& msgs) {
  std::vector<std::uint64_t> out;
  std::set<std::uint64_t> seen;
  for (auto& m : msgs)
    if (!m.replay && seen.insert(m.seq).second) out.push_back(m.seq);
  return out;
}

std::uint64_t fill(FakeStore& store, int n, int offset = 0) {
  std::uint64_t last = 0;
  for (int i = 0; i < n; ++i) last = store.add(make_event(offset + i)).seq;
  return last;
}

}  // namespace

TEST(Delivery, RoutesInOrderWithUserPropertiesAndAcksAdvanceTheCursor) {
  MosquittoBroker broker;
  FakeStore store;
  TestClient sec(client_options(broker.port(), "security"));
  TestClient all(client_options(broker.port(), "all"));
  store::Route r;
  r.classes = {"security"};
  DeliveryHarness h(store, mqtt_options(broker.port()),
                    {consumer("security", r), consumer("all")});
  auto last = fill(store, 400);
  h.notify(last);
  ASSERT_TRUE(wait_until([&] { return all.distinct_count() == 400; }, 20s));
  ASSERT_TRUE(wait_until([&] { return sec.distinct_count() == 100; }, 20s));
  ASSERT_TRUE(wait_until([&] { return store.acked("all") == last; }, 10s));
  auto order = first_seen_order(all.messages());
  ASSERT_EQ(order.size(), 400u);
  EXPECT_TRUE(std::is_sorted(order.begin(), order.end()));
  for (auto& m : sec.messages()) {
    EXPECT_NE(m.topic.find("/c/security/"), std::string::npos);
    EXPECT_NE(m.topic.find("/security/door.opened"), std::string::npos) << m.topic;
  }
  // Each event's properties and payload are encoded once for both consumers: every message
  // carries its own event's ids, in the properties as in the payload.
  for (auto* c : {&sec, &all}) {
    for (auto& m : c->messages()) {
      const auto ev = boost::json::parse(m.payload).as_object();
      EXPECT_EQ(m.user_props.at("seq"), std::to_string(m.seq));
      EXPECT_EQ(m.user_props.at("schema"), "floorgate.event/1");
      EXPECT_EQ(m.user_props.at("egm"), ev.at("egm").as_string().c_str());
      EXPECT_EQ(m.user_props.at("egm_seq"),
                std::to_string(ev.at("egm_seq").to_number<std::uint64_t>()));
      EXPECT_EQ(m.user_props.at("epoch"),
                std::to_string(ev.at("epoch").to_number<std::uint64_t>()));
      EXPECT_EQ(m.user_props.count("replay"), 0u);
    }
  }
  // The last security event is i = 396 (seq 397): its cursor ends there.
  EXPECT_TRUE(wait_until([&] { return store.acked("security") == 397; }, 10s));
  auto st = h.stats();
  EXPECT_TRUE(st.connected);
  EXPECT_EQ(st.protocol, 5);
}

TEST(Delivery, WindowBoundsInflightUntilTheConsumerAcks) {
  MosquittoBroker broker;
  FakeStore store;
  TestClient c(client_options(broker.port(), "slow"));
  c.set_acking(false);
  auto opt = consumer("slow", {}, 10);
  opt.ack_timeout = 60s;
  DeliveryHarness h(store, mqtt_options(broker.port()), {opt});
  h.notify(fill(store, 100));
  ASSERT_TRUE(wait_until([&] { return c.count() == 10; }, 10s));
  // Three delivery ticks later (each pumps the consumer) the gateway still published only the
  // window: its own counter, not a wait for extra messages that should not come.
  const auto t0 = h.stats().ticks;
  ASSERT_TRUE(wait_until([&] { return h.stats().ticks >= t0 + 3; }, 10s));
  EXPECT_EQ(h.stats().consumers.at(0).published, 10u);
  EXPECT_EQ(c.count(), 10u);
  EXPECT_EQ(c.max_seq(), 10u);
  EXPECT_EQ(h.stats().consumers.at(0).inflight, 10u);
  EXPECT_EQ(store.acked("slow"), 0u);
  c.set_acking(true);
  c.ack_now();
  ASSERT_TRUE(wait_until([&] { return store.acked("slow") == 100; }, 10s));
}

TEST(Delivery, AckTimeoutResendsInOrderFromTheCursor) {
  MosquittoBroker broker;
  FakeStore store;
  TestClient c(client_options(broker.port(), "late"));
  c.set_acking(false);
  auto opt = consumer("late", {}, 5);
  opt.ack_timeout = 300ms;
  DeliveryHarness h(store, mqtt_options(broker.port()), {opt});
  h.notify(fill(store, 20));
  ASSERT_TRUE(wait_until([&] { return c.count() >= 10; }, 10s));
  auto msgs = c.messages();
  for (std::size_t i = 0; i < 10; ++i) EXPECT_EQ(msgs[i].seq, i % 5 + 1) << i;
  EXPECT_TRUE(wait_until([&] { return h.stats().consumers.at(0).resends >= 1; }, 5s));
  c.set_acking(true);
  c.ack_now();
  ASSERT_TRUE(wait_until([&] { return store.acked("late") == 20; }, 10s));
}

TEST(Delivery, ReplayIsFlaggedRateLimitedAndNeverMovesTheCursorBack) {
  MosquittoBroker broker;
  FakeStore store;
  TestClient c(client_options(broker.port(), "a"));
  auto opt = consumer("a");
  opt.replay_rate = 100;  // 200 events: about 2 s of replay
  DeliveryHarness h(store, mqtt_options(broker.port()), {opt});
  h.notify(fill(store, 300));
  ASSERT_TRUE(wait_until([&] { return store.acked("a") == 300; }, 10s));
  c.clear();
  c.publish(kTestRoot + "/replay/a", R"({"from_seq": 101})");
  ASSERT_TRUE(wait_until([&] { return h.stats().consumers.at(0).replay_active; }, 5s));
  // Live events keep flowing while the (slow) replay runs.
  h.notify(fill(store, 10, 300));
  ASSERT_TRUE(wait_until([&] { return store.acked("a") == 310; }, 10s));
  ASSERT_TRUE(wait_until([&] { return !h.stats().consumers.at(0).replay_active; }, 10s));
  auto replay_count = [&] {
    std::size_t n = 0;
    for (auto& m : c.messages()) n += m.replay;
    return n;
  };
  ASSERT_TRUE(wait_until([&] { return replay_count() >= 200; }, 10s));
  std::vector<std::uint64_t> replayed;
  for (auto& m : c.messages())
    if (m.replay) {
      replayed.push_back(m.seq);
      EXPECT_EQ(m.user_props.at("replay"), "true");
    }
  ASSERT_EQ(replayed.size(), 200u);
  // The live events were not queued behind the replay: they arrived before it finished.
  auto msgs = c.messages();
  auto live_at = std::find_if(msgs.begin(), msgs.end(), [](auto& m) { return m.seq == 310; });
  auto last_replay = std::find_if(msgs.rbegin(), msgs.rend(), [](auto& m) { return m.replay; });
  ASSERT_NE(live_at, msgs.end());
  EXPECT_LT(live_at - msgs.begin(), msgs.rend() - last_replay - 1);
  EXPECT_EQ(replayed.front(), 101u);
  EXPECT_EQ(replayed.back(), 300u);
  EXPECT_TRUE(std::is_sorted(replayed.begin(), replayed.end()));
  EXPECT_EQ(store.acked("a"), 310u);
  // "since" picks the first event at or after that wall time (ts_gw_ms = base + i).
  c.clear();
  c.publish(kTestRoot + "/replay/a", R"({"since": "2025-11-22T19:37:30.305Z"})");
  ASSERT_TRUE(wait_until([&] { return c.count() == 5; }, 10s));
  EXPECT_EQ(c.messages().front().seq, 306u);
  EXPECT_EQ(store.acked("a"), 310u);
}

TEST(Delivery, NackDeadLettersAndRedeliversOnRequest) {
  MosquittoBroker broker;
  FakeStore store;
  TestClient c(client_options(broker.port(), "a"));
  c.set_acking(false);
  DeliveryHarness h(store, mqtt_options(broker.port()), {consumer("a")});
  h.notify(fill(store, 10));
  ASSERT_TRUE(wait_until([&] { return c.count() == 10; }, 10s));
  c.publish(kTestRoot + "/ack/a", R"({"nack": 4, "reason": "cannot parse attrs"})");
  ASSERT_TRUE(wait_until([&] { return store.dead_letters("a").size() == 1; }, 5s));
  EXPECT_EQ(store.dead_letters("a")[0].seq, 4u);
  EXPECT_EQ(store.dead_letters("a")[0].reason, "cannot parse attrs");
  // The stream is not blocked by the poison event: the consumer acks past it.
  c.set_acking(true);
  c.ack_now();
  ASSERT_TRUE(wait_until([&] { return store.acked("a") == 10; }, 5s));
  EXPECT_TRUE(wait_until([&] { return h.stats().consumers[0].nacks == 1; }, 5s));  // snapshot
  c.clear();
  c.publish(kTestRoot + "/replay/a", R"({"redeliver_dead": true})");
  ASSERT_TRUE(wait_until([&] { return c.count() == 1; }, 5s));
  auto m = c.messages()[0];
  EXPECT_EQ(m.seq, 4u);
  EXPECT_TRUE(m.replay);
  EXPECT_NE(m.payload.find("\"dead_letter\":true"), std::string::npos);
  // Off the list once the broker has it (its PUBACK).
  EXPECT_TRUE(wait_until([&] { return store.dead_letters("a").empty(); }, 5s));
}

TEST(Delivery, StatusEgmStatusHealthAndLiveCopy) {
  MosquittoBroker broker;
  FakeStore store;
  auto opts = mqtt_options(broker.port());
  opts.live_copy = true;
  auto h = std::make_unique<DeliveryHarness>(store, opts, std::vector{consumer("a")});
  TestClient c(client_options(broker.port(), "a"));
  TestClient watcher({.port = broker.port(), .id = "watcher",
                      .subscriptions = {kTestRoot + "/status", kTestRoot + "/egm/+/status",
                                        kTestRoot + "/health", kTestRoot + "/live/#"}});
  fg::EgmStatusInfo info;
  info.egm = "bank3-07";
  info.link_up = true;
  info.protocol = "sas";
  info.serial = "S123";
  info.last_seen_ms = 1763840250000;
  h->on_loop([&] { h->delivery().publish_egm_status(info); });
  h->notify(fill(store, 4));
  auto find = [&](const std::string& suffix) {
    for (auto& m : watcher.messages())
      if (m.topic.ends_with(suffix)) return std::optional<Received>(m);
    return std::optional<Received>();
  };
  ASSERT_TRUE(wait_until([&] { return find("/health").has_value(); }, 5s));
  ASSERT_TRUE(wait_until([&] { return find("/live/egm-3/telemetry/meters.snapshot").has_value(); }, 5s));
  auto status = json::parse(find(kTestRoot + "/status")->payload).as_object();
  EXPECT_EQ(status.at("state").as_string(), "online");
  EXPECT_EQ(status.at("boot_id").as_string(), h->delivery().boot_id());
  auto egm = json::parse(find("/egm/bank3-07/status")->payload).as_object();
  EXPECT_EQ(egm.at("link").as_string(), "up");
  EXPECT_EQ(egm.at("identity").at("serial").as_string(), "S123");
  auto health = json::parse(find("/health")->payload).as_object();
  EXPECT_EQ(health.at("consumers").as_array().size(), 1u);
  EXPECT_TRUE(health.at("broker").at("connected").as_bool());
  // Retained: a late subscriber sees online + egm status.
  TestClient late({.port = broker.port(), .id = "late",
                   .subscriptions = {kTestRoot + "/status", kTestRoot + "/egm/+/status"}});
  ASSERT_TRUE(wait_until([&] { return late.count() == 2; }, 5s));
  for (auto& m : late.messages()) EXPECT_TRUE(m.retained);
  // A clean stop leaves a retained "offline".
  auto boot = h->delivery().boot_id();
  h.reset();
  TestClient after({.port = broker.port(), .id = "after", .subscriptions = {kTestRoot + "/status"}});
  ASSERT_TRUE(wait_until([&] { return after.count() == 1; }, 5s));
  auto off = json::parse(after.messages()[0].payload).as_object();
  EXPECT_EQ(off.at("state").as_string(), "offline");
  EXPECT_EQ(off.at("boot_id").as_string(), boot);
}

TEST(Delivery, SurvivesTwoBrokerRestartsMidStreamWithoutLoss) {
  MosquittoBroker broker;
  FakeStore store;
  auto opt = consumer("a", {}, 200);
  opt.ack_timeout = 1s;
  DeliveryHarness h(store, mqtt_options(broker.port()), {opt});
  auto o = client_options(broker.port(), "a");
  o.contiguous = true;  // gets every event: acks only gap-free prefixes
  o.ack_every = 20;
  TestClient c(o);  // libmosquitto's own loop reconnects it after each restart
  std::uint64_t last = 0;
  for (int round = 0; round < 3; ++round) {
    last = fill(store, 3000, round * 3000);
    h.notify(last);
    if (round == 2) break;
    auto target = static_cast<std::size_t>(round * 3000 + 500);
    ASSERT_TRUE(wait_until([&] { return c.distinct_count() > target; }, 20s));
    broker.stop(SIGKILL);  // mid-stream crash
    broker.start();
  }
  ASSERT_TRUE(wait_until([&] { return store.acked("a") == last; }, 60s));
  EXPECT_EQ(c.distinct_count(), 9000u);
  EXPECT_GE(h.stats().disconnects, 2u);
  // Duplicates carry the same seq and payload.
  std::map<std::uint64_t, std::string> first;
  for (auto& m : c.messages()) {
    auto [it, fresh] = first.emplace(m.seq, m.payload);
    if (!fresh) {
      EXPECT_EQ(it->second, m.payload) << m.seq;
    }
  }
}

TEST(Delivery, ProgressWatchdogRecyclesAStalledBroker) {
  TempDir dir;
  int port = free_port();
  {
    std::ofstream conf(dir / "m.conf");
    conf << "listener " << port << " 127.0.0.1\nallow_anonymous true\nmax_queued_messages 100000\n";
  }
  ChildProcess broker({"mosquitto", "-c", (dir / "m.conf").string()}, (dir / "log").string(),
                      (dir / "log").string());
  ASSERT_TRUE(wait_until([&] { return port_open(port); }));
  FakeStore store;
  auto opts = mqtt_options(port);
  opts.stall_timeout = 1s;
  DeliveryHarness h(store, opts, {consumer("a")});
  ASSERT_TRUE(wait_until([&] { return h.stats().connected; }, 10s));
  ::kill(broker.pid(), SIGSTOP);  // connected but silent: no PUBACKs
  h.notify(fill(store, 50));
  EXPECT_TRUE(wait_until([&] { return h.stats().stall_recycles >= 1; }, 10s));
  EXPECT_FALSE(h.stats().connected);
  ::kill(broker.pid(), SIGCONT);
  TestClient c(client_options(port, "a"));
  ASSERT_TRUE(wait_until([&] { return store.acked("a") == 50; }, 30s));
}
