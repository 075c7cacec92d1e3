// Fault injection through the control socket, seen from the host side of the pty, and random
// floor traffic with meters that stay consistent with the ledger.
#include <gtest/gtest.h>

#include <regex>

#include "sim_harness.hpp"

using namespace floorgate::sim::testing;
namespace ft = floorgate::testing;

namespace {

bool crc_good(const Bytes& f) {
  return f.size() >= 3 && with_crc(Bytes(f.begin(), f.end() - 2)) == f;
}

}  // namespace

TEST(SimFault, CrcSilentBusyDelayGapDropAndClear) {
  SimProcess sim({"--egm", "1", "--no-chirp"});
  ASSERT_TRUE(sim.ready());
  Host host(sim.pty());
  Control ctl(sim.control());
  std::uint8_t filler = 0;
  auto fresh_lp = [&](const Bytes& f, std::size_t n, int ms = 2000) {
    host.gp(static_cast<std::uint8_t>(0x20 + (filler++ % 2)));  // break retry chains
    host.lp(f);
    return host.read(n, ms);
  };
  EXPECT_EQ(ctl.cmd("fault 1 crc 1"), "{\"ok\":true}");
  Bytes bad = fresh_lp({0x01, 0x1A}, 8);
  ASSERT_EQ(bad.size(), 8U);
  EXPECT_FALSE(crc_good(bad));
  ctl.cmd("fault 1 crc 0");
  EXPECT_TRUE(crc_good(fresh_lp({0x01, 0x1A}, 8)));

  ctl.cmd("fault 1 busy 1");
  EXPECT_EQ(fresh_lp({0x01, 0x1A}, 2), (Bytes{0x01, 0x00}));
  ctl.cmd("fault 1 busy 0");

  ctl.cmd("fault 1 silent 1");
  host.gp(1);
  EXPECT_TRUE(host.quiet(300));
  ctl.cmd("fault 1 silent 0");

  ctl.cmd("fault 1 delay 400");
  host.gp(0);
  host.gp(1);
  EXPECT_TRUE(host.read(1, 150).empty());      // nothing before the delay...
  EXPECT_EQ(host.read(1, 5000), Bytes{0x00});  // ...then the answer
  ctl.cmd("fault 1 delay 0");

  ctl.cmd("fault 1 gap 8");
  Bytes slow = fresh_lp({0x01, 0x1A}, 8, 5000);
  EXPECT_TRUE(crc_good(slow));  // every byte arrives, just stretched
  ctl.cmd("fault 1 drop 1");
  EXPECT_TRUE(fresh_lp({0x01, 0x1A}, 1, 300).empty());
  EXPECT_EQ(ctl.cmd("fault 1 clear"), "{\"ok\":true}");
  EXPECT_TRUE(crc_good(fresh_lp({0x01, 0x1A}, 8)));
}

TEST(SimFault, RandomTrafficKeepsMetersConsistentWithTheLedger) {
  SimProcess sim({"--egm", "1", "--egm", "2", "--rate", "40", "--seed", "7", "--no-chirp",
                  "--queue", "1000"});
  ASSERT_TRUE(sim.ready());
  Control ctl(sim.control());
  ASSERT_TRUE(ft::wait_until([&] { return ctl.ledger().size() > 60; }));
  // Meters first, then the ledger: traffic between the two reads only adds ledger entries.
  std::string meters = ctl.cmd("meters 1");
  auto ledger = ctl.ledger();
  int games = 0, stacked = 0;
  for (const auto& l : ledger) {
    if (l.find("\"address\":1,") == std::string::npos) continue;
    games += l.find("\"code\":\"7E\"") != std::string::npos;
    for (const char* c : {"47", "48", "49", "4A", "4B", "4C"}) {
      stacked += l.find(std::string("\"code\":\"") + c + "\"") != std::string::npos;
    }
  }
  std::smatch m;
  ASSERT_TRUE(std::regex_search(meters, m, std::regex("\"05\":(\\d+)")));
  int games_meter = std::stoi(m[1]);
  ASSERT_TRUE(std::regex_search(meters, m, std::regex("\"3E\":(\\d+)")));
  int stacker_meter = std::stoi(m[1]);
  // Traffic may run between the two reads: the ledger can only be ahead.
  EXPECT_GE(games, games_meter);
  EXPECT_GE(stacked, stacker_meter);
  EXPECT_LE(games - games_meter, 5);
  EXPECT_GT(games_meter, 0);
}
