// Machine behaviour through the bus: long polls against the published frames, meters moving
// with events, handpay queue, RTE mode, power cycle, overflow, scenario-independent options.
#include <gtest/gtest.h>

#include "bus_fixture.hpp"
#include "options.hpp"

using namespace floorgate::sim;
using floorgate::sim::testing::BusFixture;

namespace {

Bytes with_crc(Bytes f) {
  append_crc(f);
  return f;
}

BusFixture fixture_with(MachineConfig m) {
  BusFixture f;
  BusConfig cfg;
  cfg.target = "test";
  cfg.machines.push_back(std::move(m));
  f.make(cfg);
  return f;
}

}  // namespace

TEST(SimMachine, Lp54VersionAndSerialMatchesVector) {
  MachineConfig m;
  m.serial = "12345678";
  BusFixture f;
  BusConfig cfg;
  cfg.target = "t";
  cfg.machines.push_back(m);
  f.make(cfg);
  Bytes want{0x01, 0x54, 0x0B, '6', '0', '2', '1', '2', '3', '4', '5', '6', '7', '8', 0xCC, 0xDC};
  EXPECT_EQ(f.lp({0x01, 0x54}), want);
}

TEST(SimMachine, Lp1aCurrentCreditsMatchesVector) {
  MachineConfig m;
  m.meters[meter::kCurrentCredits] = 1234;
  BusFixture f;
  BusConfig cfg;
  cfg.target = "t";
  cfg.machines.push_back(m);
  f.make(cfg);
  EXPECT_EQ(f.lp({0x01, 0x1A}), (Bytes{0x01, 0x1A, 0x00, 0x00, 0x12, 0x34, 0x45, 0x2D}));
}

TEST(SimMachine, BillsMoveMetersAndLp48MatchesVector) {
  BusFixture f;
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(f.egm().bill(20).has_value());
  }
  EXPECT_FALSE(f.egm().bill(3).has_value());
  EXPECT_EQ(f.lp({0x01, 0x48}), (Bytes{0x01, 0x48, 0x37, 0x04, 0x00, 0x00, 0x00, 0x05, 0xE9, 0x39}));
  EXPECT_EQ(f.egm().meters().get(meter::kBillCredits), 10000U);  // $100 at 1 cent
  EXPECT_EQ(f.egm().meters().get(meter::kTotalDrop), 10000U);
  EXPECT_EQ(f.gp(1), Bytes{0x4A});  // $20 bill accepted
  Bytes lp20 = f.lp({0x01, 0x20});
  EXPECT_EQ(lp20, with_crc({0x01, 0x20, 0x00, 0x00, 0x01, 0x00}));  // $100 total
}

TEST(SimMachine, Lp2fWalksCodesOmitsUnsupportedAndUsesImpliedSizes) {
  MachineConfig m;
  m.meters[0x0D] = 12345;  // cents meter: 5 bytes
  m.meters[meter::kCoinIn] = 777;
  BusFixture f;
  BusConfig cfg;
  cfg.target = "t";
  cfg.machines.push_back(m);
  f.make(cfg);
  Bytes ans = f.lp({0x01, 0x2F, 0x05, 0x00, 0x00, 0x00, 0x99, 0x0D}, true);
  Bytes want{0x01, 0x2F, 0x0D, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 0x77,
             0x0D, 0x00, 0x00, 0x01, 0x23, 0x45};
  EXPECT_EQ(ans, with_crc(want));
  // LEN out of range: NACK. (A GP between: the same LP twice would be an implied NACK.)
  f.gp(1);
  EXPECT_EQ(f.lp({0x01, 0x2F, 0x02, 0x00, 0x00}, true), Bytes{0x81});
  // Another game: game number only.
  f.gp(1);
  Bytes other = f.lp({0x01, 0x2F, 0x03, 0x00, 0x01, 0x00}, true);
  EXPECT_EQ(other, with_crc({0x01, 0x2F, 0x02, 0x00, 0x01}));
}

TEST(SimMachine, Lp6fGivesExplicitSizesAndOmitsUnsupported) {
  MachineConfig m;
  m.meters[meter::kCoinIn] = 123456;
  BusFixture f = fixture_with(m);
  Bytes ans = f.lp({0x01, 0x6F, 0x06, 0x00, 0x00, 0x00, 0x00, 0x99, 0x01}, true);
  EXPECT_EQ(ans, with_crc({0x01, 0x6F, 0x09, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x12, 0x34,
                           0x56}));
  f.gp(1);
  EXPECT_EQ(f.lp({0x01, 0x6F, 0x03, 0x00, 0x00, 0x00}, true), Bytes{0x81});  // odd LEN
}

TEST(SimMachine, GamesMoveMetersAndBcdRollsOver) {
  MachineConfig m;
  m.meters[meter::kCoinIn] = 99'999'999;
  BusFixture f;
  BusConfig cfg;
  cfg.target = "t";
  cfg.machines.push_back(m);
  f.make(cfg);
  f.egm().game(2, 10);
  EXPECT_EQ(f.lp({0x01, 0x11}), with_crc({0x01, 0x11, 0x00, 0x00, 0x00, 0x01}));
  EXPECT_EQ(f.lp({0x01, 0x12}), with_crc({0x01, 0x12, 0x00, 0x00, 0x00, 0x10}));
  EXPECT_EQ(f.lp({0x01, 0x15}), with_crc({0x01, 0x15, 0x00, 0x00, 0x00, 0x01}));
  EXPECT_EQ(f.gp(1), Bytes{0x7E});
  EXPECT_EQ(f.gp(0), Bytes{});
  EXPECT_EQ(f.gp(1), Bytes{0x7F});
}

TEST(SimMachine, HandpayQueueServedBy1bAndDequeuedOnImpliedAck) {
  BusFixture f;
  f.egm().handpay(125000);  // $1,250.00 at 1 cent = 125000 credits
  f.egm().handpay(500);
  Bytes rec{0x01, 0x1B, 0x00, 0x40, 0x00, 0x00, 0x12, 0x50, 0x00, 0x00, 0x00, 0x00};
  rec.insert(rec.end(), 10, 0x00);
  rec.push_back(0xB1);
  rec.push_back(0x59);
  EXPECT_EQ(f.lp({0x01, 0x1B}), rec);
  EXPECT_EQ(f.lp({0x01, 0x1B}), rec);  // repeated 1B without a different poll: same record
  EXPECT_EQ(f.gp(1), Bytes{0x51});     // different poll: ACKs the 1B record
  Bytes second = f.lp({0x01, 0x1B});
  ASSERT_EQ(second.size(), 24U);
  EXPECT_EQ(second[7], 0x05);  // 500 credits: 00 00 00 05 00
  EXPECT_EQ(f.gp(1), Bytes{0x51});  // the second 51
  Bytes none = f.lp({0x01, 0x1B});
  EXPECT_EQ(none, with_crc([] {
              Bytes z{0x01, 0x1B};
              z.insert(z.end(), 20, 0x00);
              return z;
            }()));
  EXPECT_EQ(f.egm().meters().get(meter::kJackpot), 125500U);
  EXPECT_EQ(f.lp({0x01, 0x94}, true), (Bytes{0x01, 0x94, 0x00, 0xE1, 0x24}));
  EXPECT_EQ(f.gp(1), Bytes{0x52});
  EXPECT_EQ(f.lp({0x01, 0x94}, true)[2], 0x00);
  EXPECT_EQ(f.gp(1), Bytes{0x52});
  EXPECT_EQ(f.lp({0x01, 0x94}, true)[2], 0x02);  // not in handpay any more
}

TEST(SimMachine, RealTimeEventModeAnswersEventsInsteadOfLongPolls) {
  BusFixture f;
  EXPECT_EQ(f.lp({0x01, 0x0E, 0x02}, true), Bytes{0x81});  // invalid value: NACK
  EXPECT_EQ(f.gp(1), Bytes{0x00});
  EXPECT_EQ(f.lp({0x01, 0x0E, 0x01}, true), Bytes{0x01});
  EXPECT_EQ(f.gp(1), with_crc({0x01, 0xFF, 0x00}));  // nothing pending: 1C A5
  f.egm().bill(20);
  Bytes ev = with_crc({0x01, 0xFF, 0x4F, 0x37, 0x04, 0x00, 0x00, 0x00, 0x01});
  EXPECT_EQ(f.lp({0x01, 0x1A}), ev);  // event instead of the LP answer
  EXPECT_EQ(f.lp({0x01, 0x1A}), ev);  // repeating the LP is an implied NACK of the event
  EXPECT_EQ(f.gp(1), with_crc({0x01, 0xFF, 0x00}));  // different poll ACKs it
  EXPECT_TRUE(f.ledger.entries().back().acked);
  EXPECT_EQ(f.lp({0x01, 0x1A}).size(), 8U);  // reissued LP: the real answer
  f.egm().door(true);
  EXPECT_EQ(f.gp(0x01), with_crc({0x01, 0xFF, 0x11}));  // 14 A4 in the vector table
}

TEST(SimMachine, PowerCycleKeepsQueueAndRamClearZeroesMeters) {
  BusFixture f;
  f.egm().bill(100);
  f.egm().power_cycle(/*ram_clear=*/true);
  EXPECT_EQ(f.egm().meters().get(meter::kBillCredits), 0U);
  std::vector<std::uint8_t> codes;
  for (int i = 0; i < 4; ++i) {
    Bytes a = f.gp(1);
    ASSERT_EQ(a.size(), 1U);
    codes.push_back(a[0]);
    f.gp(0);
  }
  EXPECT_EQ(codes, (std::vector<std::uint8_t>{0x4C, 0x18, 0x17, 0x7A}));
}

TEST(SimMachine, OverflowRaises70AndLedgerMarksTheDropped) {
  MachineConfig m;
  m.queue_capacity = 3;
  BusFixture f = fixture_with(m);
  for (int i = 0; i < 5; ++i) f.egm().raise(0x11);
  EXPECT_EQ(f.gp(1), Bytes{0x70});  // priority
  int dropped = 0, seventies = 0;
  for (const LedgerEntry& e : f.ledger.entries()) {
    dropped += e.dropped;
    seventies += e.code == 0x70;
  }
  EXPECT_EQ(dropped, 2);
  EXPECT_EQ(seventies, 1);  // the flag merges while pending
  EXPECT_EQ(f.egm().queue().fifo_size(), 3U);
}

TEST(SimOptions, CommandLineBuildsBusesAndRejectsBadInput) {
  Options o;
  std::string err;
  ASSERT_TRUE(parse_options({"--pty", "/tmp/a", "--egm", "1", "--egm", "7", "--tcp",
                             "127.0.0.1:9", "--egm", "3", "--rate", "2", "--seed", "9"},
                            o, err))
      << err;
  ASSERT_EQ(o.sim.buses.size(), 2U);
  EXPECT_EQ(o.sim.buses[0].machines.size(), 2U);
  EXPECT_EQ(o.sim.buses[0].machines[1].address, 7);
  EXPECT_EQ(o.sim.buses[1].kind, "tcp");
  EXPECT_EQ(o.sim.rate, 2.0);
  EXPECT_EQ(o.sim.seed, 9U);
  Options bad;
  EXPECT_FALSE(parse_options({"--pty", "/tmp/a", "--egm", "200"}, bad, err));
  EXPECT_FALSE(parse_options({"--bogus"}, bad, err));
  EXPECT_FALSE(parse_options({"--rate"}, bad, err));
  for (const char* opt : {"--pty", "--tcp", "--egm", "--scenario", "--rate", "--seed",
                          "--control", "--sync-required", "--no-chirp", "--queue",
                          "--overflow", "--denom", "--help", "inject", "ledger", "power-cycle",
                          "fault", "meters", "handpay", "bill"}) {
    EXPECT_NE(usage().find(opt), std::string::npos) << opt;
  }
}
