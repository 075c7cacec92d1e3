// Engine unit tests: scheduler, implied-ACK rules, durability contract, retries, link state,
// identification, handpay, meters and RTE, driven with a manual clock and fake EGMs.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <tuple>

#include "sas_fake_egm.hpp"

using namespace floorgate::drivers::sas;
using namespace floorgate::drivers::sas::testing;
using floorgate::drivers::Event;

namespace {

// No two consecutive frames on the bus are identical unless the engine counted a retry.
std::size_t identical_pairs(const std::vector<Bytes>& wire) {
  std::size_t n = 0;
  for (std::size_t i = 1; i < wire.size(); ++i) n += wire[i] == wire[i - 1];
  return n;
}

std::size_t count_frames(const std::vector<Bytes>& wire, const Bytes& f) {
  std::size_t n = 0;
  for (const auto& w : wire) n += w == f;
  return n;
}

}  // namespace

TEST(SasEngine, StartsWithSyncThenIdentifies) {
  FakeEgm egm;
  Harness h(one_egm_bus(), {&egm});
  h.engine->start();
  h.run_for(3000);
  ASSERT_FALSE(h.wire.empty());
  EXPECT_EQ(h.wire[0], Bytes{0x80});
  ASSERT_GE(h.events.size(), 2u);
  EXPECT_EQ(h.events[0].type, "link.up");
  EXPECT_EQ(h.count("meters.snapshot"), 1u);
  auto st = h.engine->status().at(0);
  EXPECT_TRUE(st.link_up);
  EXPECT_EQ(st.sas_version, "602");
  EXPECT_EQ(st.serial, "SN0007");
  EXPECT_EQ(st.denomination_cents, 5u);
  EXPECT_EQ(st.meters.at("coin_in"), 1000u);
  EXPECT_EQ(st.timeouts, 0u);
  EXPECT_EQ(identical_pairs(h.wire), 0u);
  EXPECT_FALSE(h.status_changes.empty());
}

TEST(SasEngine, PollsAtTheConfiguredPeriodWithFillers) {
  FakeEgm egm;
  Harness h(one_egm_bus(), {&egm});
  h.engine->start();
  h.run_for(10'000);
  // 200 ms period: about 50 polls in 10 s (a few are long polls for identification).
  std::size_t gps = count_frames(h.wire, Bytes{0x81});
  EXPECT_GE(gps, 40u);
  EXPECT_LE(gps, 51u);
  EXPECT_EQ(identical_pairs(h.wire), 0u);
  EXPECT_GE(count_frames(h.wire, Bytes{0x80}), 30u);  // filler between consecutive GPs
  EXPECT_EQ(h.engine->status()[0].timeouts, 0u);
}

TEST(SasEngine, HoldsTheImpliedAckUntilDurable) {
  FakeEgm egm;
  Harness h(one_egm_bus(), {&egm});
  h.engine->start();
  h.run_for(2000);
  h.auto_durable = false;
  egm.queue.push_back(0x11);
  h.run_for(1000);
  ASSERT_EQ(h.count("door.opened"), 1u);
  EXPECT_NE(h.events.back().attrs_json.find("\"door\":\"main\""), std::string::npos);
  EXPECT_EQ(h.events.back().source, "sas:0x11");
  std::size_t frames = h.wire.size();
  h.run_for(3000);
  EXPECT_EQ(h.wire.size(), frames) << "polled while the event was not durable";
  EXPECT_TRUE(egm.acked.empty());
  h.auto_durable = true;
  h.run_for(1000);
  EXPECT_EQ(egm.acked, std::vector<std::uint8_t>{0x11});
  EXPECT_GT(h.wire.size(), frames);
  EXPECT_EQ(h.count("door.opened"), 1u);
}

TEST(SasEngine, SinkErrorKeepsTheEventWithTheEgmAndRetries) {
  FakeEgm egm;
  Harness h(one_egm_bus(), {&egm});
  h.engine->start();
  h.run_for(2000);
  h.fail_with = std::make_error_code(std::errc::no_space_on_device);
  egm.queue.push_back(0x28);
  std::size_t frames = h.wire.size();
  h.run_for(2000);
  EXPECT_GE(h.count("bill.jam"), 3u);  // re-submitted every 500 ms
  EXPECT_TRUE(egm.acked.empty());
  EXPECT_LE(h.wire.size(), frames + 2);  // at most a filler and the poll that got the event
  h.fail_with = {};
  h.run_for(1000);
  EXPECT_EQ(egm.acked, std::vector<std::uint8_t>{0x28});
}

TEST(SasEngine, RetriesAreByteIdenticalAtMostTwiceThenSync) {
  FakeEgm egm;
  Harness h(one_egm_bus(), {&egm});
  h.engine->start();
  h.run_for(2000);
  std::size_t from = h.wire.size();
  egm.silent = true;
  h.run_for(1500);
  std::vector<Bytes> tail(h.wire.begin() + static_cast<std::ptrdiff_t>(from), h.wire.end());
  ASSERT_GE(tail.size(), 4u);
  // Find the first poll to the EGM: it is sent 3 times, then a sync poll follows.
  std::size_t i = 0;
  while (i < tail.size() && tail[i] == Bytes{0x80}) ++i;
  ASSERT_LT(i + 3, tail.size());
  EXPECT_EQ(tail[i], tail[i + 1]);
  EXPECT_EQ(tail[i], tail[i + 2]);
  EXPECT_EQ(tail[i + 3], Bytes{0x80});
  for (std::size_t k = 3; k < tail.size(); ++k) {
    bool four = tail[k] == tail[k - 1] && tail[k] == tail[k - 2] && tail[k] == tail[k - 3];
    EXPECT_FALSE(four) << "more than 2 retries at " << k;
  }
  auto st = h.engine->status()[0];
  EXPECT_GE(st.retries, 2u);
  EXPECT_GE(st.timeouts, 3u);
}

TEST(SasEngine, LinkGoesDownAfterConsecutiveFailuresAndComesBack) {
  FakeEgm egm;
  BusConfig cfg = one_egm_bus();
  cfg.link_down_after = 10;
  Harness h(cfg, {&egm});
  h.engine->start();
  h.run_for(2000);
  egm.silent = true;
  h.run_for(5000);
  EXPECT_EQ(h.count("link.down"), 1u);
  EXPECT_FALSE(h.engine->status()[0].link_up);
  std::size_t ident = count_frames(h.wire, Bytes{0x01, 0x54});
  egm.silent = false;
  h.run_for(4000);
  EXPECT_EQ(h.count("link.up"), 2u);
  EXPECT_TRUE(h.engine->status()[0].link_up);
  EXPECT_EQ(count_frames(h.wire, Bytes{0x01, 0x54}), ident + 1);  // re-identified
  EXPECT_EQ(h.engine->status()[0].link_transitions, 3u);
}

TEST(SasEngine, CrcErrorIsRetriedByteIdentical) {
  FakeEgm egm;
  egm.corrupt_next = 1;  // the LP 54 answer
  Harness h(one_egm_bus(), {&egm});
  h.engine->start();
  h.run_for(3000);
  auto st = h.engine->status()[0];
  EXPECT_EQ(st.crc_errors, 1u);
  EXPECT_EQ(st.retries, 1u);
  EXPECT_EQ(st.sas_version, "602");
  EXPECT_EQ(identical_pairs(h.wire), 1u);
}

TEST(SasEngine, HandpayReadsLp1BAndReportsAmountInCents) {
  FakeEgm egm;
  Harness h(one_egm_bus(), {&egm});
  h.engine->start();
  h.run_for(2000);
  Bytes body{0x00, 0x40, 0x00, 0x00, 0x01, 0x25, 0x00, 0x00, 0x00, 0x00};
  body.resize(20, 0);
  egm.handpays.push_back(body);
  egm.queue.push_back(0x51);
  h.run_for(2000);
  ASSERT_EQ(h.count("handpay.pending"), 1u);
  const Event* hp = nullptr;
  for (const auto& e : h.events) {
    if (e.type == "handpay.pending") hp = &e;
  }
  EXPECT_NE(hp->attrs_json.find("\"amount_cents\":6250"), std::string::npos) << hp->attrs_json;
  EXPECT_NE(hp->attrs_json.find("\"kind\":\"non_progressive\""), std::string::npos);
  EXPECT_EQ(egm.handpays_acked.size(), 1u);
  EXPECT_EQ(egm.acked, std::vector<std::uint8_t>{0x51});
  egm.queue.push_back(0x52);
  h.run_for(1000);
  EXPECT_EQ(h.count("handpay.reset"), 1u);
  EXPECT_EQ(identical_pairs(h.wire), 0u);
}

// Killed after LP 1B went out (which ACKed the 0x51 that announced the handpay) and before
// the handpay record was durable: the restart must re-send LP 1B (the EGM's implied NACK), not
// a general poll, which would ACK the record and lose the handpay.
TEST(SasEngine, RestartAfterLp1BResendsItAndKeepsTheHandpay) {
  const auto resume = std::filesystem::temp_directory_path() /
                      ("fg-resume-" + std::to_string(::getpid()) + ".txt");
  std::filesystem::remove(resume);
  BusConfig cfg = one_egm_bus();
  cfg.resume_file = resume.string();
  FakeEgm egm;
  Bytes body{0x00, 0x40, 0x00, 0x00, 0x01, 0x25, 0x00, 0x00, 0x00, 0x00};
  body.resize(20, 0);
  {
    Harness h(cfg, {&egm});
    h.engine->start();
    h.run_for(3000);
    h.auto_durable = false;  // the store never confirms: the process dies first
    egm.handpays.push_back(body);
    egm.queue.push_back(0x51);
    h.run_for(2000);
    ASSERT_EQ(egm.acked, std::vector<std::uint8_t>{0x51});  // ACKed by LP 1B itself
    ASSERT_EQ(h.count("handpay.pending"), 1u);              // submitted, not durable
    ASSERT_TRUE(egm.handpays_acked.empty());
    h.engine->stop();
  }
  {
    std::ifstream in(resume);
    std::string mark((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(mark, "  1 1B\n");  // the mark's fixed width: address, then the long poll
  }
  Harness h2(cfg, {&egm});
  h2.engine->start();
  h2.run_for(3000);
  ASSERT_FALSE(h2.wire.empty());
  ASSERT_GE(h2.wire[0].size(), 2u);
  EXPECT_EQ(h2.wire[0][1], 0x1B);  // the same long poll again
  EXPECT_GE(h2.count("handpay.pending"), 1u);
  EXPECT_EQ(egm.handpays_acked.size(), 1u);
  std::filesystem::remove(resume);
}

TEST(SasEngine, MeterDeltasRolloverAndReset) {
  FakeEgm egm;
  egm.meters = {{0x00, 1000}, {0x01, 99'999'990}};
  Harness h(one_egm_bus(), {&egm});
  h.engine->start();
  h.run_for(2000);
  egm.meters = {{0x00, 1500}, {0x01, 5}};
  egm.queue.push_back(0x12);  // door closed triggers a snapshot
  h.run_for(2000);
  ASSERT_EQ(h.count("meters.snapshot"), 2u);
  std::string snap;
  for (const auto& e : h.events) {
    if (e.type == "meters.snapshot") snap = e.attrs_json;
  }
  EXPECT_NE(snap.find("\"trigger\":\"door_closed\""), std::string::npos) << snap;
  EXPECT_NE(snap.find("\"coin_in\":{\"code\":\"0x00\",\"value\":1500,\"unit\":\"credits\",\"poll\":\"6f\","
                      "\"delta\":500}"),
            std::string::npos) << snap;
  EXPECT_NE(snap.find("\"delta\":15,\"rollover\":true"), std::string::npos) << snap;
  EXPECT_NE(snap.find("\"reset\":false"), std::string::npos);
  egm.meters = {{0x00, 0}, {0x01, 0}};
  egm.queue.push_back(0x7A);
  h.run_for(2000);
  for (const auto& e : h.events) {
    if (e.type == "meters.snapshot") snap = e.attrs_json;
  }
  EXPECT_EQ(h.count("meters.reset"), 1u);
  EXPECT_NE(snap.find("\"reset\":true"), std::string::npos) << snap;
  EXPECT_EQ(snap.find("delta"), std::string::npos) << snap;
}

TEST(SasEngine, BackwardJumpWithoutResetCodeIsFlagged) {
  FakeEgm egm;
  egm.meters = {{0x00, 50'000}};
  Harness h(one_egm_bus(), {&egm});
  h.engine->start();
  h.run_for(2000);
  egm.meters = {{0x00, 10}};
  egm.queue.push_back(0x17);
  h.run_for(2000);
  std::string snap;
  for (const auto& e : h.events) {
    if (e.type == "meters.snapshot") snap = e.attrs_json;
  }
  EXPECT_NE(snap.find("\"reset_detected\":true"), std::string::npos) << snap;
  EXPECT_NE(snap.find("\"trigger\":\"power_applied\""), std::string::npos) << snap;
  EXPECT_NE(snap.find("\"reset\":true"), std::string::npos) << snap;
}

TEST(SasEngine, RteEventsWithDataAndInsteadOfLongPollAnswers) {
  FakeEgm egm;
  egm.rte = true;  // still on from a previous host run
  egm.queue = {0x11, 0x12};
  BusConfig cfg = one_egm_bus();
  cfg.egms[0].real_time_events = true;
  Harness h(cfg, {&egm});
  h.engine->start();
  h.run_for(3000);
  EXPECT_EQ(h.count("door.opened"), 1u);
  EXPECT_EQ(h.count("door.closed"), 1u);
  EXPECT_EQ(egm.acked, (std::vector<std::uint8_t>{0x11, 0x12}));
  auto st = h.engine->status()[0];
  EXPECT_EQ(st.sas_version, "602");  // the LP was reissued after the event
  EXPECT_TRUE(st.real_time_events);
  EXPECT_EQ(identical_pairs(h.wire), 0u);
}

TEST(SasEngine, RteModeIsSetExplicitlyAtLinkUp) {
  FakeEgm egm;
  Harness h(one_egm_bus(), {&egm});  // real_time_events: false
  h.engine->start();
  h.run_for(3000);
  Bytes off{0x01, 0x0E, 0x00};
  append_crc(off);
  EXPECT_EQ(count_frames(h.wire, off), 1u);  // never assumed: an EGM keeps an earlier host's mode
  auto st = h.engine->status()[0];
  EXPECT_FALSE(st.real_time_events);
  EXPECT_TRUE(st.real_time_events_confirmed);
  EXPECT_EQ(st.rte_resyncs, 0u);
}

TEST(SasEngine, EgmLeftInRteModeIsReadAndSwitchedBack) {
  // An earlier host left the EGM in RTE mode; this gateway is configured without RTE. Its
  // answers are `addr FF code .. CRC`, which must be read as events (not as exception 0x01
  // plus noise that the EGM then takes as acknowledged), and the configured mode set again.
  FakeEgm egm;
  egm.rte = true;
  egm.queue = {0x11, 0x12, 0x19};
  Harness h(one_egm_bus(), {&egm});
  h.engine->start();
  h.run_for(5000);
  EXPECT_EQ(h.count("door.opened"), 2u);  // main (11) and cashbox (19)
  EXPECT_EQ(h.count("door.closed"), 1u);
  EXPECT_EQ(egm.acked, (std::vector<std::uint8_t>{0x11, 0x12, 0x19}));
  EXPECT_FALSE(egm.rte);  // switched back to the configured mode
  auto st = h.engine->status()[0];
  EXPECT_GE(st.rte_resyncs, 1u);
  EXPECT_FALSE(st.real_time_events);
  EXPECT_TRUE(st.real_time_events_confirmed);
  EXPECT_EQ(st.sas_version, "602");
  EXPECT_EQ(identical_pairs(h.wire), 0u);
  // Events after the switch arrive as plain exceptions.
  egm.queue = {0x11};
  h.run_for(2000);
  EXPECT_EQ(h.count("door.opened"), 3u);
  EXPECT_EQ(egm.acked.back(), 0x11);
}

// Issue 16: the EGM clock is read at link-up (LP 7E); ten minutes off, it raises one
// egm.clock_drift alarm and is set (LP 7F) to the gateway's local time, then read back.
TEST(SasEngine, ClockIsReadSetAndReadBack) {
  FakeEgm egm;
  egm.clock_offset_ms = -600'000;
  Harness h(one_egm_bus(), {&egm});
  h.engine->start();
  h.run_for(4000);
  EXPECT_EQ(egm.clock_sets, 1);
  EXPECT_EQ(h.count("egm.clock_drift"), 1u);
  auto st = h.engine->status()[0];
  ASSERT_TRUE(st.clock_drift_ms.has_value());
  EXPECT_LE(std::llabs(*st.clock_drift_ms), 2000) << *st.clock_drift_ms;  // after the set
  EXPECT_EQ(st.timeouts, 0u);
  EXPECT_EQ(identical_pairs(h.wire), 0u);
}

TEST(SasEngine, ClockWithinTwoSecondsIsLeftAlone) {
  FakeEgm egm;
  BusConfig cfg = one_egm_bus();
  Harness h(cfg, {&egm});
  h.engine->start();
  h.run_for(4000);
  EXPECT_EQ(egm.clock_sets, 0);
  EXPECT_EQ(h.count("egm.clock_drift"), 0u);
  ASSERT_TRUE(h.engine->status()[0].clock_drift_ms.has_value());
}

TEST(SasEngine, ExceptionOverflowAndPowerCodes) {
  FakeEgm egm;
  Harness h(one_egm_bus(), {&egm});
  h.engine->start();
  h.run_for(2000);
  egm.queue = {0x70, 0x18, 0x17, 0x4A, 0x4A};
  h.run_for(3000);
  auto t = h.types();
  EXPECT_EQ(h.count("egm.exception_overflow"), 1u);
  EXPECT_EQ(h.count("power.lost"), 1u);
  EXPECT_EQ(h.count("power.applied"), 1u);
  EXPECT_EQ(h.count("bill.stacked"), 2u);  // two $20 bills are two events
  EXPECT_GE(h.count("meters.snapshot"), 2u);
  EXPECT_EQ(egm.acked, (std::vector<std::uint8_t>{0x70, 0x18, 0x17, 0x4A, 0x4A}));
  bool found = false;
  for (const auto& e : h.events) {
    if (e.type == "bill.stacked") {
      found = e.attrs_json.find("\"value_cents\":2000,\"currency\":\"USD\"") != std::string::npos;
      EXPECT_EQ(e.cls, floorgate::drivers::EventClass::financial);
    }
  }
  EXPECT_TRUE(found);
}

// After a 0x51 the next frame on the bus is that EGM's LP 1B: a poll to another address in
// between would implied-ACK the 0x51 with nothing stored yet (a kill then loses its place).
TEST(SasEngine, HandpayExceptionHoldsTheBusUntilLp1B) {
  FakeEgm a, b;
  a.addr = 1;
  b.addr = 2;
  BusConfig cfg = bus_with({1, 2});
  Harness h(cfg, {&a, &b});
  h.engine->start();
  h.run_for(3000);
  Bytes body{0x00, 0x40, 0x00, 0x00, 0x01, 0x25, 0x00, 0x00, 0x00, 0x00};
  body.resize(20, 0);
  a.handpays.push_back(body);
  a.queue.push_back(0x51);
  const std::size_t from = h.wire.size();
  h.run_for(2000);
  bool checked = false;
  for (std::size_t i = from; i + 1 < h.wire.size(); ++i) {
    if (h.wire[i] != Bytes{0x81}) continue;  // a general poll to EGM 1...
    if (a.acked.empty() || checked) continue;
    // ...answered 0x51: the frame right after it is LP 1B to EGM 1.
    ASSERT_GE(h.wire[i + 1].size(), 2u);
    EXPECT_EQ(h.wire[i + 1][0], 0x01);
    EXPECT_EQ(h.wire[i + 1][1], 0x1B);
    checked = true;
  }
  EXPECT_TRUE(checked);
  EXPECT_EQ(h.count("handpay.pending"), 1u);
  EXPECT_EQ(a.handpays_acked.size(), 1u);
}

TEST(SasEngine, MultiDropIsFairAndNeverRepeatsByAccident) {
  FakeEgm a, b, c;
  a.addr = 1;
  b.addr = 2;
  c.addr = 3;
  BusConfig cfg = bus_with({1, 2, 3});
  Harness h(cfg, {&a, &b, &c});
  h.engine->start();
  b.queue = {0x11, 0x12};
  h.run_for(10'000);
  for (std::uint8_t gp : {0x81, 0x82, 0x83}) {
    EXPECT_GE(count_frames(h.wire, Bytes{gp}), 40u) << int(gp);
  }
  EXPECT_EQ(identical_pairs(h.wire), 0u);
  EXPECT_EQ(b.acked, (std::vector<std::uint8_t>{0x11, 0x12}));
  for (const auto& s : h.engine->status()) EXPECT_TRUE(s.link_up) << s.id;
}

TEST(SasEngine, ChirpIsCountedAndForcesSync) {
  FakeEgm egm;
  Harness h(one_egm_bus(), {&egm});
  h.engine->start();
  h.run_for(1000);
  h.rx.emplace_back(h.now + 50, Bytes{0xFF, 0x00, 0x01});
  h.run_for(1000);
  EXPECT_EQ(h.engine->status()[0].chirps, 1u);
}

TEST(SasEngine, LineErrorsAreNotChirps) {
  FakeEgm egm;
  Harness h(one_egm_bus(), {&egm});
  h.engine->start();
  h.run_for(1000);
  ASSERT_TRUE(h.engine->status()[0].link_up);
  // A BREAK (FF 00 00) and a marked byte for an address nobody has: no chirp, no sync.
  h.rx.emplace_back(h.now + 50, Bytes{0xFF, 0x00, 0x00, 0xFF, 0x00, 0x42});
  // A framing error inside a data reply is a corrupted frame: a CRC error, retried, not a
  // timeout (it used to be taken for a wakeup byte and the frame ran out of bytes).
  h.mark_in_next_reply = 1;
  egm.meters[0x00] = 3000;
  egm.queue.push_back(0x7A);  // meters reset: LP 2F follows (a data reply)
  h.run_for(3000);
  auto st = h.engine->status()[0];
  EXPECT_EQ(st.chirps, 0u);
  EXPECT_EQ(h.mark_in_next_reply, 0);
  EXPECT_GE(st.line_errors, 1u);
  EXPECT_GE(st.crc_errors, 1u);
  EXPECT_EQ(st.timeouts, 0u);
  EXPECT_EQ(st.meters.at("coin_in"), 3000u);
  EXPECT_TRUE(st.link_up);
}

TEST(SasEngine, StopIgnoresLateDurableCallbacks) {
  FakeEgm egm;
  Harness h(one_egm_bus(), {&egm});
  h.engine->start();
  h.run_for(1000);
  h.auto_durable = false;
  egm.queue.push_back(0x11);
  h.run_for(1000);
  h.engine->stop();
  std::size_t frames = h.wire.size();
  h.auto_durable = true;
  h.run_for(1000);
  EXPECT_EQ(h.wire.size(), frames);
  EXPECT_FALSE(h.engine->next_deadline().has_value());
}

TEST(SasEngine, EarlyTimerCallsChangeNothingOnTheWire) {
  // Bus keeps one timer per kind of deadline and lets a timer fire early rather than cancel
  // it: on_timer() must act only on what is due. Same machine, same events, with and without
  // a call at every millisecond: the same frames at the same times, the same events.
  auto run = [](bool early) {
    FakeEgm egm;
    egm.queue = {0x11, 0x12, 0x51, 0x17};
    egm.late = {30, 30};  // two answers after the reply timeout: retries and timeouts too
    BusConfig cfg = one_egm_bus();
    cfg.egms[0].poll_period = std::chrono::milliseconds(40);
    Harness h(cfg, {&egm});
    h.early_timers = early;
    h.engine->start();
    h.run_for(3000);
    return std::make_tuple(h.wire, h.wire_at, h.types());
  };
  const auto plain = run(false);
  const auto early = run(true);
  EXPECT_GT(std::get<0>(plain).size(), 50u);
  EXPECT_GE(std::get<2>(plain).size(), 4u);  // the four exceptions (and what they trigger)
  EXPECT_EQ(std::get<0>(plain), std::get<0>(early));
  EXPECT_EQ(std::get<1>(plain), std::get<1>(early));
  EXPECT_EQ(std::get<2>(plain), std::get<2>(early));
}

TEST(SasEngine, DeadlinesSplitTheAnswerWaitFromTheSchedule) {
  FakeEgm egm;
  egm.reply_delay_ms = 5;
  Harness h(one_egm_bus(), {&egm});
  h.engine->start();
  h.run_for(1000);
  // Step to the next poll on the wire: while it waits for its answer only the exchange has a
  // deadline (polls wait for the line); once answered, only the schedule has one.
  const std::size_t frames = h.wire.size();
  for (int i = 0; i < 1000 && h.wire.size() == frames; ++i) h.run_for(1);
  ASSERT_GT(h.wire.size(), frames);
  auto d = h.engine->next_deadlines();
  ASSERT_TRUE(d.exchange.has_value());
  EXPECT_FALSE(d.schedule.has_value());
  EXPECT_EQ(h.engine->next_deadline(), d.exchange);
  h.run_for(6);  // the answer arrives
  d = h.engine->next_deadlines();
  EXPECT_FALSE(d.exchange.has_value());
  ASSERT_TRUE(d.schedule.has_value());
  EXPECT_EQ(h.engine->next_deadline(), d.schedule);
}

TEST(SasEngine, ConsecutiveMeterRequestsAreSeparatedByAFiller) {
  FakeEgm egm;
  BusConfig cfg = one_egm_bus();
  for (std::uint8_t c = 0; c < 14; ++c) cfg.egms[0].meter_codes.push_back(c);  // 2 LP 2F chunks
  Harness h(cfg, {&egm});
  h.engine->start();
  h.run_for(3000);
  for (std::size_t i = 1; i < h.wire.size(); ++i) {
    bool both_2f = h.wire[i].size() > 1 && h.wire[i - 1].size() > 1 && h.wire[i][1] == 0x2F &&
                   h.wire[i - 1][1] == 0x2F;
    EXPECT_FALSE(both_2f) << "two LP 2F in a row at " << i;
  }
  EXPECT_EQ(h.count("meters.snapshot"), 1u);
  EXPECT_EQ(h.engine->status()[0].timeouts, 0u);
}

TEST(SasEngine, LineNoiseBetweenAndBeforeFramesIsIgnored) {
  FakeEgm egm;
  Harness h(one_egm_bus(), {&egm});
  h.engine->start();
  h.run_for(2000);
  // Noise while idle, then a long poll's answer preceded by garbage.
  h.rx.emplace_back(h.now + 1, Bytes{0x55, 0xAA, 0x13});
  h.run_for(100);
  egm.meters[0x00] = 2000;
  egm.queue.push_back(0x12);
  h.run_for(1500);
  EXPECT_EQ(h.count("door.closed"), 1u);
  EXPECT_EQ(h.count("meters.snapshot"), 2u);
  EXPECT_EQ(h.engine->status()[0].meters.at("coin_in"), 2000u);
  EXPECT_EQ(egm.acked, std::vector<std::uint8_t>{0x12});
}

namespace {
std::string attrs_of(const Harness& h, const std::string& type) {
  for (const auto& e : h.events) {
    if (e.type == type) return e.attrs_json;
  }
  return {};
}
}  // namespace

// LP 21 at link-up: the EGM ACKs, the signature arrives on a later general poll and becomes a
// security event; a changed program is a mismatch, also across a gateway restart (rom_file).
TEST(SasEngine, RomSignatureIsCheckedAndAChangedProgramIsAMismatch) {
  const auto rom = std::filesystem::temp_directory_path() /
                   ("fg-rom-" + std::to_string(::getpid()) + ".txt");
  std::filesystem::remove(rom);
  BusConfig cfg = one_egm_bus();
  cfg.rom_file = rom.string();
  cfg.egms[0].rom_check_period = std::chrono::hours(24);
  cfg.egms[0].rom_seed = 0xBEEF;
  FakeEgm egm;
  {
    Harness h(cfg, {&egm});
    h.engine->start();
    h.run_for(8000);
    ASSERT_EQ(h.count("egm.rom_signature"), 1u);
    const std::string a = attrs_of(h, "egm.rom_signature");
    EXPECT_NE(a.find("\"seed\":\"0xbeef\""), std::string::npos) << a;
    EXPECT_NE(a.find("\"first\":true"), std::string::npos) << a;
    EXPECT_NE(a.find("\"trigger\":\"link_up\""), std::string::npos) << a;
    const auto* p = reinterpret_cast<const std::uint8_t*>(egm.program.data());
    const std::uint16_t want = crc16_kermit(std::span(p, egm.program.size()), 0xBEEF);
    auto st = h.engine->status()[0];
    ASSERT_TRUE(st.rom_signature.has_value());
    EXPECT_EQ(*st.rom_signature, want);
    EXPECT_FALSE(st.rom_check_running);
    EXPECT_EQ(egm.rom_answer.size(), 0u);  // ACKed by the next poll after it was stored
    EXPECT_EQ(h.events.back().cls, floorgate::drivers::EventClass::security);

    // Same program, on request: no mismatch. Then a new program: mismatch, naming both.
    EXPECT_EQ(h.engine->request_rom_check("egm-1"), "");
    EXPECT_NE(h.engine->request_rom_check("egm-1"), "");  // one at a time
    EXPECT_NE(h.engine->request_rom_check("nope"), "");
    h.run_for(2000);
    EXPECT_EQ(h.count("egm.rom_signature"), 2u);
    EXPECT_EQ(h.count("egm.rom_signature_mismatch"), 0u);
    egm.program = "fake-egm 1.1 (changed)";
    EXPECT_EQ(h.engine->request_rom_check("egm-1"), "");
    h.run_for(2000);
    ASSERT_EQ(h.count("egm.rom_signature_mismatch"), 1u);
    const std::string m = attrs_of(h, "egm.rom_signature_mismatch");
    char expected[32];
    std::snprintf(expected, sizeof expected, "\"expected\":\"0x%04x\"", want);
    EXPECT_NE(m.find(expected), std::string::npos) << m;
    EXPECT_EQ(identical_pairs(h.wire), 0u);
    h.engine->stop();
  }
  // Restarted with the same program: known, no mismatch. Changed while the gateway was down:
  // a mismatch at link-up.
  {
    Harness h(cfg, {&egm});
    h.engine->start();
    h.run_for(8000);
    EXPECT_EQ(h.count("egm.rom_signature"), 1u);
    EXPECT_NE(attrs_of(h, "egm.rom_signature").find("\"first\":false"), std::string::npos);
    h.engine->stop();
  }
  egm.program = "fake-egm 2.0";
  Harness h(cfg, {&egm});
  h.engine->start();
  h.run_for(8000);
  EXPECT_EQ(h.count("egm.rom_signature_mismatch"), 1u);
  std::filesystem::remove(rom);
}

// No answer to LP 21 (not supported) and a signature that never comes are fault events; the
// link stays up and the machine keeps being polled.
TEST(SasEngine, RomSignatureWithoutAnswerIsAFault) {
  BusConfig cfg = one_egm_bus();
  cfg.egms[0].rom_check_period = std::chrono::hours(24);
  cfg.egms[0].rom_timeout = std::chrono::seconds(5);
  FakeEgm egm;
  egm.rom_supported = false;
  Harness h(cfg, {&egm});
  h.engine->start();
  h.run_for(6000);
  ASSERT_EQ(h.count("egm.rom_signature_failed"), 1u);
  EXPECT_NE(attrs_of(h, "egm.rom_signature_failed").find("no answer to LP 21"), std::string::npos);
  EXPECT_TRUE(h.engine->status()[0].link_up);

  FakeEgm slow;
  slow.rom_delay_ms = 60'000;
  Harness h2(cfg, {&slow});
  h2.engine->start();
  h2.run_for(4000);
  EXPECT_TRUE(h2.engine->status()[0].rom_check_running);
  EXPECT_EQ(h2.count("egm.rom_signature_failed"), 0u);
  h2.run_for(6000);
  ASSERT_EQ(h2.count("egm.rom_signature_failed"), 1u);
  EXPECT_NE(attrs_of(h2, "egm.rom_signature_failed").find("rom_timeout"), std::string::npos);
  EXPECT_FALSE(h2.engine->status()[0].rom_check_running);
  EXPECT_EQ(h2.count("egm.rom_signature"), 0u);
}

namespace {
BusConfig uart_bus(const char* preset) {
  BusConfig cfg = one_egm_bus();
  cfg.link = BusConfig::Link::uart;  // default reply 50 ms, inter-byte 5 ms
  if (preset) cfg.egms[0].timing = *timing_preset(preset);
  return cfg;
}
}  // namespace

// An answer that comes after its reply timeout is still on its way when the engine sends the
// byte-identical retry, and the EGM answers the retry with a copy: the engine reads whichever
// copy comes first, and the other arrives later. Read as the answer to the next poll (a
// general poll's answer carries no address), it is taken for another machine's exception
// while that machine's own is implied-ACKed by the poll after: a wrong event and a lost one.
// After an exchange in which an attempt timed out, the engine keeps the line quiet for the
// machine's reply window, so the late copy falls on an idle line and is dropped.
TEST(SasEngine, ALateAnswersSecondCopyIsNotTakenForTheNextMachinesAnswer) {
  FakeEgm one, two;
  two.addr = 2;
  one.reply_delay_ms = two.reply_delay_ms = 100;  // both slow, within the 150 ms pty window
  Harness h(bus_with({1, 2}), {&one, &two});
  h.engine->start();
  h.run_for(5000);
  ASSERT_TRUE(h.engine->status()[0].link_up);
  ASSERT_TRUE(h.engine->status()[1].link_up);
  const std::size_t from = h.events.size();
  one.queue = {0x11};
  one.late = {160};  // its next answer misses the window; the retry's copy comes at +100
  two.queue = {0x13, 0x14, 0x15, 0x16, 0x13, 0x14};
  h.run_for(5000);
  ASSERT_TRUE(one.queue.empty() && two.queue.empty());
  ASSERT_GE(h.engine->status()[0].timeouts, 1u);
  std::map<std::string, std::vector<std::uint8_t>> reported;
  for (std::size_t i = from; i < h.events.size(); ++i) {
    const auto& ev = h.events[i];
    if (ev.source.rfind("sas:0x", 0) != 0) continue;
    const int code = std::stoi(ev.source.substr(4), nullptr, 16);
    reported[ev.egm].push_back(static_cast<std::uint8_t>(code));
  }
  EXPECT_EQ(reported["egm-1"], one.acked);
  EXPECT_EQ(reported["egm-2"], two.acked);
}

// The quiet window after a timeout is for machines that are up: a machine whose link is down
// is polled once a second without retries, and a quiet reply window after each of those would
// let a few absent machines (switched off for the night) take most of the bus from the live one.
TEST(SasEngine, AbsentMachinesDoNotStarveALiveOneOfPolls) {
  FakeEgm live, off2, off3, off4, off5;
  off2.addr = 2;
  off3.addr = 3;
  off4.addr = 4;
  off5.addr = 5;
  for (FakeEgm* m : {&off2, &off3, &off4, &off5}) m->silent = true;
  Harness h(bus_with({1, 2, 3, 4, 5}), {&live, &off2, &off3, &off4, &off5});
  h.engine->start();
  h.run_for(10'000);  // the absent ones' links are down by now
  for (std::size_t i = 1; i < 5; ++i) ASSERT_FALSE(h.engine->status()[i].link_up);
  const std::size_t from = h.wire.size();
  h.run_for(10'000);
  std::size_t live_polls = 0;
  for (std::size_t i = from; i < h.wire.size(); ++i) live_polls += h.wire[i] == Bytes{0x81};
  // 200 ms period: 50 in 10 s with the line to itself. The four absent machines' reply windows
  // (4 x 150 ms a second) leave it 43 (deterministic: a manual clock); with a quiet window after
  // each of those as well it got 34.
  EXPECT_GE(live_polls, 40u);
}

// A machine that needs 120 ms to answer: with the UART defaults every poll times out, its late
// answers are dropped as line noise and the next poll implied-ACKs them: events lost on the
// machine. With the `slow` preset nothing times out and every event is reported.
TEST(SasEngine, SlowMachineIsServedByTheSlowPreset) {
  for (const char* preset : {static_cast<const char*>(nullptr), "slow"}) {
    FakeEgm egm;
    egm.reply_delay_ms = 120;
    egm.queue = {0x11, 0x12};
    Harness h(uart_bus(preset), {&egm});
    h.engine->start();
    h.run_for(8000);
    auto st = h.engine->status()[0];
    if (!preset) {
      EXPECT_GT(st.timeouts, 5u);
      EXPECT_FALSE(st.link_up);
      EXPECT_EQ(h.count("door.opened"), 0u);
      EXPECT_FALSE(egm.acked.empty()) << "the machine took its events as delivered";
    } else {
      EXPECT_EQ(st.timeouts, 0u);
      EXPECT_TRUE(st.link_up);
      EXPECT_EQ(egm.acked, (std::vector<std::uint8_t>{0x11, 0x12}));
      EXPECT_EQ(h.count("door.opened"), 1u);
    }
  }
}

// Replies split in two chunks 12 ms apart (a USB adapter's latency timer): the 5 ms UART
// inter-byte limit cuts them (timeouts and CRC errors; a resend's first half may still join
// the late second half of the identical first answer); `usb-serial` reads every one cleanly.
TEST(SasEngine, SplitRepliesAreReadWithTheUsbSerialPreset) {
  for (const char* preset : {static_cast<const char*>(nullptr), "usb-serial"}) {
    FakeEgm egm;
    egm.split_gap_ms = 12;
    egm.queue = {0x11};
    Harness h(uart_bus(preset), {&egm});
    h.engine->start();
    h.run_for(8000);
    auto st = h.engine->status()[0];
    if (!preset) {
      EXPECT_GT(st.crc_errors + st.timeouts, 0u);
      EXPECT_GT(st.retries, 0u);
    } else {
      EXPECT_EQ(st.crc_errors + st.timeouts, 0u);
      EXPECT_EQ(st.serial, "SN0007");
      EXPECT_EQ(egm.acked, std::vector<std::uint8_t>{0x11});
    }
  }
}

// `interblock`: a 3 ms quiet line before every poll, and fillers sent to an address no machine
// on the bus uses (here 3) instead of `80`.
TEST(SasEngine, InterblockPresetKeepsAGapAndFillsWithAnUnusedAddress) {
  FakeEgm a, b;
  a.addr = 1;
  b.addr = 2;
  BusConfig cfg = bus_with({1, 2});
  for (auto& e : cfg.egms) e.timing = *timing_preset("interblock");
  Harness h(cfg, {&a, &b});
  h.engine->start();
  h.run_for(5000);
  EXPECT_TRUE(h.engine->status()[0].link_up);
  EXPECT_TRUE(h.engine->status()[1].link_up);
  std::size_t fillers = 0;
  for (std::size_t i = 0; i < h.wire.size(); ++i) {
    const Bytes& f = h.wire[i];
    EXPECT_NE(f, Bytes{0x80}) << "frame " << i;
    fillers += f == Bytes{0x83};
    // Every poll starts at least 3 ms after the last reply bytes arrived.
    std::int64_t last_rx = -1;
    for (auto t : h.rx_at) {
      if (t <= h.wire_at[i]) last_rx = t;
    }
    if (f != Bytes{0x83} && last_rx >= 0 && i > 0 && h.wire_at[i - 1] < last_rx) {
      EXPECT_GE(h.wire_at[i] - last_rx, 3) << "frame " << i;
    }
  }
  EXPECT_GT(fillers, 0u);
  EXPECT_EQ(identical_pairs(h.wire), 0u);
  EXPECT_FALSE(timing_preset("no-such-preset").has_value());
  for (auto name : timing_preset_names()) EXPECT_TRUE(timing_preset(name).has_value()) << name;
}
