// End to end: Mosquitto, floorgate-egm-sim (pty + TCP machines), the floorgate daemon and
// three acknowledging consumers as real processes. The simulator's ledger is the truth.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <algorithm>
#include <set>
#include <thread>

#include "floor_fixture.hpp"
#include "http_client.hpp"
#include "ledger_check.hpp"
#include "money_run.hpp"

namespace floorgate::testing {
namespace {

using namespace std::chrono_literals;

// Drives a scripted slice of floor life through the simulator's control socket.
void play_scenario(SimControl& sim) {
  const char* commands[] = {
      "door 1 open", "door 1 close",  "bill 2 20",       "bill 5 100", "game 6 100 50",
      "inject 3 11", "inject 3 12",   "handpay 3 1250.00", "power-cycle 5", "door 6 open",
      "door 6 close", "bill 1 5",     "inject 2 28",     "game 1 20 0", "inject 6 2b"};
  for (const char* c : commands) {
    ASSERT_TRUE(sim.ok(c)) << c;
    ASSERT_TRUE(wait_handed_over(sim)) << "the gateway did not take what '" << c << "' raised";
  }
}

bool class_in(const std::string& cls, std::initializer_list<const char*> set) {
  for (const char* s : set) {
    if (cls == s) return true;
  }
  return false;
}

// Runs mosquitto_pub once (QoS 1: it returns after the broker handled the message).
int mqtt_pub(const Floor& floor, const std::vector<std::string>& auth, const std::string& topic,
             const std::string& message) {
  std::vector<std::string> argv = {"mosquitto_pub", "-h", "127.0.0.1", "-p",
                                   std::to_string(floor.broker_port()), "-q", "1", "-t", topic,
                                   "-m", message};
  argv.insert(argv.end(), auth.begin(), auth.end());
  ChildProcess p(argv, (floor.dir() / "pub.log").string(), (floor.dir() / "pub.log").string());
  return p.wait();
}

// Issue 17: one consumer (or a stranger) must not be able to move another consumer's cursor.
// The broker runs with the generated accounts and ACL. While slot-mgmt is offline,
// maintenance forges an ack and a replay for it, then sends a malformed ack on its own topic
// as a marker: once the gateway counted the marker, anything published before it that the
// broker let through would have been handled too. slot-mgmt's cursor has not moved.
TEST(E2E, NoConsumerCanAckOrReplayForAnother) {
  Floor floor;
  floor.start_all();
  floor.stop_consumer("slot-mgmt");
  for (const char* c : {"door 1 open", "door 1 close", "bill 2 20", "door 5 open", "bill 6 50"}) {
    ASSERT_TRUE(floor.sim().ok(c)) << c;
  }
  // analytics (every route) has them all: the highest seq is what a forger would ack.
  std::uint64_t last = 0;
  ASSERT_TRUE(wait_until([&] {
    std::size_t money_or_doors = 0;
    for (const auto& r : floor.received("analytics")) {
      last = std::max(last, r.seq);
      money_or_doors += r.cls == "financial" || r.cls == "security";
    }
    return money_or_doors >= 5;
  }, 30s));
  const std::vector<std::string> maintenance = {"-u", "maintenance", "-P",
                                                floor.password_of("maintenance")};
  const std::string ack = floor.root() + "/ack/slot-mgmt";
  const std::string forged = "{\"upto\": " + std::to_string(last) + "}";
  mqtt_pub(floor, maintenance, ack, forged);
  mqtt_pub(floor, maintenance, floor.root() + "/replay/slot-mgmt", "{\"from_seq\": 1}");
  EXPECT_NE(mqtt_pub(floor, {}, ack, forged), 0) << "an anonymous client got in";
  mqtt_pub(floor, {"-u", "monitor", "-P", floor.password_of("monitor")}, ack, forged);
  ASSERT_EQ(mqtt_pub(floor, maintenance, floor.root() + "/ack/maintenance", "marker, not json"), 0);
  boost::json::object health;
  ASSERT_TRUE(wait_until([&] {
    health = floor.latest_health();
    const auto* n = health.if_contains("rejected_inbound");
    return n && n->to_number<std::uint64_t>() >= 1;
  }, 30s)) << "the marker never reached the gateway";
  EXPECT_EQ(health.at("rejected_inbound").to_number<std::uint64_t>(), 1u)
      << "something besides the marker reached the gateway";
  bool seen = false;
  for (const auto& c : health.at("consumers").as_array()) {
    if (c.at("name").as_string() != "slot-mgmt") continue;
    seen = true;
    EXPECT_LT(c.at("acked_upto").to_number<std::uint64_t>(), last)
        << "slot-mgmt's cursor moved past events it never received";
  }
  EXPECT_TRUE(seen);
}

// Issue 17: nothing installed carries a known password. The embedded defaults have no web
// accounts; `floorgate user add` writes one, storing only a PBKDF2 hash, and keeps the
// previous file.
TEST(E2E, DefaultsHaveNoAccountsAndUserAddAndPasswdWriteAHash) {
  TempDir dir;
  const auto cfg = (dir / "floorgate.yaml").string();
  const std::string bin = build_path("firmware-host/floorgate/floorgate");
  ChildProcess print({bin, "--print-default-config"}, cfg, "");
  ASSERT_EQ(print.wait(), 0);
  auto defaults = Floor::read(cfg);
  EXPECT_EQ(defaults.find("password_hash"), std::string::npos) << defaults;
  ChildProcess add({"sh", "-c", "printf 'S3cret-pass\\n' | " + bin +
                                    " user add alice --role technician --config " + cfg},
                   (dir / "add.log").string(), (dir / "add.log").string());
  ASSERT_EQ(add.wait(), 0) << Floor::read(dir / "add.log");
  auto written = Floor::read(cfg);
  EXPECT_NE(written.find("alice"), std::string::npos) << written;
  EXPECT_NE(written.find("pbkdf2-sha256$"), std::string::npos);
  EXPECT_EQ(written.find("S3cret-pass"), std::string::npos);
  EXPECT_EQ(Floor::read(cfg + ".prev"), defaults);
  ChildProcess check({bin, "--check-config", cfg}, (dir / "check.log").string(),
                     (dir / "check.log").string());
  EXPECT_EQ(check.wait(), 0) << Floor::read(dir / "check.log");
  // `user passwd` re-keys an existing account and keeps its role; an unknown name is refused.
  ChildProcess passwd({"sh", "-c", "printf 'An0ther-pass\\n' | " + bin +
                                       " user passwd alice --config " + cfg},
                      (dir / "passwd.log").string(), (dir / "passwd.log").string());
  ASSERT_EQ(passwd.wait(), 0) << Floor::read(dir / "passwd.log");
  auto rekeyed = Floor::read(cfg);
  EXPECT_NE(rekeyed, written);
  EXPECT_NE(rekeyed.find("role: technician"), std::string::npos) << rekeyed;
  EXPECT_NE(rekeyed.find("pbkdf2-sha256$"), std::string::npos);
  EXPECT_EQ(rekeyed.find("An0ther-pass"), std::string::npos);
  EXPECT_EQ(Floor::read(cfg + ".prev"), written);
  ChildProcess nobody({"sh", "-c", "printf 'x\\n' | " + bin + " user passwd carol --config " + cfg},
                      (dir / "nobody.log").string(), (dir / "nobody.log").string());
  const int nobody_status = nobody.wait();
  EXPECT_TRUE(WIFEXITED(nobody_status) && WEXITSTATUS(nobody_status) == 1);
  EXPECT_NE(Floor::read(dir / "nobody.log").find("no user 'carol'"), std::string::npos)
      << Floor::read(dir / "nobody.log");
  EXPECT_EQ(Floor::read(cfg), rekeyed);
  ChildProcess bad({"sh", "-c", "printf 'x\\n' | " + bin + " user add bob --role admin --config " + cfg},
                   (dir / "bad.log").string(), (dir / "bad.log").string());
  EXPECT_NE(bad.wait(), 0);
  EXPECT_NE(Floor::read(dir / "bad.log").find("--role viewer or --role technician"),
            std::string::npos);
}

TEST(E2E, EveryLedgerEventReachesEachConsumerItsRouteSelects) {
  Floor floor;
  floor.start_all();
  play_scenario(floor.sim());
  auto cmp = wait_for_ledger(floor, "analytics");
  EXPECT_GT(cmp.acked, 10u);
  EXPECT_EQ(cmp.missing, 0u) << cmp.detail << "\n" << floor.daemon_log();
  EXPECT_EQ(cmp.extras, 0u) << "no crash happened, so no SAS re-reports are expected";
  EXPECT_EQ(cmp.conflicting_duplicates, 0u);

  // Routes: slot-mgmt gets exactly the financial+security events, maintenance fault+security.
  // The routed consumers may still be receiving what analytics already has: wait until both
  // caught up (or the wait runs out and the comparison below says what differs). The machines
  // keep reporting (periodic meters, games), so the sets are compared up to the newest seq
  // analytics had once the ledger was complete: a later event may reach a routed consumer
  // before analytics (each consumer is its own stream), which is not a routing error.
  using Seqs = std::set<std::uint64_t>;
  std::uint64_t horizon = 0;
  for (const auto& r : floor.received("analytics")) horizon = std::max(horizon, r.seq);
  auto route_sets = [&](const std::vector<Received>& all, const std::string& consumer,
                        std::initializer_list<const char*> classes) {
    Seqs want, got;
    for (const auto& r : all) {
      if (r.seq <= horizon && class_in(r.cls, classes)) want.insert(r.seq);
    }
    for (const auto& r : floor.received(consumer)) {
      if (r.seq <= horizon) got.insert(r.seq);
    }
    return std::make_pair(want, got);
  };
  wait_until([&] {
    const auto all = floor.received("analytics");
    auto s = route_sets(all, "slot-mgmt", {"financial", "security"});
    auto m = route_sets(all, "maintenance", {"fault", "security"});
    return s.first == s.second && m.first == m.second;
  }, 30s);
  auto all = floor.received("analytics");
  auto expect_route = [&](const std::string& consumer, std::initializer_list<const char*> classes) {
    for (const auto& r : floor.received(consumer)) {
      EXPECT_TRUE(class_in(r.cls, classes)) << consumer << " got " << r.type << " " << r.cls;
    }
    const auto [want, got] = route_sets(all, consumer, classes);
    EXPECT_FALSE(want.empty());
    EXPECT_EQ(want, got) << consumer;
  };
  expect_route("slot-mgmt", {"financial", "security"});
  expect_route("maintenance", {"fault", "security"});

  // Per-EGM order: egm_seq grows with seq.
  std::map<std::string, std::uint64_t> last_egm_seq;
  std::set<std::uint64_t> seen;
  for (const auto& r : all) {
    if (!seen.insert(r.seq).second) continue;
    EXPECT_GT(r.egm_seq, last_egm_seq[r.egm]) << r.egm << " seq " << r.seq;
    last_egm_seq[r.egm] = r.egm_seq;
  }
}

// Issue 16 (6): ROM signatures (LP 21) are checked at link-up by default and on a technician's
// request from the web page; new software on a machine is a security event that reaches
// slot-mgmt and maintenance. The deferred LP 21 answers go out ahead of exceptions under
// traffic: the ledger proof shows they cost none.
TEST(E2E, RomSignatureMismatchOnRequestReachesSlotMgmt) {
  Floor floor(FloorOptions{.rate = 2, .web = true});
  floor.start_all();
  auto count = [&](const std::string& consumer, const std::string& type) {
    std::size_t n = 0;
    for (const auto& r : floor.received(consumer)) n += r.egm == "e2" && r.type == type;
    return n;
  };
  ASSERT_TRUE(wait_until([&] { return count("slot-mgmt", "egm.rom_signature") >= 1; }, 60s))
      << floor.daemon_log();
  ASSERT_TRUE(floor.sim().ok("program 2 new game software 4.1"));
  const int port = floor.web_port();
  auto view = web_login(port, "view");
  auto tech = web_login(port, "tech");
  ASSERT_FALSE(view.cookie.empty());
  ASSERT_FALSE(tech.cookie.empty());
  auto post = [&](const WebSession& s, const std::string& path) {
    return http_request(port, "POST", path, "",
                        {{"Cookie", s.cookie}, {"X-CSRF-Token", s.csrf},
                         {"Content-Type", "application/json"}});
  };
  EXPECT_EQ(post(view, "/api/egms/e2/rom-check").status, 403);
  EXPECT_EQ(post(tech, "/api/egms/nope/rom-check").status, 404);
  auto started = post(tech, "/api/egms/e2/rom-check");
  ASSERT_EQ(started.status, 202) << started.body;
  ASSERT_TRUE(wait_until([&] { return count("slot-mgmt", "egm.rom_signature_mismatch") == 1; }, 60s))
      << floor.daemon_log();
  ASSERT_TRUE(wait_until([&] { return count("maintenance", "egm.rom_signature_mismatch") == 1; }, 30s));
  auto detail = http_request(port, "GET", "/api/egms/e2", "", {{"Cookie", tech.cookie}});
  EXPECT_NE(detail.body.find("\"rom_signature\":\"0x"), std::string::npos) << detail.body;
  ASSERT_TRUE(floor.sim().ok("rate 0"));
  auto cmp = wait_for_ledger(floor, "analytics");
  EXPECT_GT(cmp.acked, 0u);
  EXPECT_EQ(cmp.missing, 0u) << cmp.detail;
  EXPECT_EQ(cmp.conflicting_duplicates, 0u);
  // Issue 21: probes for monitoring stacks, without a login; the build in /metrics.
  auto live = http_request(port, "GET", "/healthz", "", {});
  EXPECT_EQ(live.status, 200) << live.body;
  EXPECT_NE(live.body.find("\"status\":\"ok\""), std::string::npos) << live.body;
  ASSERT_TRUE(wait_until([&] { return http_request(port, "GET", "/readyz", "", {}).status == 200; }, 30s));
  auto metrics = http_request(port, "GET", "/metrics", "", {{"Cookie", tech.cookie}});
  EXPECT_NE(metrics.body.find("floorgate_build_info{version=\""), std::string::npos);
  EXPECT_NE(metrics.body.find("floorgate_consumer_acks_total{consumer=\"slot-mgmt\"}"), std::string::npos);
  // Issue 19: the store's commits (one WAL sync each), which the efficiency group divides by.
  auto commits_at = metrics.body.find("\nfloorgate_store_commits_total ");
  ASSERT_NE(commits_at, std::string::npos) << metrics.body;
  EXPECT_GT(std::stod(metrics.body.substr(commits_at + 31)), 0.0) << metrics.body;
  floor.broker().stop();
  ASSERT_TRUE(wait_until([&] { return http_request(port, "GET", "/readyz", "", {}).status == 503; }, 30s));
  auto not_ready = http_request(port, "GET", "/readyz", "", {});
  EXPECT_NE(not_ready.body.find("\"broker_connected\":false"), std::string::npos) << not_ready.body;
  EXPECT_EQ(http_request(port, "GET", "/healthz", "", {}).status, 200);  // alive all the same
}

TEST(E2E, SighupAddsAnEgmWithoutLosingEventsOfTheOthers) {
  Floor floor;
  floor.start_all();
  floor.start_traffic(std::chrono::milliseconds(50));
  // Start with e3 missing from the configuration, then add it by SIGHUP under traffic.
  auto without_e3 = floor.config_yaml();
  auto pos = without_e3.find("      - {id: e3");
  without_e3.erase(pos, without_e3.find('\n', pos) - pos + 1);
  auto changes = [&] {
    const std::string log = floor.daemon_log();
    std::size_t n = 0;
    for (auto at = log.find("bus bus0: changed"); at != std::string::npos;
         at = log.find("bus bus0: changed", at + 1)) {
      ++n;
    }
    return n;
  };
  floor.write_config(without_e3);
  floor.daemon().kill(SIGHUP);
  ASSERT_TRUE(wait_until([&] { return changes() >= 1; }, 30s, 100ms)) << floor.daemon_log();
  ASSERT_TRUE(wait_flowing(floor));  // the others keep reporting without e3
  auto e3_link_ups = [&] {
    std::size_t n = 0;
    for (const auto& r : floor.received("analytics")) n += r.egm == "e3" && r.type == "link.up";
    return n;
  };
  const std::size_t ups_before = e3_link_ups();
  floor.write_config(floor.config_yaml());
  floor.daemon().kill(SIGHUP);
  ASSERT_TRUE(wait_until([&] { return changes() >= 2; }, 30s, 100ms)) << floor.daemon_log();
  // e3 is polled again once the daemon reports its link up (again).
  ASSERT_TRUE(wait_until([&] { return e3_link_ups() > ups_before; }, 60s, 200ms))
      << floor.daemon_log();
  ASSERT_TRUE(floor.sim().ok("door 3 open"));
  floor.stop_traffic();
  auto cmp = wait_for_ledger(floor, "analytics");
  EXPECT_EQ(cmp.missing, 0u) << cmp.detail;
  EXPECT_EQ(cmp.conflicting_duplicates, 0u);
  bool e3_door = false;
  for (const auto& r : floor.received("analytics")) {
    e3_door = e3_door || (r.egm == "e3" && r.type == "door.opened");
  }
  EXPECT_TRUE(e3_door) << "the EGM added by SIGHUP reports";
  EXPECT_TRUE(floor.daemon().running());
}

TEST(E2E, InvalidConfigsAreRejectedWithOneClearError) {
  TempDir dir;
  int files = 0;
  for (const auto& f : std::filesystem::directory_iterator(FLOORGATE_SOURCE_DIR "/tests/config/invalid")) {
    auto text = Floor::read(f.path());
    auto expect_pos = text.find("# expect: ");
    ASSERT_NE(expect_pos, std::string::npos) << f.path();
    auto expect = text.substr(expect_pos + 10, text.find('\n', expect_pos) - expect_pos - 10);
    auto err = (dir / "err.txt").string();
    std::filesystem::remove(err);
    ChildProcess p({build_path("firmware-host/floorgate/floorgate"), "--config", f.path().string()},
                   (dir / "out.txt").string(), err);
    int st = p.wait();
    ASSERT_TRUE(WIFEXITED(st)) << f.path();
    EXPECT_NE(WEXITSTATUS(st), 0) << f.path();
    auto stderr_text = Floor::read(err);
    // "# expect: L:C: text": the error names the file and position, and says `text`.
    auto position = expect.substr(0, expect.find(": "));
    auto sentence = expect.substr(expect.find(": ") + 2);
    EXPECT_NE(stderr_text.find(f.path().string() + ":" + position + ": "), std::string::npos)
        << f.path() << "\nexpected at: " << position << "\ngot: " << stderr_text;
    EXPECT_NE(stderr_text.find(sentence), std::string::npos)
        << f.path() << "\nexpected: " << sentence << "\ngot: " << stderr_text;
    EXPECT_NE(stderr_text.find("(1 error(s))"), std::string::npos) << stderr_text;
    ++files;
  }
  EXPECT_GE(files, 15);
}

}  // namespace


// Issue 20: random floor traffic with money (tickets out and in, AFT both ways, handpays,
// progressives, bonuses, bills) through the daemon to slot-mgmt. Every money record the
// simulator's ledger shows acknowledged arrives with its amount and identifier; the clean run
// reconciles without a mismatch; two skims are found once each, and nothing else.
TEST(E2E, MoneyArrivesWithAmountsAndReconciliationFindsSkimsOnly) {
  Floor floor(money_floor_options(2));
  floor.start_all();
  const std::vector<Skim> skims = {{1, "e1", "bills", "40"}, {5, "e5", "aft_in", "15"}};
  MoneyRun run = run_money_floor(floor, 40, std::chrono::seconds(120), skims);
  EXPECT_TRUE(run.error.empty()) << run.error;
  EXPECT_GE(run.money_records, 40u);
  EXPECT_TRUE(run.missing.empty()) << ::testing::PrintToString(run.missing);
  EXPECT_EQ(run.false_mismatches, 0u);
  EXPECT_EQ(run.detected_skims, skims.size());
  EXPECT_EQ(run.extra_mismatches, 0u);
  EXPECT_GE(run.windows, 10u);
  // The mismatches are on the health topic's alarms too.
  auto health = floor.latest_health();
  ASSERT_TRUE(health.contains("egm_alarms")) << boost::json::serialize(health);
  EXPECT_EQ(health.at("egm_alarms").as_array().size(), 2u) << boost::json::serialize(health);
}

}  // namespace floorgate::testing

namespace floorgate::testing {

// Issue 21: the gateway signs its chain head (Ed25519 device key) and publishes it retained on
// <root>/chain; `floorgate store verify --anchor` checks the store against the collected heads
// and refuses a head that is not signed by the device or a row that is not the signed one.
TEST(E2E, SignedChainHeadsAnchorTheStore) {
  Floor floor(FloorOptions{.rate = 2});
  floor.start_all();
  ASSERT_TRUE(wait_until([&] { return floor.received("analytics").size() >= 20; }, 60s));
  floor.kill_daemon(SIGTERM);  // signs the head at shutdown
  const auto heads = floor.dir() / "heads.jsonl";
  ChildProcess sub({"mosquitto_sub", "-h", "127.0.0.1", "-p", std::to_string(floor.broker_port()),
                    "-u", "monitor", "-P", floor.password_of("monitor"), "-t",
                    floor.root() + "/chain", "-C", "1", "-W", "10"},
                   heads.string(), "");
  ASSERT_EQ(sub.wait(), 0);
  const std::string head = [&] {
    std::ifstream in(heads);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }();
  ASSERT_NE(head.find("\"schema\":\"floorgate.chain/1\""), std::string::npos) << head;
  const std::string db = (floor.dir() / "floorgate.db").string();
  auto run = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = {build_path("firmware-host/floorgate/floorgate"), "store", "verify",
                                     "--db", db};
    args.insert(args.end(), extra.begin(), extra.end());
    const auto out = floor.dir() / "verify.out";
    ChildProcess p(args, out.string(), out.string());
    const int st = p.wait();
    std::ifstream in(out);
    return std::make_pair(WIFEXITED(st) ? WEXITSTATUS(st) : -1,
                          std::string(std::istreambuf_iterator<char>(in), {}));
  };
  auto ok = run({"--anchor", heads.string()});
  EXPECT_EQ(ok.first, 0) << ok.second;
  EXPECT_NE(ok.second.find("matches 1 signed heads"), std::string::npos) << ok.second;
  // A head whose signature is not the device's.
  std::string forged = head;
  const auto sig = forged.find("\"sig\":\"") + 7;
  forged[sig] = forged[sig] == 'A' ? 'B' : 'A';
  std::ofstream(floor.dir() / "forged.jsonl") << forged;
  auto bad = run({"--anchor", (floor.dir() / "forged.jsonl").string()});
  EXPECT_EQ(bad.first, 1) << bad.second;
  EXPECT_NE(bad.second.find("bad signature"), std::string::npos) << bad.second;
  // The signed row rewritten (an attacker who recomputed the chain after an edit).
  const auto seq_at = head.find("\"seq\":") + 6;
  const std::string seq = head.substr(seq_at, head.find_first_of(",}", seq_at) - seq_at);
  ChildProcess edit({"sqlite3", db,
                     "UPDATE event_financial SET hash=zeroblob(32) WHERE seq=" + seq + ";"
                     "UPDATE event_security SET hash=zeroblob(32) WHERE seq=" + seq + ";"
                     "UPDATE event_fault SET hash=zeroblob(32) WHERE seq=" + seq + ";"
                     "UPDATE event_operational SET hash=zeroblob(32) WHERE seq=" + seq + ";"
                     "UPDATE event_telemetry SET hash=zeroblob(32) WHERE seq=" + seq + ";"},
                    "", "");
  ASSERT_EQ(edit.wait(), 0);
  auto edited = run({"--anchor", heads.string()});
  EXPECT_EQ(edited.first, 1) << edited.second;
  EXPECT_NE(edited.second.find("chain broken at seq " + seq), std::string::npos) << edited.second;
}

// Issue 21: `floorgate consumer reset` moves a consumer's cursor, audited. With the daemon
// running it goes through the control socket and the stream resends from the new cursor at
// once; with no daemon the tool moves the cursor in the file; both store a
// gateway.consumer_reset event in the chain, which still verifies.
TEST(E2E, ConsumerResetMovesTheCursorAuditedLiveAndOffline) {
  Floor floor;
  floor.start_all();
  for (int i = 0; i < 4; ++i) {
    floor.sim().command("door 1 open");
    floor.sim().command("door 1 close");
  }
  // Every door event of slot-mgmt received (and acked by the consumer as it goes).
  auto doors = [&] {
    std::vector<Received> out;
    for (auto& r : floor.received("slot-mgmt")) {
      if (r.type.rfind("door.", 0) == 0) out.push_back(r);
    }
    return out;
  };
  ASSERT_TRUE(wait_until([&] { return doors().size() >= 8; }, 60s)) << floor.daemon_log();
  const std::uint64_t to = doors()[1].seq;       // the 2nd door event: resend from the 3rd
  const std::uint64_t again = doors()[2].seq;
  const std::string db = (floor.dir() / "floorgate.db").string();
  const std::string bin = build_path("firmware-host/floorgate/floorgate");
  int runs = 0;
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.begin(), bin);
    const auto out = floor.dir() / ("cli-" + std::to_string(++runs) + ".out");
    ChildProcess p(args, out.string(), out.string());
    const int st = p.wait();
    return std::make_pair(WIFEXITED(st) ? WEXITSTATUS(st) : -1, Floor::read(out));
  };
  auto live = run({"consumer", "reset", "slot-mgmt", "--to", std::to_string(to), "--db", db});
  ASSERT_EQ(live.first, 0) << live.second << floor.daemon_log();
  EXPECT_NE(live.second.find("by the running daemon; audit event seq"), std::string::npos)
      << live.second;
  auto copies = [&](std::uint64_t seq) {
    std::size_t n = 0;
    for (auto& r : floor.received("slot-mgmt")) n += r.seq == seq ? 1 : 0;
    return n;
  };
  EXPECT_TRUE(wait_until([&] { return copies(again) >= 2; }, 30s))
      << "slot-mgmt was not sent seq " << again << " again after the reset";
  // The audit event reaches slot-mgmt (security) with who moved what.
  std::string audit;
  ASSERT_TRUE(wait_until([&] {
    for (auto& r : floor.received("slot-mgmt")) {
      if (r.type == "gateway.consumer_reset") audit = r.payload;
    }
    return !audit.empty();
  }, 30s));
  EXPECT_NE(audit.find("\"consumer\":\"slot-mgmt\""), std::string::npos) << audit;
  EXPECT_NE(audit.find("\"to_seq\":" + std::to_string(to) + ","), std::string::npos) << audit;
  EXPECT_NE(audit.find("\"direction\":\"back\""), std::string::npos) << audit;
  EXPECT_NE(audit.find("\"via\":\"control socket\""), std::string::npos) << audit;
  EXPECT_EQ(audit.find("\"by\":\"unknown\""), std::string::npos) << audit;
  // Refusals: an unknown consumer, a seq past the newest row.
  auto unknown = run({"consumer", "reset", "nobody", "--to", "1", "--db", db});
  EXPECT_EQ(unknown.first, 1) << unknown.second;
  EXPECT_NE(unknown.second.find("no consumer named 'nobody'"), std::string::npos) << unknown.second;
  auto beyond = run({"consumer", "reset", "analytics", "--to", "99999999", "--db", db});
  EXPECT_EQ(beyond.first, 1) << beyond.second;
  EXPECT_NE(beyond.second.find("outside the kept rows"), std::string::npos) << beyond.second;

  // No daemon: the tool moves the cursor in the file; the restarted daemon resends from it.
  floor.kill_daemon(SIGTERM);
  auto offline = run({"consumer", "reset", "analytics", "--to", "0", "--db", db});
  ASSERT_EQ(offline.first, 0) << offline.second;
  EXPECT_NE(offline.second.find("(no daemon running)"), std::string::npos) << offline.second;
  auto stats = run({"store", "stats", "--db", db});
  EXPECT_NE(stats.second.find("{\"name\":\"analytics\",\"acked\":0,"), std::string::npos)
      << stats.second;
  auto audits = run({"store", "export", "--db", db, "--type", "gateway.consumer_reset"});
  EXPECT_NE(audits.second.find("exported 2 events"), std::string::npos) << audits.second;
  EXPECT_NE(audits.second.find("\"via\":\"store file\""), std::string::npos) << audits.second;
  EXPECT_EQ(run({"store", "verify", "--db", db}).first, 0);
  const auto first_copies = copies(1) + [&] {
    std::size_t n = 0;
    for (auto& r : floor.received("analytics")) n += r.seq == 1 ? 1 : 0;
    return n;
  }();
  floor.start_daemon();
  EXPECT_TRUE(wait_until([&] {
    std::size_t n = 0;
    for (auto& r : floor.received("analytics")) n += r.seq == 1 ? 1 : 0;
    return copies(1) + n > first_copies;
  }, 30s)) << "analytics was not sent seq 1 again after the offline reset";
}

// Issue 22 (presence): a consumer announces itself (retained online on
// <root>/consumer/<name>/status, Last Will offline). Once it is gone the gateway sends it
// nothing and warns about nothing; the moment it is back its backlog goes out from the cursor
// (the log says so; no ack timeout is involved).
TEST(E2E, AnOfflineConsumerIsSentNothingAndGetsItsBacklogWhenBack) {
  Floor floor;
  floor.start_all();
  floor.stop_consumer("maintenance");
  floor.start_consumer("maintenance", {"--presence"});
  auto maintenance = [&](boost::json::object& h) -> const boost::json::object* {
    h = floor.latest_health();
    if (!h.contains("consumers")) return nullptr;
    for (const auto& c : h.at("consumers").as_array()) {
      if (c.as_object().at("name").as_string() == "maintenance") return &c.as_object();
    }
    return nullptr;
  };
  auto present_is = [&](bool want) {
    boost::json::object h;
    const auto* m = maintenance(h);
    return m && m->at("present").is_bool() && m->at("present").as_bool() == want;
  };
  ASSERT_TRUE(wait_until([&] { return present_is(true); }, 30s)) << floor.daemon_log();
  floor.sim().command("door 2 open");
  floor.sim().command("door 2 close");
  auto doors = [&](const std::string& consumer) {
    std::set<std::uint64_t> seqs;
    for (const auto& r : floor.received(consumer)) {
      if (r.type.rfind("door.", 0) == 0) seqs.insert(r.seq);
    }
    return seqs;
  };
  ASSERT_TRUE(wait_until([&] { return doors("maintenance").size() >= 2; }, 30s));

  // Gone without a word: the broker publishes its Last Will.
  floor.stop_consumer("maintenance", SIGKILL);
  ASSERT_TRUE(wait_until([&] { return present_is(false); }, 30s))
      << boost::json::serialize(floor.latest_health());
  const auto offline_at = floor.daemon_log().size();
  boost::json::object h;
  const std::uint64_t sent_before = maintenance(h)->at("sent_upto").to_number<std::uint64_t>();
  const std::int64_t offline_ms = h.at("ts_ms").to_number<std::int64_t>();
  for (int i = 0; i < 3; ++i) {
    floor.sim().command("door 3 open");
    floor.sim().command("door 3 close");
  }
  ASSERT_TRUE(wait_until([&] { return doors("slot-mgmt").size() >= 8; }, 30s));
  // The gateway's own clock past two of maintenance's ack timeouts (3 s) since it went offline,
  // with the new doors counted as unacked for it: nothing was published to it, no timeout fired.
  const std::uint64_t newest = *doors("slot-mgmt").rbegin();
  ASSERT_TRUE(wait_until([&] {
    const auto* m = maintenance(h);
    return m && h.at("ts_ms").to_number<std::int64_t>() > offline_ms + 7000 &&
           m->at("unacked").to_number<std::uint64_t>() >= 6;
  }, 60s));
  EXPECT_EQ(maintenance(h)->at("sent_upto").to_number<std::uint64_t>(), sent_before);
  EXPECT_EQ(floor.daemon_log().find("consumer maintenance did not ack", offline_at), std::string::npos)
      << floor.daemon_log().substr(offline_at);

  // Back: the backlog goes out at once, from the cursor.
  floor.start_consumer("maintenance", {"--presence"});
  EXPECT_TRUE(wait_until([&] { return doors("maintenance").count(newest) == 1; }, 30s));
  const std::string after = floor.daemon_log().substr(offline_at);
  EXPECT_NE(after.find("consumer maintenance is online; sending from seq"), std::string::npos) << after;
  EXPECT_EQ(after.find("consumer maintenance did not ack"), std::string::npos) << after;
  EXPECT_TRUE(present_is(true));
}

}  // namespace floorgate::testing
