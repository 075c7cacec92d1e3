// Link behaviour of one bus, sans-I/O with a manual clock: general polls, implied ACK/NACK,
// multi-drop, sync requirement, framing and resynchronisation, chirps, faults.
#include <gtest/gtest.h>

#include "bus_fixture.hpp"

using namespace floorgate::sim;
using floorgate::sim::testing::BusFixture;

TEST(SimBus, GeneralPollWithNothingPendingAnswersZero) {
  BusFixture f;
  EXPECT_EQ(f.gp(1), Bytes{0x00});
  EXPECT_EQ(f.gp(5), Bytes{});  // nobody at 5
}

TEST(SimBus, ExceptionLeavesOnlyOnImpliedAck) {
  BusFixture f;
  std::uint64_t seq = f.egm().raise(0x11).seq;
  EXPECT_EQ(f.gp(1), Bytes{0x11});
  EXPECT_FALSE(f.ledger.find(seq)->acked);
  EXPECT_EQ(f.gp(1), Bytes{0x11});   // implied NACK: same answer byte for byte
  EXPECT_EQ(f.gp(1), Bytes{});       // final NACK: no answer
  EXPECT_FALSE(f.ledger.find(seq)->acked);
  EXPECT_EQ(f.gp(0), Bytes{});       // sync poll, no answer
  EXPECT_EQ(f.gp(1), Bytes{0x11});   // still queued: reported again
  EXPECT_EQ(f.gp(0), Bytes{});
  EXPECT_FALSE(f.ledger.find(seq)->acked);  // ACK is taken at the next poll to the address
  EXPECT_EQ(f.gp(1), Bytes{0x00});
  EXPECT_TRUE(f.ledger.find(seq)->acked);
  EXPECT_EQ(f.ledger.find(seq)->acked_at, f.clock.unix_ms());
}

TEST(SimBus, LongPollToSameMachineIsAnImpliedAck) {
  BusFixture f;
  std::uint64_t seq = f.egm().raise(0x11).seq;
  f.egm().raise(0x12);
  EXPECT_EQ(f.gp(1), Bytes{0x11});
  f.clock.advance(5);
  EXPECT_EQ(f.lp({0x01, 0x1A}).size(), 8U);
  EXPECT_TRUE(f.ledger.find(seq)->acked);
  EXPECT_EQ(f.gp(1), Bytes{0x12});
}

TEST(SimBus, RepeatedLongPollResendsWithoutReexecuting) {
  BusFixture f;
  f.egm().handpay(100);
  f.egm().raise(0x20);
  Bytes first = f.lp({0x01, 0x94}, true);
  ASSERT_EQ(first.size(), 5U);
  EXPECT_EQ(first[2], 0x00);             // reset done
  EXPECT_EQ(f.lp({0x01, 0x94}, true), first);  // resent, not re-executed
  EXPECT_EQ(f.lp({0x01, 0x94}, true), Bytes{});  // final NACK
  // 51, 20 and exactly one 52 were raised.
  int resets = 0;
  for (const LedgerEntry& e : f.ledger.entries()) resets += e.code == 0x52;
  EXPECT_EQ(resets, 1);
}

TEST(SimBus, MultiDropEachAnswersOnlyItsAddress) {
  BusFixture f({1, 2, 3});
  f.egm(2).raise(0x11);
  EXPECT_EQ(f.gp(1), Bytes{0x00});
  EXPECT_EQ(f.gp(2), Bytes{0x11});
  EXPECT_EQ(f.gp(3), Bytes{0x00});
  EXPECT_EQ(f.gp(2), Bytes{0x00});  // a poll to another address came between: fresh poll, ACK
  EXPECT_TRUE(f.ledger.entries()[0].acked);
  Bytes ans = f.lp({0x03, 0x1A});
  ASSERT_EQ(ans.size(), 8U);
  EXPECT_EQ(ans[0], 0x03);
}

TEST(SimBus, SyncRequiredIgnoresPollsUntilAnotherAddressIsSeen) {
  BusFixture f({1}, /*sync_required=*/true);
  EXPECT_EQ(f.gp(1), Bytes{});
  EXPECT_EQ(f.lp({0x01, 0x1A}), Bytes{});
  EXPECT_EQ(f.gp(0x0C), Bytes{});  // poll to another address: synchronises
  EXPECT_EQ(f.gp(1), Bytes{0x00});
}

TEST(SimBus, BadCrcAndUnsupportedPollsGetNoAnswer) {
  BusFixture f;
  EXPECT_EQ(f.lp({0x01, 0x01, 0x51, 0x09}), Bytes{});  // bad CRC
  EXPECT_EQ(f.bus->stats().bad_crc, 1U);
  EXPECT_EQ(f.lp({0x01, 0x01, 0x51, 0x08}), Bytes{0x01});  // LP01 shutdown: ACK
  EXPECT_EQ(f.lp({0x01, 0x53, 0x00, 0x00}, true), Bytes{});  // known shape, unsupported
  EXPECT_EQ(f.lp({0x01, 0xEE}), Bytes{});                    // unknown command
  EXPECT_EQ(f.gp(1), Bytes{0x00});
}

// LP 21: ACK now; the signature goes out as the answer to a GP once computed, ahead of a
// pending exception, and leaves on the implied ACK. A new program signs differently.
TEST(SimBus, RomSignatureAnswersALaterGeneralPoll) {
  BusFixture f;
  f.egm().raise(0x11);
  EXPECT_EQ(f.lp({0x01, 0x21, 0x34, 0x12}, true), Bytes{0x01});
  EXPECT_EQ(f.gp(1), Bytes{0x11});  // not computed yet: the exception
  f.clock.advance(600);
  EXPECT_EQ(f.gp(0), Bytes{});      // another poll between: no implied NACK
  const Bytes sig = f.gp(1);        // (this GP also ACKed the 0x11)
  ASSERT_EQ(sig.size(), 6U);
  EXPECT_EQ(sig[0], 0x01);
  EXPECT_EQ(sig[1], 0x21);
  EXPECT_TRUE(crc_ok(sig));
  EXPECT_EQ(f.gp(0), Bytes{});
  EXPECT_EQ(f.gp(1), Bytes{0x00});  // ACKed: gone
  f.egm().set_program("another program");
  EXPECT_EQ(f.lp({0x01, 0x21, 0x34, 0x12}, true), Bytes{0x01});
  f.clock.advance(600);
  EXPECT_EQ(f.gp(0), Bytes{});
  const Bytes other = f.gp(1);
  ASSERT_EQ(other.size(), 6U);
  EXPECT_NE(Bytes(other.begin() + 2, other.begin() + 4), Bytes(sig.begin() + 2, sig.begin() + 4));
}

TEST(SimBus, ResynchronisesOnTheNextWakeupByte) {
  BusFixture f;
  f.egm().raise(0x11);
  // Garbage without wakeup marks, then a truncated LP, then a real GP.
  EXPECT_EQ(f.send({0x12, 0x34, 0x81, 0xFF, 0xFF, 0x00}), Bytes{});
  EXPECT_EQ(f.send({0xFF, 0x00, 0x01, 0x2F, 0x05, 0x00}), Bytes{});
  EXPECT_EQ(f.gp(1), Bytes{0x11});
  EXPECT_GT(f.bus->stats().stray_bytes, 0U);
}

TEST(SimBus, EveryByteSplitGivesTheSameAnswer) {
  Bytes poll{0x01, 0x2F, 0x04, 0x00, 0x00, 0x00, 0x0C};
  append_crc(poll);
  Bytes escaped;
  for (std::size_t i = 0; i < poll.size(); ++i) escape_append(escaped, poll[i], i == 0);
  BusFixture whole;
  Bytes want = whole.send(escaped);
  ASSERT_FALSE(want.empty());
  for (std::size_t split = 1; split < escaped.size(); ++split) {
    BusFixture f;
    Bytes got = f.send(Bytes(escaped.begin(), escaped.begin() + static_cast<long>(split)));
    Bytes rest = f.send(Bytes(escaped.begin() + static_cast<long>(split), escaped.end()));
    got.insert(got.end(), rest.begin(), rest.end());
    EXPECT_EQ(got, want) << "split " << split;
  }
}

TEST(SimBus, ChirpsAfterFiveSecondsWithoutPollsEvery200Ms) {
  BusFixture f;
  f.clock.advance(4900);
  f.bus->tick();
  EXPECT_TRUE(f.take().empty());
  EXPECT_TRUE(f.chirps.empty());
  f.clock.advance(200);
  f.bus->tick();
  f.take();
  EXPECT_EQ(f.chirps, Bytes{0x01});
  f.clock.advance(100);
  f.bus->tick();
  f.take();
  EXPECT_EQ(f.chirps.size(), 1U);
  f.clock.advance(100);
  f.bus->tick();
  f.take();
  EXPECT_EQ(f.chirps.size(), 2U);
  EXPECT_EQ(f.gp(1), Bytes{0x00});  // polled again: chirping stops
  f.clock.advance(1000);
  f.bus->tick();
  f.take();
  EXPECT_EQ(f.chirps.size(), 2U);
}

TEST(SimBus, LinkLossForgetsTheUnackedAnswerSoItIsReportedAgain) {
  BusFixture f;
  std::uint64_t seq = f.egm().raise(0x11).seq;
  EXPECT_EQ(f.gp(1), Bytes{0x11});
  f.clock.advance(6000);  // host gone for longer than the 5 s loop break
  f.bus->tick();
  f.take();
  EXPECT_EQ(f.gp(0), Bytes{});
  EXPECT_EQ(f.gp(1), Bytes{0x11});  // re-reported, not silently ACKed by the first new poll
  EXPECT_FALSE(f.ledger.find(seq)->acked);
  EXPECT_EQ(f.gp(0), Bytes{});
  EXPECT_EQ(f.gp(1), Bytes{0x00});
  EXPECT_TRUE(f.ledger.find(seq)->acked);
}

TEST(SimBus, FaultsBusySilentCrcDelayGap) {
  BusFixture f;
  Faults* faults = f.bus->faults(1);
  faults->busy = true;
  EXPECT_EQ(f.lp({0x01, 0x1A}), (Bytes{0x01, 0x00}));
  EXPECT_EQ(f.gp(1), Bytes{0x00});  // GPs are still answered
  faults->busy = false;
  faults->crc_rate = 1.0;
  Bytes bad = f.lp({0x01, 0x1A});
  ASSERT_EQ(bad.size(), 8U);
  EXPECT_FALSE(crc_ok(bad));
  faults->crc_rate = 0;
  faults->silent = true;
  EXPECT_EQ(f.gp(1), Bytes{});
  f.clock.advance(10'000);
  f.bus->tick();
  f.take();
  EXPECT_TRUE(f.chirps.empty());  // cable pulled: no chirps either
  faults->silent = false;
  faults->delay_ms = 300;
  faults->gap_ms = 7;
  f.delays.clear();
  Bytes slow = f.lp({0x01, 0x1A});
  EXPECT_EQ(slow.size(), 8U);
  ASSERT_EQ(f.delays.size(), 8U);
  EXPECT_EQ(f.delays[0], 300);
  EXPECT_EQ(f.delays[1], 7);
}

TEST(SimBus, DropAndDuplicateBytes) {
  BusFixture f;
  f.bus->faults(1)->drop_rate = 1.0;
  EXPECT_EQ(f.lp({0x01, 0x1A}), Bytes{});
  f.bus->faults(1)->drop_rate = 0;
  f.bus->faults(1)->dup_rate = 1.0;
  EXPECT_EQ(f.gp(1).size(), 2U);
}

TEST(SimBus, PowerOffPeriodThenPowerUpEvents) {
  BusFixture f;
  f.egm().raise(0x11);
  ASSERT_TRUE(f.bus->power_cycle(1, false, 500));
  EXPECT_EQ(f.gp(1), Bytes{});  // dark
  f.clock.advance(600);
  f.bus->tick();
  EXPECT_EQ(f.gp(1), Bytes{0x11});  // the queue survived the power cycle
  EXPECT_EQ(f.gp(0), Bytes{});
  EXPECT_EQ(f.gp(1), Bytes{0x18});
  EXPECT_EQ(f.gp(0), Bytes{});
  EXPECT_EQ(f.gp(1), Bytes{0x17});
}

TEST(SimBus, RandomInputNeverCrashesAndBusStillAnswers) {
  BusFixture f({1, 2, 0x7F});
  f.lp({0x02, 0x0E, 0x01}, true);  // one machine in RTE mode
  std::mt19937 rng(99);
  for (int round = 0; round < 2000; ++round) {
    Bytes junk(1 + rng() % 40);
    for (auto& b : junk) {
      unsigned r = rng() % 10;
      b = r < 3 ? 0xFF : r < 5 ? 0x00 : r < 7 ? static_cast<std::uint8_t>(0x80 | (rng() % 3))
                                             : static_cast<std::uint8_t>(rng());
    }
    f.send(junk);
    if (round % 50 == 0) {
      f.egm(1).raise(static_cast<std::uint8_t>(1 + rng() % 0xFE));
      f.clock.advance(static_cast<std::int64_t>(rng() % 3000));
      f.bus->tick();
      f.take();
    }
  }
  f.gp(0);
  EXPECT_EQ(f.gp(0x7F).size(), 1U);
  f.gp(0);
  EXPECT_FALSE(f.lp({0x7F, 0x1A}).empty());
}
