// Fault suite, network side: broker outage, required consumer outage, SIGKILL of the daemon 20
// times. Each case compares the simulator's ledger with what consumers received and checks that
// <root>/health reported the episode. FLOORGATE_FAULT_LONG=1 uses the full durations
// (broker 2 min, consumer 5 min); the default uses 15 s / 20 s so the fault label stays short.
#include <random>

#include "fault_support.hpp"

namespace floorgate::testing {
namespace {

using namespace std::chrono_literals;

// Waits until `consumer` got every analytics event of `classes` (by seq, from a snapshot taken
// before its file is read: traffic keeps running) and nothing outside its route.
void expect_route_complete(Floor& floor, const std::string& consumer,
                           std::initializer_list<const char*> classes) {
  auto in = [&](const std::string& cls) {
    for (const char* c : classes) {
      if (cls == c) return true;
    }
    return false;
  };
  // What analytics (every event) has now, of this route, must all reach the consumer.
  std::set<std::uint64_t> want, got;
  for (const auto& r : floor.received("analytics")) {
    if (in(r.cls)) want.insert(r.seq);
  }
  std::size_t outside = 0;
  bool ok = wait_until(
      [&] {
        got.clear();
        outside = 0;
        for (const auto& r : floor.received(consumer)) {
          got.insert(r.seq);
          outside += in(r.cls) ? 0 : 1;
        }
        return !want.empty() &&
               std::includes(got.begin(), got.end(), want.begin(), want.end());
      },
      60s, 1500ms);  // reading the consumers' files is heavy
  EXPECT_TRUE(ok) << consumer << " is missing events of its route";
  EXPECT_EQ(outside, 0u) << consumer << " got events outside its route";
}

TEST(FaultNetwork, BrokerStoppedAndRestartedLosesNothing) {
  Floor floor({.rate = 2});
  floor.start_all();
  HealthWatch health(floor, floor.broker().port());
  auto before = health.wait_for([](const auto& h) { return json_int(h, {"broker", "connects"}) >= 1; });
  ASSERT_TRUE(before) << "no health message before the outage";
  auto connects0 = json_int(*before, {"broker", "connects"});
  ASSERT_TRUE(wait_flowing(floor));

  floor.broker().stop(SIGKILL);
  // Down until the daemon has seen the loss and the machines raised events meanwhile.
  EXPECT_TRUE(wait_until([&] {
    const std::string log = floor.daemon_log();
    return log.find("mqtt: connection to ") != std::string::npos ||
           log.find("mqtt: disconnected from ") != std::string::npos;
  }, 60s, 200ms)) << floor.daemon_log();
  ASSERT_TRUE(hold_fault_for_events(floor, 150));
  floor.broker().start();
  health.ensure_running();

  // The health topic reports the episode: a later reconnect and the disconnect.
  auto after = health.wait_for(
      [&](const auto& h) {
        return json_int(h, {"broker", "connects"}) > connects0 &&
               json_int(h, {"broker", "disconnects"}) >= 1;
      },
      60s);
  EXPECT_TRUE(after) << "health never showed the reconnect\n" << floor.daemon_log();
  auto cmp = settle_and_compare(floor, "analytics");
  expect_no_loss(floor, cmp, 20);
  expect_route_complete(floor, "slot-mgmt", {"financial", "security"});
  expect_route_complete(floor, "maintenance", {"fault", "security"});
}

TEST(FaultNetwork, RequiredConsumerOfflineCatchesUpWithoutLoss) {
  Floor floor({.rate = 2});
  floor.start_all();
  HealthWatch health(floor, floor.broker().port());
  ASSERT_TRUE(wait_flowing(floor));

  floor.stop_consumer("slot-mgmt");
  ASSERT_TRUE(hold_fault_for_events(floor, 150));
  // While it is away, health shows its backlog growing old, and growing: events come in,
  // none leave, and there is no time-to-clear.
  auto during = health.wait_for([](const boost::json::object& h) {
    auto c = health_consumer(h, "slot-mgmt");
    return c && json_int(*c, {"unacked"}) > 0 && json_int(*c, {"oldest_unacked_age_ms"}) >= 5000 &&
           c->at("incoming_per_s").to_number<double>() > 0 &&
           c->at("backlog_growth_per_min").to_number<double>() > 0 && c->at("drain_eta_s").is_null();
  });
  EXPECT_TRUE(during) << "health never reported slot-mgmt's backlog growing";
  floor.start_consumer("slot-mgmt");

  ASSERT_TRUE(during);
  const auto during_ts = json_int(*during, {"ts_ms"});
  const auto during_unacked = json_int(*health_consumer(*during, "slot-mgmt"), {"unacked"});
  auto caught_up = health.wait_for(
      [&](const auto& h) {
        auto c = health_consumer(h, "slot-mgmt");
        return c && json_int(h, {"ts_ms"}) > during_ts &&
               json_int(*c, {"unacked"}) < during_unacked &&
               json_int(*c, {"oldest_unacked_age_ms"}) < 5000;
      },
      60s);
  EXPECT_TRUE(caught_up) << "health never showed slot-mgmt catching up";
  auto cmp = settle_and_compare(floor, "analytics");
  expect_no_loss(floor, cmp, 20);
  expect_route_complete(floor, "slot-mgmt", {"financial", "security"});
}

TEST(FaultNetwork, KillDaemonTwentyTimesUnderTrafficLosesNothing) {
  Floor floor({.rate = 3});
  floor.start_all();
  HealthWatch health(floor, floor.broker().port());
  std::mt19937 rng(20261122);
  std::uniform_int_distribution<int> more(1, 12);
  constexpr int kKills = 20;
  std::set<std::string> boot_ids;
  // Each kill lands after the restarted gateway committed and acknowledged a random number of
  // exceptions and published its health (a new boot id); the restart after the machines raised
  // a few more while it was down (they queue).
  std::size_t healths = 0;
  for (int i = 0; i < kKills; ++i) {
    ASSERT_TRUE(wait_acked(floor, static_cast<std::size_t>(more(rng))));
    ASSERT_TRUE(wait_until([&] { return health.messages().size() > healths; }, 60s, 100ms));
    healths = health.messages().size();
    floor.kill_daemon(SIGKILL);
    ASSERT_TRUE(hold_fault_for_events(floor, static_cast<std::size_t>(more(rng))));
    floor.start_daemon();
  }
  auto cmp = settle_and_compare(floor, "analytics");
  // SAS has no event ids: an exception committed just before a kill is re-reported by the EGM
  // after the restart (its implied ACK was never sent): at most a couple per kill and EGM.
  expect_no_loss(floor, cmp, 50, static_cast<std::size_t>(kKills * 5 * 2));
  // Health reports each restart with a new boot id.
  wait_until([&] {
    boot_ids.clear();
    for (const auto& h : health.messages()) {
      if (h.contains("boot_id") && h.at("boot_id").is_string()) {
        boot_ids.insert(h.at("boot_id").as_string().c_str());
      }
    }
    return boot_ids.size() >= 5;
  }, 20s, 500ms);
  EXPECT_GE(boot_ids.size(), 5u) << "health should show the restarts (new boot ids)";
}

}  // namespace
}  // namespace floorgate::testing
