// Integration tests: the SAS driver against the real floorgate-egm-sim over ptys and TCP,
// comparing what reached the sink with the simulator's ledger.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <sstream>

#include "sas_sim_support.hpp"

using namespace floorgate::drivers::sas;
using namespace floorgate::drivers::sas::testing;
TEST(SasSim, PtyMultiDropScenarioMatchesLedger) {
  TempDir dir;
  std::string pty = (dir / "bus0").string();
  Sim sim(dir, {"--pty", pty, "--egm", "1", "--egm", "2", "--sync-required"});
  ASSERT_TRUE(sim.ready()) << sim.log();
  Rig rig;
  rig.add(BusConfig::Link::pty, pty, {1, 2});
  rig.start();
  ASSERT_TRUE(rig.run_until([&] { return rig.all_up(); }, std::chrono::seconds(15)));
  for (const char* cmd : {"inject 1 11", "inject 1 12", "inject 1 28", "inject 1 27", "bill 1 20",
                          "handpay 1 12.50", "game 1 5 10", "door 2 open", "door 2 close",
                          "inject 2 1d", "power-cycle 2", "inject 1 7a"}) {
    auto r = sim.control(cmd);
    ASSERT_FALSE(r.empty());
    EXPECT_NE(r[0].find("\"ok\":true"), std::string::npos) << cmd << ": " << r[0];
  }
  EXPECT_TRUE(rig.run_until([&] { return all_acked(sim); }, std::chrono::seconds(20)));
  // The meters after the reset (7A) are read once the machine is quiet.
  EXPECT_TRUE(rig.run_until([&] {
    for (const auto& e : rig.sink.events) {
      if (e.egm == "egm-1" && e.type == "meters.snapshot" &&
          e.attrs_json.find("\"reset\":true") != std::string::npos) {
        return true;
      }
    }
    return false;
  }, std::chrono::seconds(20)));
  rig.stop();
  expect_sink_matches_ledger(rig.sink, sim.ledger());
  auto* bill = find_event(rig.sink, "bill.stacked");
  ASSERT_NE(bill, nullptr);
  EXPECT_NE(bill->attrs_json.find("\"value_cents\":2000"), std::string::npos) << bill->attrs_json;
  auto* hp = find_event(rig.sink, "handpay.pending");
  ASSERT_NE(hp, nullptr);
  EXPECT_NE(hp->attrs_json.find("\"amount_cents\":1250"), std::string::npos) << hp->attrs_json;
  EXPECT_EQ(rig.sink.count("power.lost"), 1u);
  EXPECT_EQ(rig.sink.count("power.applied"), 1u);
  EXPECT_EQ(rig.sink.count("meters.reset"), 1u);
  auto* door = find_event(rig.sink, "door.opened");
  ASSERT_NE(door, nullptr);
  EXPECT_NE(door->attrs_json.find("\"door\":\"main\""), std::string::npos);
  auto st = rig.status();
  EXPECT_EQ(st[0].sas_version, "602");
  EXPECT_TRUE(st[0].denomination_cents.has_value());
  EXPECT_FALSE(st[0].meters.empty());
}

// Issue 16.1: machines an earlier host left in real-time event mode, a gateway configured
// without RTE. Their `addr FF code .. CRC` answers are read as events, the configured mode is
// set again, and a machine switched back to RTE mid-run (another tool on the line) is caught
// the same way. Every implied-ACKed exception reaches the sink.
TEST(SasSim, MachinesLeftInRteModeLoseNothing) {
  TempDir dir;
  std::string pty = (dir / "bus0").string();
  Sim sim(dir, {"--pty", pty, "--egm", "1", "--egm", "2", "--rte"});
  ASSERT_TRUE(sim.ready()) << sim.log();
  auto control_ok = [&](const char* cmd) {
    auto r = sim.control(cmd);
    ASSERT_FALSE(r.empty()) << cmd;
    EXPECT_NE(r[0].find("\"ok\":true"), std::string::npos) << cmd << ": " << r[0];
  };
  // Waiting before the gateway starts: its very first answers are RTE frames.
  for (const char* cmd : {"inject 1 11", "inject 1 12", "bill 1 20", "inject 2 1d", "inject 2 1e"}) {
    control_ok(cmd);
  }
  Rig rig;
  rig.add(BusConfig::Link::pty, pty, {1, 2});  // real_time_events: false
  rig.start();
  auto settled = [&](std::uint64_t resyncs_of_2) {
    if (!rig.all_up() || !all_acked(sim)) return false;
    auto st = rig.status();
    return st[0].real_time_events_confirmed && st[1].real_time_events_confirmed &&
           st[1].rte_resyncs >= resyncs_of_2;
  };
  ASSERT_TRUE(rig.run_until([&] { return settled(1); }, std::chrono::seconds(20)));
  for (const auto& st : rig.status()) {
    EXPECT_FALSE(st.real_time_events) << st.id;
    EXPECT_GE(st.rte_resyncs, 1u) << st.id;
  }
  control_ok("rte 2 on");
  for (const char* cmd : {"door 2 open", "door 2 close", "bill 2 5", "inject 1 19"}) control_ok(cmd);
  ASSERT_TRUE(rig.run_until([&] { return settled(2); }, std::chrono::seconds(20)));
  rig.stop();
  EXPECT_FALSE(rig.status()[1].real_time_events);
  expect_sink_matches_ledger(rig.sink, sim.ledger());
  EXPECT_EQ(rig.sink.count("door.opened"), 4u);  // 11, 1D, door 2 open, 19
  EXPECT_EQ(rig.sink.count("bill.stacked"), 2u);
  auto* bill = find_event(rig.sink, "bill.stacked");
  ASSERT_NE(bill, nullptr);
  EXPECT_NE(bill->attrs_json.find("\"value_cents\":2000"), std::string::npos) << bill->attrs_json;
}

// Issue 16: a machine whose clock is two hours off is found at link-up (LP 7E), reported
// once (egm.clock_drift) and set (LP 7F); its clock then agrees with the gateway's.
TEST(SasSim, EgmClockIsReadAndSet) {
  TempDir dir;
  std::string pty = (dir / "bus0").string();
  Sim sim(dir, {"--pty", pty, "--egm", "4"});
  ASSERT_TRUE(sim.ready()) << sim.log();
  auto r = sim.control("clock 4 -7200");
  ASSERT_FALSE(r.empty());
  ASSERT_NE(r[0].find("\"ok\":true"), std::string::npos) << r[0];
  Rig rig;
  rig.add(BusConfig::Link::pty, pty, {4});
  rig.start();
  ASSERT_TRUE(rig.run_until([&] {
    auto st = rig.status();
    return st[0].clock_drift_ms && std::llabs(*st[0].clock_drift_ms) <= 2000 &&
           rig.sink.count("egm.clock_drift") >= 1;
  }, std::chrono::seconds(20)));
  rig.stop();
  EXPECT_EQ(rig.sink.count("egm.clock_drift"), 1u);
  auto* alarm = find_event(rig.sink, "egm.clock_drift");
  ASSERT_NE(alarm, nullptr);
  EXPECT_NE(alarm->attrs_json.find("\"drift_ms\":-72"), std::string::npos) << alarm->attrs_json;
}

// LP 21 against the simulator: ACK, then the signature on a later general poll while the
// machine keeps reporting its traffic; a software change is a mismatch. Ledger proof: the
// deferred answer going out ahead of exceptions costs none of them.
TEST(SasSim, RomSignatureIsCheckedWhileTrafficFlows) {
  TempDir dir;
  std::string pty = (dir / "bus0").string();
  Sim sim(dir, {"--pty", pty, "--egm", "5", "--rate", "3", "--seed", "11"});
  ASSERT_TRUE(sim.ready()) << sim.log();
  Rig rig;
  rig.add(BusConfig::Link::pty, pty, {5}, [&](BusConfig& c) {
    c.rom_file = (dir / "rom.txt").string();
    c.egms[0].rom_check_period = std::chrono::hours(24);
    c.egms[0].rom_seed = 0x1234;
  });
  rig.start();
  ASSERT_TRUE(rig.run_until([&] { return rig.sink.count("egm.rom_signature") >= 1; },
                            std::chrono::seconds(20)));
  auto r = sim.control("program 5 new software 2.0");
  ASSERT_FALSE(r.empty());
  ASSERT_NE(r[0].find("\"ok\":true"), std::string::npos) << r[0];
  ASSERT_EQ(rig.buses[0]->request_rom_check("egm-5"), "");
  ASSERT_TRUE(rig.run_until([&] { return rig.sink.count("egm.rom_signature_mismatch") >= 1; },
                            std::chrono::seconds(20)));
  rig.stop();
  auto* first = find_event(rig.sink, "egm.rom_signature");
  ASSERT_NE(first, nullptr);
  EXPECT_NE(first->attrs_json.find("\"seed\":\"0x1234\""), std::string::npos) << first->attrs_json;
  EXPECT_EQ(first->cls, floorgate::drivers::EventClass::security);
  auto* changed = find_event(rig.sink, "egm.rom_signature_mismatch");
  ASSERT_NE(changed, nullptr);
  EXPECT_NE(changed->attrs_json.find("\"expected\""), std::string::npos) << changed->attrs_json;
  EXPECT_EQ(rig.sink.count("egm.rom_signature_failed"), 0u);
  expect_sink_matches_ledger(rig.sink, sim.ledger());
}

// Issue 16 (4): a machine that answers 200 ms late (beyond the pty default of 150 ms, so its
// link would never come up) with 15 ms between bytes, next to a prompt one, under traffic.
// Its own timing (reply 400 ms, inter-byte 40 ms: generous, a pty on a loaded host adds
// jitter) reads it; the other keeps the link defaults. Ledger proof for both.
TEST(SasSim, PerMachineTimingServesASlowSplitAnswerer) {
  TempDir dir;
  std::string pty = (dir / "bus0").string();
  Sim sim(dir, {"--pty", pty, "--egm", "3", "--egm", "4", "--rate", "1", "--seed", "5"});
  ASSERT_TRUE(sim.ready()) << sim.log();
  for (const char* c : {"fault 3 delay 200", "fault 3 gap 15"}) {
    auto r = sim.control(c);
    ASSERT_FALSE(r.empty());
    ASSERT_NE(r[0].find("\"ok\":true"), std::string::npos) << c << ": " << r[0];
  }
  Rig rig;
  rig.add(BusConfig::Link::pty, pty, {3, 4}, [](BusConfig& c) {
    c.egms[0].timing.reply_timeout = std::chrono::milliseconds(400);
    c.egms[0].timing.inter_byte = std::chrono::milliseconds(40);
  });
  rig.start();
  ASSERT_TRUE(rig.run_until([&] { return rig.all_up(); }, std::chrono::seconds(30)));
  ASSERT_TRUE(rig.run_until([&] { return rig.sink.codes()[3].size() >= 4; }, std::chrono::seconds(30)));
  auto r = sim.control("rate 0");
  ASSERT_FALSE(r.empty());
  ASSERT_TRUE(rig.run_until([&] { return all_acked(sim); }, std::chrono::seconds(30)));
  rig.stop();
  auto st = rig.status();
  EXPECT_FALSE(st[0].serial.empty());
  expect_sink_matches_ledger(rig.sink, sim.ledger());
}

TEST(SasSim, TcpRandomTrafficMatchesLedger) {
  TempDir dir;
  int port = floorgate::testing::free_port();
  std::string hp = "127.0.0.1:" + std::to_string(port);
  Sim sim(dir, {"--tcp", hp, "--egm", "3", "--rate", "2", "--seed", "7"});
  ASSERT_TRUE(sim.ready()) << sim.log();
  Rig rig;
  rig.add(BusConfig::Link::tcp, hp, {3});
  rig.start();
  rig.run_for(std::chrono::seconds(8));
  rig.stop();
  auto ledger = sim.ledger();
  EXPECT_GT(acked_codes(ledger)[3].size(), 5u);
  expect_sink_matches_ledger(rig.sink, ledger);
  EXPECT_TRUE(rig.status()[0].link_up);
}

// Crash safety: a host process that received an event but never made it durable is killed;
// the EGM still holds the event and reports it to the next host.
TEST(SasSimScale, SixteenEgmsOnFourPtysAndFourOverTcpFor60s) {
  TempDir dir;
  std::vector<std::string> args;
  Rig rig;
  int addr = 10;
  std::vector<std::pair<std::string, std::vector<int>>> ptys;
  for (int b = 0; b < 4; ++b) {
    std::string p = (dir / ("bus" + std::to_string(b))).string();
    args.insert(args.end(), {"--pty", p});
    std::vector<int> addrs;
    for (int k = 0; k < 4; ++k, ++addr) {
      args.insert(args.end(), {"--egm", std::to_string(addr)});
      addrs.push_back(addr);
    }
    ptys.emplace_back(p, addrs);
  }
  std::vector<std::pair<std::string, int>> tcps;
  for (int t = 0; t < 4; ++t, ++addr) {
    std::string hp = "127.0.0.1:" + std::to_string(floorgate::testing::free_port());
    args.insert(args.end(), {"--tcp", hp, "--egm", std::to_string(addr)});
    tcps.emplace_back(hp, addr);
  }
  args.insert(args.end(), {"--rate", "1", "--seed", "3"});
  Sim sim(dir, args);
  ASSERT_TRUE(sim.ready()) << sim.log();
  for (auto& [p, addrs] : ptys) rig.add(BusConfig::Link::pty, p, addrs);
  for (auto& [hp, a] : tcps) rig.add(BusConfig::Link::tcp, hp, {a});
  rig.start();
  rig.run_for(std::chrono::seconds(60));
  rig.stop();
  auto ledger = sim.ledger();
  auto acked = acked_codes(ledger);
  EXPECT_EQ(acked.size(), 20u);
  std::size_t total = 0;
  for (auto& [a, v] : acked) total += v.size();
  EXPECT_GT(total, 200u);
  expect_sink_matches_ledger(rig.sink, ledger);
  for (const auto& s : rig.status()) EXPECT_EQ(s.link_transitions, 1u) << s.id;
}

namespace {
std::string slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), {});
}
}  // namespace

TEST(SasProbe, PrintsIdentityMetersThenEvents) {
  TempDir dir;
  std::string pty = (dir / "bus0").string();
  Sim sim(dir, {"--pty", pty, "--egm", "1"});
  ASSERT_TRUE(sim.ready()) << sim.log();
  sim.control("inject 1 11");
  std::string out = (dir / "probe.out").string(), err = (dir / "probe.err").string();
  ChildProcess probe({build_path("firmware-host/sas-probe/floorgate-sas-probe"), "--port", pty,
                      "--address", "1", "--seconds", "6"},
                     out, err);
  int st = probe.wait(std::chrono::seconds(20));
  ASSERT_TRUE(WIFEXITED(st)) << slurp(err);
  EXPECT_EQ(WEXITSTATUS(st), 0) << slurp(err);
  std::istringstream lines(slurp(out));
  std::string first, second;
  std::getline(lines, first);
  std::getline(lines, second);
  EXPECT_NE(first.find("\"identity\":{\"sas_version\":\"602\""), std::string::npos) << first;
  EXPECT_NE(first.find("\"denomination_cents\":1"), std::string::npos) << first;
  // The probe holds events back until the link-up snapshot, which is read once the machine
  // has reported its pending door event (6 s: identification, clock, RTE mode, the wait).
  EXPECT_NE(second.find("\"type\":\"meters.snapshot\""), std::string::npos) << second;
  std::string all = slurp(out);
  EXPECT_NE(all.find("\"type\":\"door.opened\",\"class\":\"security\""), std::string::npos) << all;
  EXPECT_NE(all.find("\"source\":\"sas:0x11\""), std::string::npos);
  EXPECT_NE(all.find("\"egm_seq\":"), std::string::npos);
}

// Issue 16 (5): --scan finds every address on the line with its identity and flags the one
// where two machines answer (their bytes collide); it sends no general poll, so an exception
// waiting in a machine is still unacknowledged afterwards.
TEST(SasProbe, ScanFindsMachinesAndFlagsTwoOnOneAddress) {
  TempDir dir;
  std::string pty = (dir / "bus0").string();
  Sim sim(dir, {"--pty", pty, "--egm", "3", "--egm", "5", "--egm", "5", "--egm", "6",
                "--shared-address"});
  ASSERT_TRUE(sim.ready()) << sim.log();
  ASSERT_FALSE(sim.control("inject 3 11").empty());
  std::string out = (dir / "probe.out").string(), err = (dir / "probe.err").string();
  ChildProcess probe({build_path("firmware-host/sas-probe/floorgate-sas-probe"), "--port", pty,
                      "--scan", "1-8", "--reply-timeout", "80"},
                     out, err);
  int st = probe.wait(std::chrono::seconds(60));
  ASSERT_TRUE(WIFEXITED(st)) << slurp(err);
  EXPECT_EQ(WEXITSTATUS(st), 0) << slurp(err);
  std::map<int, std::string> lines;
  std::istringstream in(slurp(out));
  std::string summary;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("{\"scan\":", 0) == 0) summary = line;
    else if (line.rfind("{\"address\":", 0) == 0) lines[std::stoi(line.substr(11))] = line;
  }
  ASSERT_EQ(lines.size(), 3u) << slurp(out);
  EXPECT_NE(lines[3].find("\"serial\":\"SIM3\""), std::string::npos) << lines[3];
  EXPECT_NE(lines[3].find("\"duplicate_suspected\":false"), std::string::npos) << lines[3];
  EXPECT_NE(lines[6].find("\"duplicate_suspected\":false"), std::string::npos) << lines[6];
  EXPECT_NE(lines[5].find("\"duplicate_suspected\":true"), std::string::npos) << lines[5];
  EXPECT_NE(summary.find("\"answering\":[3,5,6]"), std::string::npos) << summary;
  EXPECT_NE(summary.find("\"duplicate_suspected\":[5]"), std::string::npos) << summary;
  auto ledger = sim.ledger();
  ASSERT_EQ(ledger.size(), 1u);
  EXPECT_FALSE(ledger[0].acked) << "the scan must not take a machine's event";
}

TEST(SasProbe, FailsClearlyWhenNothingAnswers) {
  TempDir dir;
  std::string pty = (dir / "bus0").string();
  Sim sim(dir, {"--pty", pty, "--egm", "1", "--no-chirp"});
  ASSERT_TRUE(sim.ready()) << sim.log();
  std::string out = (dir / "probe.out").string(), err = (dir / "probe.err").string();
  ChildProcess probe({build_path("firmware-host/sas-probe/floorgate-sas-probe"), "--port", pty,
                      "--address", "2", "--seconds", "2"},
                     out, err);
  int st = probe.wait(std::chrono::seconds(20));
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), 1);
  EXPECT_NE(slurp(err).find("no answer from SAS address 2"), std::string::npos) << slurp(err);
  EXPECT_TRUE(slurp(out).empty());
}
