// Money follow-ups (the long poll that reads the record behind a money exception) when the EGM
// does not simply answer: BUSY for a long time, or a link that goes down between the tries.
// Manual clock and fake EGMs, as sas_engine_test.cpp.
#include <gtest/gtest.h>

#include <string_view>

#include "sas_harness_gtest.hpp"

using namespace floorgate::drivers::sas;
using namespace floorgate::drivers::sas::testing;

namespace {

// Frames sent to `addr` from wire position `from` on (general and long polls).
std::size_t polls_to(const Harness& h, std::size_t from, std::uint8_t addr) {
  std::size_t n = 0;
  for (std::size_t i = from; i < h.wire.size(); ++i) n += (h.wire[i][0] & 0x7F) == addr;
  return n;
}

// An enhanced-validation record (LP 4D, the 31 bytes after address and command): a cashable
// ticket of $12.50.
Bytes ticket_record() {
  Bytes r(31, 0);  // r[i] is byte 2 + i of the answer
  r[0] = 0x00;     // validation type: cashable ticket
  r[15] = 0x12;    // validation number (8 bytes BCD) ...1234
  r[16] = 0x34;
  r[20] = 0x12;    // amount (5 bytes BCD) 00 00 00 12 50: 1,250 cents
  r[21] = 0x50;
  r[22] = 0x07;    // ticket number 7
  return r;
}

}  // namespace

// A money follow-up holds the bus for its machine (a poll to another address would ACK its
// answer), but a BUSY answer carries nothing to ACK. An EGM that answers its ticket's LP 4D
// BUSY for seconds must not keep the other machine on the bus unpolled; once it answers, the
// ticket is reported once, with its amount.
TEST(SasEngineFollowUp, AFollowUpAnsweredBusyDoesNotStopTheOtherMachinesPolls) {
  TwoEgms two;
  auto& [a, b, h] = two;
  ASSERT_TRUE(two.both_up());
  a.tickets.push_back(ticket_record());
  a.busy_lp[0x4D] = 1'000'000;
  a.queue.push_back(0x3D);
  h.run_for(200);  // the exception is read and its follow-up answered BUSY
  ASSERT_GT(h.engine->status().at(0).busy, 0u);
  const std::size_t from = h.wire.size();
  h.run_for(5000);
  // EGM 2 keeps its poll period (200 ms): 25 polls in 5 s. Held, it got none.
  EXPECT_GE(polls_to(h, from, 2), 20u);
  EXPECT_EQ(h.count("ticket.printed"), 0u);
  EXPECT_TRUE(h.engine->status().at(0).link_up);
  a.busy_lp.clear();
  h.run_for(2000);
  ASSERT_EQ(h.count("ticket.printed"), 1u);
  const std::string t = h.attrs_of("ticket.printed");
  EXPECT_NE(t.find("\"amount_cents\":1250"), std::string::npos) << t;
  EXPECT_EQ(t.find("amount_known"), std::string::npos) << t;
  EXPECT_TRUE(a.tickets.empty());  // read and ACKed
}

// The same for a handpay's LP 1B.
TEST(SasEngineFollowUp, AHandpayReadAnsweredBusyDoesNotStopTheOtherMachinesPolls) {
  TwoEgms two;
  auto& [a, b, h] = two;
  ASSERT_TRUE(two.both_up());
  a.handpays.push_back(handpay_body());
  a.busy_lp[0x1B] = 1'000'000;
  a.queue.push_back(0x51);
  h.run_for(200);
  ASSERT_GT(h.engine->status().at(0).busy, 0u);
  const std::size_t from = h.wire.size();
  h.run_for(5000);
  EXPECT_GE(polls_to(h, from, 2), 20u);
  EXPECT_EQ(h.count("handpay.pending"), 0u);
  a.busy_lp.clear();
  h.run_for(2000);
  EXPECT_EQ(h.count("handpay.pending"), 1u);
  EXPECT_EQ(a.handpays_acked.size(), 1u);
}

// The link goes down on a failed try of a follow-up, and the next try is answered. The ticket
// is reported once, with its amount; before, the link-down reported it without its amount
// ("followup_failed":"link_down") and the answer then reported it again.
TEST(SasEngineFollowUp, ALinkThatDropsBetweenAFollowUpsTriesReportsItOnce) {
  FakeEgm a;
  BusConfig cfg = one_egm_bus();
  cfg.link_down_after = 1;  // the first failed try takes the link down
  Harness h(cfg, {&a});
  h.engine->start();
  h.run_for(3000);
  ASSERT_TRUE(h.engine->status().at(0).link_up);
  a.tickets.push_back(ticket_record());
  a.queue.push_back(0x3D);
  a.corrupt_next = 1;  // the LP 4D answer's first copy arrives with a bad CRC
  h.run_for(3000);
  EXPECT_GE(h.count("link.down"), 1u);
  ASSERT_EQ(h.count("ticket.printed"), 1u);
  const std::string t = h.attrs_of("ticket.printed");
  EXPECT_NE(t.find("\"amount_cents\":1250"), std::string::npos) << t;
  EXPECT_EQ(t.find("followup_failed"), std::string::npos) << t;
  EXPECT_TRUE(a.tickets.empty());
}
