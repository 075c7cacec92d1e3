// Control-socket commands against the running simulator, checked through the pty as a host
// would see them: bills and meters, handpay flow, power cycle, game meters, errors.
#include <gtest/gtest.h>

#include <thread>

#include "sim_harness.hpp"

using namespace floorgate::sim::testing;

namespace {

struct Rig {
  Rig(std::vector<std::string> args = {"--egm", "1", "--no-chirp"})
      : sim(std::move(args)), host(sim.pty()), ctl(sim.control()) {}
  // GP with a sync poll before it, so every call is a fresh poll.
  Bytes gp(std::uint8_t addr) {
    host.gp(0);
    host.gp(addr);
    return host.read(1);
  }
  SimProcess sim;
  Host host;
  Control ctl;
};

}  // namespace

TEST(SimControl, BillRaisesExceptionAndMovesMeters) {
  Rig r;
  ASSERT_TRUE(r.ctl.ok());
  EXPECT_EQ(r.ctl.cmd("bill 1 20"), "{\"ok\":true,\"seq\":1}");
  EXPECT_EQ(r.ctl.cmd("bill 1 $100"), "{\"ok\":true,\"seq\":2}");
  EXPECT_EQ(r.gp(1), Bytes{0x4A});
  EXPECT_EQ(r.gp(1), Bytes{0x4C});
  std::string m = r.ctl.cmd("meters 1");
  EXPECT_NE(m.find("\"0B\":12000"), std::string::npos) << m;
  EXPECT_NE(m.find("\"24\":12000"), std::string::npos) << m;
  EXPECT_NE(m.find("\"3E\":2"), std::string::npos) << m;
  r.host.lp({0x01, 0x2F, 0x04, 0x00, 0x00, 0x0B, 0x24});
  // 2F: LEN, game, then (0B, 4 BCD) and (24, 4 BCD); the CRC is only checked on requests here.
  r.host.lp(with_crc({0x01, 0x2F, 0x04, 0x00, 0x00, 0x0B, 0x24}));
  Bytes ans = r.host.read(17);
  EXPECT_EQ(ans, with_crc({0x01, 0x2F, 0x0C, 0x00, 0x00, 0x0B, 0x00, 0x01, 0x20, 0x00, 0x24,
                           0x00, 0x01, 0x20, 0x00}));
}

TEST(SimControl, HandpayFlowThroughLongPolls) {
  Rig r;
  EXPECT_EQ(r.ctl.cmd("handpay 1 1,250.00"), "{\"ok\":true,\"seq\":1}");
  EXPECT_EQ(r.gp(1), Bytes{0x51});
  r.host.lp({0x01, 0x1B});
  Bytes rec = r.host.read(24);
  ASSERT_EQ(rec.size(), 24U);
  EXPECT_EQ(rec[3], 0x40);
  EXPECT_EQ(Bytes(rec.begin() + 4, rec.begin() + 9), (Bytes{0x00, 0x00, 0x12, 0x50, 0x00}));
  r.host.lp(with_crc({0x01, 0x94}));
  EXPECT_EQ(r.host.read(5), (Bytes{0x01, 0x94, 0x00, 0xE1, 0x24}));
  EXPECT_EQ(r.gp(1), Bytes{0x52});
  EXPECT_NE(r.ctl.cmd("meters 1").find("\"02\":125000"), std::string::npos);
}

TEST(SimControl, PowerCycleQueues18Then17AndRamClear7A) {
  Rig r;
  r.ctl.cmd("game 1 5 20");
  EXPECT_EQ(r.ctl.cmd("power-cycle 1 ram-clear"), "{\"ok\":true,\"seq\":3}");
  std::vector<std::uint8_t> codes;
  for (int i = 0; i < 6; ++i) codes.push_back(r.gp(1).at(0));
  EXPECT_EQ(codes, (std::vector<std::uint8_t>{0x7E, 0x7F, 0x18, 0x17, 0x7A, 0x00}));
  EXPECT_NE(r.ctl.cmd("meters 1").find("\"00\":0,"), std::string::npos);
  EXPECT_EQ(r.ctl.cmd("power-cycle 1 off=300"), "{\"ok\":true,\"off_ms\":300}");
  r.host.gp(0);
  r.host.gp(1);
  EXPECT_TRUE(r.host.quiet(100));  // dark
  EXPECT_TRUE(floorgate::testing::wait_until([&] { return r.gp(1) == Bytes{0x18}; }));
}

TEST(SimControl, GameMovesCoinMeters) {
  Rig r;
  r.ctl.cmd("game 1 25 100");
  r.ctl.cmd("game 1 25 0");
  r.host.lp({0x01, 0x19});
  Bytes m = r.host.read(24);
  ASSERT_EQ(m.size(), 24U);
  EXPECT_EQ(Bytes(m.begin() + 2, m.begin() + 6), (Bytes{0x00, 0x00, 0x00, 0x50}));   // coin in
  EXPECT_EQ(Bytes(m.begin() + 6, m.begin() + 10), (Bytes{0x00, 0x00, 0x01, 0x00}));  // coin out
  EXPECT_EQ(Bytes(m.begin() + 18, m.begin() + 22), (Bytes{0x00, 0x00, 0x00, 0x02}));  // games
}

TEST(SimControl, ErrorsAreJsonAndNeverFatal) {
  Rig r;
  for (const char* bad : {"", "inject", "inject 1", "inject 1 zz", "inject 99 11", "bill 1 3",
                          "bill 1 abc", "handpay 1 -5", "fault 1 crc 7", "fault 1 nope 1",
                          "power-cycle 1 sideways", "frobnicate 1", "meters 0"}) {
    std::string ans = r.ctl.cmd(bad);
    EXPECT_EQ(ans.rfind("{\"ok\":false,\"error\":", 0), 0U) << bad << " -> " << ans;
  }
  EXPECT_TRUE(r.sim.running());
  EXPECT_NE(r.ctl.cmd("status").find("\"addresses\":[1]"), std::string::npos);
  EXPECT_EQ(r.ctl.ledger().size(), 0U);
}

// `rate R` starts random traffic at run time and `rate 0` stops it (tests and benchmarks
// compare ledgers against what was delivered once the floor is quiet).
TEST(SimControl, RateStartsAndStopsRandomTraffic) {
  Rig r;
  for (const char* bad : {"rate", "rate x", "rate -1", "rate 5000", "rate 1 2"}) {
    std::string ans = r.ctl.cmd(bad);
    EXPECT_EQ(ans.rfind("{\"ok\":false,\"error\":", 0), 0U) << bad << " -> " << ans;
  }
  EXPECT_EQ(r.ctl.ledger().size(), 0U);
  EXPECT_EQ(r.ctl.cmd("rate 40"), "{\"ok\":true}");
  EXPECT_NE(r.ctl.cmd("status").find("\"rate\":40}"), std::string::npos) << r.ctl.cmd("status");
  ASSERT_TRUE(floorgate::testing::wait_until([&] { return r.ctl.ledger().size() >= 5; },
                                             std::chrono::seconds(10),
                                             std::chrono::milliseconds(50)));
  EXPECT_EQ(r.ctl.cmd("rate 0"), "{\"ok\":true}");
  // Stopped: the random source is off (commands and ticks share the simulator's one thread,
  // so none is half way), and from here only our own exceptions enter the ledger.
  EXPECT_NE(r.ctl.cmd("status").find("\"rate\":0}"), std::string::npos) << r.ctl.cmd("status");
  const auto stopped = r.ctl.ledger().size();
  ASSERT_EQ(r.ctl.cmd("door 1 open").rfind("{\"ok\":true", 0), 0U);
  ASSERT_EQ(r.ctl.cmd("door 1 close").rfind("{\"ok\":true", 0), 0U);
  EXPECT_EQ(r.ctl.ledger().size(), stopped + 2);
}
