// End to end with the real SQLite store and a real broker: three routed consumers over 100k
// events; broker crashes, a consumer outage and a gateway kill -9 with restart; retention held
// by a required consumer only.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>

#include "harness.hpp"
#include "mosquitto_broker.hpp"

namespace fg = floorgate::gateway;
namespace store = floorgate::store;
namespace json = boost::json;
using namespace floorgate::testing;
using namespace std::chrono_literals;

namespace {


std::unique_ptr<store::Store> open_store(const std::filesystem::path& p) {
  store::Options o;
  o.path = p;
  std::error_code ec;
  auto s = store::Store::open(o, ec);
  if (!s) ADD_FAILURE() << "open " << p << ": " << ec.message();
  return s;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Appends n events through the group-commit path and waits until all are durable.
std::vector<store::Record> append_all(store::Store& s, int n) {
  std::mutex mu;
  std::vector<store::Record> out;
  std::atomic<int> done{0};
  for (int i = 0; i < n; ++i) {
    auto r = make_event(i, "egm-" + std::to_string(i % 5));
    r.ts_gw_ms = now_ms();
    s.append(r, [&](std::error_code ec, const store::Record& stored) {
      if (!ec) {
        std::lock_guard l(mu);
        out.push_back(stored);
      }
      ++done;
    });
  }
  wait_until([&] { return done == n; }, 120s);
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.seq < b.seq; });
  return out;
}

TestClient::Options sub(int port, const std::string& name, std::size_t ack_every = 1) {
  TestClient::Options o;
  o.port = port;
  o.id = "e2e-" + name;
  o.subscriptions = {kTestRoot + "/c/" + name + "/#"};
  o.ack_topic = kTestRoot + "/ack/" + name;
  o.ack_every = ack_every;
  return o;
}

std::uint64_t unacked(store::Store& s, const std::string& name) {
  for (auto& c : s.stats().consumers)
    if (c.name == name) return c.unacked;
  return ~0ull;
}

}  // namespace

TEST(RealStore, ThreeRoutedConsumersHundredThousandEvents) {
  MosquittoBroker broker;
  TempDir dir;
  auto st = open_store(dir / "q.db");
  ASSERT_TRUE(st);
  store::Route slot, maint, analytics;
  slot.classes = {"financial", "security"};
  maint.types = {"door.*", "game.started"};
  analytics.egms = {"egm-1", "egm-3"};
  std::vector<fg::ConsumerOptions> cs = {consumer("slot", slot, 1000), consumer("maint", maint, 1000),
                                         consumer("analytics", analytics, 1000)};
  cs[2].required = false;
  for (auto& co : cs) co.ack_timeout = 60s;  // a loaded CI box: avoid needless resends
  TestClient a(sub(broker.port(), "slot", 100)), b(sub(broker.port(), "maint", 100)),
      c(sub(broker.port(), "analytics", 100));
  for (auto* t : {&a, &b, &c}) t->set_recording(false);  // 150k messages: keep only the seqs
  DeliveryHarness h(*st, mqtt_options(broker.port()), cs);
  const int kEvents = 100000;
  auto rows = append_all(*st, kEvents);
  ASSERT_EQ(rows.size(), static_cast<std::size_t>(kEvents));
  h.notify(rows.back().seq);
  std::map<std::string, std::set<std::uint64_t>> expected;
  for (auto& r : rows) {
    for (auto& co : cs)
      if (store::selects(co.route, r)) expected[co.name].insert(r.seq);  // the one matcher
  }
  int polls = 0;
  ASSERT_TRUE(wait_until(
      [&] {
        if (++polls % 20 == 0) a.ack_now(), b.ack_now(), c.ack_now();  // flush partial batches
        return a.distinct_count() >= expected["slot"].size() &&
               b.distinct_count() >= expected["maint"].size() &&
               c.distinct_count() >= expected["analytics"].size();
      },
      240s));
  EXPECT_EQ(a.distinct_seqs(), expected["slot"]);
  EXPECT_EQ(b.distinct_seqs(), expected["maint"]);
  EXPECT_EQ(c.distinct_seqs(), expected["analytics"]);
  ASSERT_TRUE(wait_until(
      [&] {
        a.ack_now(), b.ack_now(), c.ack_now();
        return unacked(*st, "slot") == 0 && unacked(*st, "maint") == 0 &&
               unacked(*st, "analytics") == 0;
      },
      30s));
  for (auto& sc : st->stats().consumers) {
    EXPECT_EQ(sc.unacked, 0u) << sc.name;
    EXPECT_EQ(sc.acked_upto, *expected[sc.name].rbegin()) << sc.name;
  }
  h.shutdown();
  st->close();
}

TEST(RealStore, OrderIsBySeqOnEveryStream) {
  MosquittoBroker broker;
  TempDir dir;
  auto st = open_store(dir / "q.db");
  ASSERT_TRUE(st);
  store::Route slot;
  slot.classes = {"financial"};
  TestClient a(sub(broker.port(), "slot", 10));
  DeliveryHarness h(*st, mqtt_options(broker.port()), {consumer("slot", slot, 50)});
  auto rows = append_all(*st, 2000);
  h.notify(rows.back().seq);
  ASSERT_TRUE(wait_until([&] { a.ack_now(); return a.distinct_count() == 500; }, 60s));
  // In order: every event first arrives after all lower seqs (resends restart from the cursor
  // and repeat, so they only ever go back to already-seen seqs).
  std::vector<std::uint64_t> order;
  std::set<std::uint64_t> seen;
  for (auto& m : a.messages())
    if (seen.insert(m.seq).second) order.push_back(m.seq);
  EXPECT_TRUE(std::is_sorted(order.begin(), order.end()));
  // And each resend run is itself ascending.
  std::uint64_t runs = 1;
  auto msgs = a.messages();
  for (std::size_t i = 1; i < msgs.size(); ++i) runs += msgs[i].seq <= msgs[i - 1].seq;
  EXPECT_LE(runs, 1 + h.stats().consumers.at(0).resends + h.stats().disconnects);
  for (auto& m : a.messages()) EXPECT_NE(m.topic.find("/financial/bill.stacked"), std::string::npos);
}

// A replay for a route that matches one event in tens of thousands: the store examines a
// bounded number of rows per read, so the replay must go on past stretches with no match
// instead of ending there.
TEST(RealStore, ReplayOfASparseRouteReachesEventsFarApart) {
  MosquittoBroker broker;
  TempDir dir;
  auto st = open_store(dir / "q.db");
  ASSERT_TRUE(st);
  store::Route rare;
  rare.egms = {"egm-rare"};
  TestClient a(sub(broker.port(), "rare", 1));
  DeliveryHarness h(*st, mqtt_options(broker.port()), {consumer("rare", rare, 50)});
  std::vector<std::uint64_t> rare_seqs;
  for (int round = 0; round < 2; ++round) {
    append_all(*st, 45000);  // egm-0..4: not on the route
    store::Record stored;
    ASSERT_FALSE(st->append_sync(make_event(round, "egm-rare"), &stored));
    rare_seqs.push_back(stored.seq);
  }
  h.notify(rare_seqs.back());
  ASSERT_TRUE(wait_until([&] { return a.distinct_count() == 2; }, 60s));
  ASSERT_TRUE(wait_until([&] { return unacked(*st, "rare") == 0; }, 30s));
  a.publish(kTestRoot + "/replay/rare", R"({"from_seq": 1})");
  ASSERT_TRUE(wait_until(
      [&] {
        std::set<std::uint64_t> replayed;
        for (auto& m : a.messages())
          if (m.replay) replayed.insert(m.seq);
        return replayed == std::set<std::uint64_t>(rare_seqs.begin(), rare_seqs.end());
      },
      60s))
      << "replayed only part of the sparse route";
  h.shutdown();
  st->close();
}

TEST(RealStore, RequiredConsumerHoldsRetentionNonRequiredDoesNot) {
  MosquittoBroker broker;
  TempDir dir;
  store::Options so;
  so.path = dir / "q.db";
  so.max_age = std::chrono::seconds(1);  // every row is old enough once the clock moves on
  so.retention_interval = std::chrono::hours(1);  // we run retention ourselves
  std::atomic<std::int64_t> clock{now_ms()};
  so.now_ms = [&] { return clock.load(); };
  std::error_code ec;
  auto st = store::Store::open(so, ec);
  ASSERT_TRUE(st) << ec.message();
  TestClient req(sub(broker.port(), "req"));
  req.set_acking(false);
  TestClient lazy(sub(broker.port(), "lazy"));
  lazy.set_acking(false);  // a non-required consumer that never acks
  auto creq = consumer("req", {}, 1000), clazy = consumer("lazy", {}, 1000);
  creq.ack_timeout = clazy.ack_timeout = 120s;
  clazy.required = false;
  DeliveryHarness h(*st, mqtt_options(broker.port()), {creq, clazy});
  auto rows = append_all(*st, 500);
  h.notify(rows.back().seq);
  ASSERT_TRUE(wait_until([&] { return req.count() == 500 && lazy.count() == 500; }, 30s));
  clock += 3600 * 1000;
  for (int i = 0; i < 5; ++i) ASSERT_FALSE(st->run_retention());
  EXPECT_EQ(st->stats().rows, 500u) << "the required consumer has acked nothing: nothing goes";
  req.set_acking(true);
  req.ack_now();
  ASSERT_TRUE(wait_until([&] { return unacked(*st, "req") == 0; }, 10s));
  for (int i = 0; i < 5; ++i) ASSERT_FALSE(st->run_retention());
  EXPECT_EQ(st->stats().rows, 0u) << "the non-required consumer must not hold retention";
  EXPECT_EQ(h.stats().consumers.at(1).acked_upto, 0u);
}

TEST(RealStore, BrokerCrashesConsumerOutageAndGatewayKill9LoseNothing) {
  MosquittoBroker broker;
  TempDir dir;
  auto runner = [&](std::uint64_t produce, const std::string& log) {
    return std::make_unique<ChildProcess>(
        std::vector<std::string>{build_path("tests/gateway_mqtt/floorgate-delivery-runner"),
                                 "--store", (dir / "q.db").string(), "--port",
                                 std::to_string(broker.port()), "--root", kTestRoot, "--produce",
                                 std::to_string(produce), "--rate", "2000", "--consumer",
                                 "all:window=500:ack_timeout_ms=10000", "--consumer",
                                 "ops:window=500:ack_timeout_ms=10000"},
        (dir / log).string(), (dir / log).string());
  };
  auto o1 = sub(broker.port(), "all", 20);
  o1.contiguous = true;
  TestClient all(o1);
  auto o2 = sub(broker.port(), "ops", 20);
  o2.contiguous = true;
  o2.clean = false;   // persistent session: the broker queues while it is offline
  o2.mqtt5 = false;   // (3.1.1: no session expiry property needed)
  TestClient ops(o2);
  for (auto* t : {&all, &ops}) t->set_recording(false);
  TestClient::Options wo;
  wo.port = broker.port();
  wo.id = "status-watcher";
  wo.subscriptions = {kTestRoot + "/status"};
  auto watcher = std::make_unique<TestClient>(wo);

  auto slurp = [&](const std::string& f) {
    std::ifstream in(dir / f);
    return std::string((std::istreambuf_iterator<char>(in)), {});
  };
  auto gw = runner(30000, "runner1.log");  // 15 s of production; killed mid-stream
  ASSERT_TRUE(wait_until([&] { return all.distinct_count() > 2000; }, 60s))
      << all.distinct_count() << " " << ops.distinct_count() << "\n" << slurp("runner1.log");
  broker.stop(SIGKILL);
  broker.start();
  ASSERT_TRUE(wait_until([&] { return all.distinct_count() > 5000; }, 60s));
  ops.go_offline();
  broker.stop(SIGKILL);
  broker.start();
  ASSERT_TRUE(wait_until([&] { return all.distinct_count() > 9000; }, 60s));
  ops.go_online();
  watcher = std::make_unique<TestClient>(wo);  // (re)subscribe after the broker restart
  ASSERT_TRUE(wait_until([&] { return watcher->count() >= 1; }, 10s));
  auto online = json::parse(watcher->messages().back().payload).as_object();
  ASSERT_EQ(online.at("state").as_string(), "online");
  std::string first_boot(online.at("boot_id").as_string());
  gw->kill(SIGKILL);  // mid-production: the rest of its events were never appended
  gw->wait();
  ASSERT_TRUE(wait_until([&] {
    for (auto& m : watcher->messages())
      if (m.payload.find("offline") != std::string::npos) return true;
    return false;
  }, 20s)) << "the Last Will announces the dead gateway";
  auto will = json::parse(watcher->messages().back().payload).as_object();
  EXPECT_EQ(will.at("boot_id").as_string(), first_boot);
  gw = runner(5000, "runner2.log");  // restart: resumes from the stored cursors, 5000 more
  std::uint64_t last = 0;
  ASSERT_TRUE(wait_until([&] {
    std::ifstream in(dir / "runner2.log");
    std::string text((std::istreambuf_iterator<char>(in)), {});
    std::smatch m;
    if (!std::regex_search(text, m, std::regex("produced last_seq=(\\d+)"))) return false;
    last = std::stoull(m[1]);
    return true;
  }, 60s));
  EXPECT_GT(last, 9000u);
  int polls = 0;
  ASSERT_TRUE(wait_until([&] {
    if (++polls % 50 == 0) all.ack_now(), ops.ack_now();
    return all.distinct_count() == last && ops.distinct_count() == last;
  }, 400s)) << all.distinct_count() << " / " << ops.distinct_count() << " of " << last;
  // Every seq 1..last reached both consumers (at least once).
  EXPECT_EQ(*all.distinct_seqs().rbegin(), last);
  EXPECT_EQ(*ops.distinct_seqs().rbegin(), last);
  auto status = json::parse(watcher->messages().back().payload).as_object();
  EXPECT_EQ(status.at("state").as_string(), "online");
  EXPECT_NE(status.at("boot_id").as_string(), first_boot);
  // Let the last acks reach the runner and commit: its health topic reports the cursors.
  TestClient::Options ho;
  ho.port = broker.port();
  ho.id = "health-watcher";
  ho.subscriptions = {kTestRoot + "/health"};
  TestClient health(ho);
  EXPECT_TRUE(wait_until([&] {
    all.ack_now(), ops.ack_now();
    auto msgs = health.messages();
    if (msgs.empty()) return false;
    auto h = json::parse(msgs.back().payload).as_object();
    for (auto& cv : h.at("consumers").as_array())
      if (cv.at("unacked").to_number<std::uint64_t>() != 0) return false;
    return true;
  }, 60s));
  gw->kill(SIGTERM);
  EXPECT_EQ(gw->wait(), 0);
  auto st = open_store(dir / "q.db");
  ASSERT_TRUE(st);
  for (auto& sc : st->stats().consumers) {
    EXPECT_EQ(sc.acked_upto, last) << sc.name;
    EXPECT_EQ(sc.unacked, 0u) << sc.name;
  }
}
