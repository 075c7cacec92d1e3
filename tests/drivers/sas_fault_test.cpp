// Fault tests against the real simulator: CRC errors, dropped bytes, silence, overflow, BUSY
// and a killed host. Nothing the ledger shows as implied-ACKed may be missing from the sink.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include "sas_sim_support.hpp"

using namespace floorgate::drivers::sas;
using namespace floorgate::drivers::sas::testing;

TEST(SasSimFault, CrcCorruptionAndDroppedBytesLoseNothing) {
  TempDir dir;
  std::string pty = (dir / "bus0").string();
  Sim sim(dir, {"--pty", pty, "--egm", "4", "--rate", "2", "--seed", "11"});
  ASSERT_TRUE(sim.ready()) << sim.log();
  Rig rig;
  rig.add(BusConfig::Link::pty, pty, {4});
  rig.start();
  ASSERT_TRUE(rig.run_until([&] { return rig.all_up(); }, std::chrono::seconds(15)));
  sim.control("fault 4 crc 0.05");
  sim.control("fault 4 drop 0.03");
  rig.run_for(std::chrono::seconds(12));
  sim.control("fault 4 clear 0");
  rig.run_for(std::chrono::seconds(2));
  rig.stop();
  auto st = rig.status()[0];
  EXPECT_GT(st.retries, 0u);
  EXPECT_GT(st.crc_errors + st.timeouts, 0u);
  expect_sink_matches_ledger(rig.sink, sim.ledger());
}

TEST(SasSimFault, SilentMachineGoesDownAndComesBackWithItsEvents) {
  TempDir dir;
  std::string pty = (dir / "bus0").string();
  Sim sim(dir, {"--pty", pty, "--egm", "5", "--egm", "6"});
  ASSERT_TRUE(sim.ready()) << sim.log();
  Rig rig;
  rig.add(BusConfig::Link::pty, pty, {5, 6});
  rig.start();
  ASSERT_TRUE(rig.run_until([&] { return rig.all_up(); }, std::chrono::seconds(15)));
  sim.control("fault 5 silent 1");
  sim.control("inject 5 11");
  sim.control("inject 5 12");
  sim.control("inject 6 19");
  EXPECT_TRUE(rig.run_until([&] { return rig.sink.count("link.down") == 1; }, std::chrono::seconds(20)));
  EXPECT_EQ(rig.sink.count("door.opened"), 1u);  // the cashbox door on the healthy EGM
  sim.control("fault 5 silent 0");
  EXPECT_TRUE(rig.run_until([&] { return all_acked(sim) && rig.status()[0].link_up; },
                            std::chrono::seconds(20)));
  rig.run_for(std::chrono::milliseconds(500));
  rig.stop();
  EXPECT_EQ(rig.sink.count("link.up"), 3u);  // 5, 6, then 5 again
  EXPECT_EQ(rig.status()[0].link_transitions, 3u);
  expect_sink_matches_ledger(rig.sink, sim.ledger());
}

TEST(SasSimFault, ExceptionOverflowIsReportedAndMetersResynced) {
  TempDir dir;
  std::string pty = (dir / "bus0").string();
  Sim sim(dir, {"--pty", pty, "--egm", "7", "--queue", "4"});
  ASSERT_TRUE(sim.ready()) << sim.log();
  Rig rig;
  rig.add(BusConfig::Link::pty, pty, {7});
  rig.start();
  ASSERT_TRUE(rig.run_until([&] { return rig.all_up(); }, std::chrono::seconds(15)));
  rig.sink.hold = true;  // hold the bus: events pile up in the EGM
  sim.control("inject 7 11");
  ASSERT_TRUE(rig.run_until([&] { return !rig.sink.held.empty(); }, std::chrono::seconds(5)));
  for (int i = 0; i < 8; ++i) sim.control("inject 7 12");
  rig.sink.hold = false;
  for (auto& h : rig.sink.held) h({}, 1);
  rig.sink.held.clear();
  EXPECT_TRUE(rig.run_until([&] { return all_acked(sim); }, std::chrono::seconds(20)));
  // The meters are read again once the queue is drained (the next quiet general poll).
  auto resynced = [&] {
    for (const auto& e : rig.sink.events) {
      if (e.type == "meters.snapshot" &&
          e.attrs_json.find("exception_overflow") != std::string::npos) {
        return true;
      }
    }
    return false;
  };
  const bool resync = rig.run_until(resynced, std::chrono::seconds(20));
  rig.stop();
  EXPECT_EQ(rig.sink.count("egm.exception_overflow"), 1u);
  EXPECT_TRUE(resync) << [&] {
    std::string all;
    for (const auto& e : rig.sink.events) all += e.type + " " + e.attrs_json.substr(0, 80) + "\n";
    return all;
  }();
  expect_sink_matches_ledger(rig.sink, sim.ledger());
}

TEST(SasSimFault, BusyAnswersAreRetriedLater) {
  TempDir dir;
  std::string pty = (dir / "bus0").string();
  Sim sim(dir, {"--pty", pty, "--egm", "8"});
  ASSERT_TRUE(sim.ready()) << sim.log();
  sim.control("fault 8 busy 1");
  Rig rig;
  rig.add(BusConfig::Link::pty, pty, {8});
  rig.start();
  rig.run_for(std::chrono::seconds(3));
  EXPECT_GT(rig.status()[0].busy, 0u);
  EXPECT_TRUE(rig.status()[0].serial.empty());
  sim.control("fault 8 busy 0");
  EXPECT_TRUE(rig.run_until([&] { return rig.all_up(); }, std::chrono::seconds(15)));
  rig.stop();
}

TEST(SasSimFault, KilledHostLeavesTheEventWithTheEgm) {
  TempDir dir;
  std::string pty = (dir / "bus0").string();
  Sim sim(dir, {"--pty", pty, "--egm", "9"});
  ASSERT_TRUE(sim.ready()) << sim.log();
  std::string marker = (dir / "got-event").string();
  sim.control("inject 9 11");
  pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    asio::io_context io{1};
    RecordingSink sink(io);
    sink.hold = true;  // the "store" never commits
    BusConfig cfg;
    cfg.link = BusConfig::Link::pty;
    cfg.port = pty;
    cfg.egms.push_back(egm_cfg(9));
    Bus bus(io.get_executor(), cfg, sink);
    bus.start();
    auto guard = asio::make_work_guard(io);
    for (;;) {
      io.run_for(std::chrono::milliseconds(50));
      for (const auto& e : sink.events) {
        if (e.type == "door.opened") std::ofstream(marker) << "x";
      }
    }
  }
  bool got = wait_until([&] { return fs::exists(marker); }, std::chrono::seconds(15));
  ::kill(child, SIGKILL);
  int st = 0;
  ::waitpid(child, &st, 0);
  ASSERT_TRUE(got);
  auto ledger = sim.ledger();
  ASSERT_EQ(ledger.size(), 1u);
  EXPECT_FALSE(ledger[0].acked);
  Rig rig;  // the restarted host
  rig.add(BusConfig::Link::pty, pty, {9});
  rig.start();
  EXPECT_TRUE(rig.run_until([&] { return all_acked(sim); }, std::chrono::seconds(20)));
  rig.run_for(std::chrono::milliseconds(300));
  rig.stop();
  EXPECT_EQ(rig.sink.count("door.opened"), 1u);
  expect_sink_matches_ledger(rig.sink, sim.ledger());
}

// The TCP peer (a serial device server) restarts: the bus reconnects by itself, the link goes
// down and up again, and events of the new peer are captured.
TEST(SasSimFault, TcpPeerRestartIsSurvived) {
  TempDir dir;
  int port = floorgate::testing::free_port();
  std::string hp = "127.0.0.1:" + std::to_string(port);
  auto sim = std::make_unique<Sim>(dir, std::vector<std::string>{"--tcp", hp, "--egm", "12"});
  ASSERT_TRUE(sim->ready()) << sim->log();
  Rig rig;
  BusConfig cfg;
  cfg.link = BusConfig::Link::tcp;
  cfg.port = hp;
  cfg.link_down_after = 10;
  cfg.egms.push_back(egm_cfg(12));
  rig.buses.push_back(std::make_unique<Bus>(rig.io.get_executor(), cfg, rig.sink));
  rig.start();
  ASSERT_TRUE(rig.run_until([&] { return rig.all_up(); }, std::chrono::seconds(15)));
  sim->kill();
  sim.reset();
  EXPECT_TRUE(rig.run_until([&] { return rig.sink.count("link.down") == 1; }, std::chrono::seconds(20)));
  TempDir dir2;
  sim = std::make_unique<Sim>(dir2, std::vector<std::string>{"--tcp", hp, "--egm", "12"});
  ASSERT_TRUE(sim->ready()) << sim->log();
  sim->control("inject 12 1b");
  EXPECT_TRUE(rig.run_until([&] { return all_acked(*sim) && rig.status()[0].link_up; },
                            std::chrono::seconds(20)));
  rig.run_for(std::chrono::milliseconds(300));
  rig.stop();
  EXPECT_EQ(rig.sink.count("link.up"), 2u);
  EXPECT_EQ(rig.sink.count("bill.stacker_removed"), 1u);
  expect_sink_matches_ledger(rig.sink, sim->ledger());
}
