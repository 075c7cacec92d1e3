// Engine unit tests of timing: the two kinds of deadline and early timer calls, reply windows
// and late answers, absent machines, and the line presets (slow machine, USB serial,
// interblock); manual clock, fake EGMs.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "sas_harness_gtest.hpp"

using namespace floorgate::drivers::sas;
using namespace floorgate::drivers::sas::testing;

TEST(SasEngine, EarlyTimerCallsChangeNothingOnTheWire) {
  // Bus keeps one timer per kind of deadline and lets a timer fire early rather than cancel
  // it: on_timer() must act only on what is due. Same machine, same events, with and without
  // a call at every millisecond: the same frames at the same times, the same events. (Without
  // the wake grid, which by design lets a loop that is awake anyway send what is due.)
  auto run = [](bool early) {
    FakeEgm egm;
    egm.queue = {0x11, 0x12, 0x51, 0x17};
    egm.late = {30, 30};  // two answers after the reply timeout: retries and timeouts too
    BusConfig cfg = one_egm_bus();
    cfg.wake_grid = std::chrono::milliseconds(0);
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

// BusConfig::wake_grid: a quiet machine's poll waits for the next grid point (every bus of a
// gateway shares the grid, so the buses wake together), and a poll that falls due while the
// engine is awake for an answer goes out at once, chained behind it. Sixteen quiet machines
// with poll periods from 40 to 55 ms, so their schedules drift apart: without a grid the
// engine wakes at odd milliseconds, with it only on the grid, and no machine is polled early.
TEST(SasEngine, WakeGridGathersScheduledPollsAndNeverPollsEarly) {
  struct Run {
    std::size_t polls = 0;
    bool off_grid_wake = false, early = false;
  };
  auto run = [](std::int64_t grid) {
    std::vector<FakeEgm> fakes(16);
    std::vector<FakeEgm*> ptrs;
    BusConfig cfg = one_egm_bus();
    cfg.egms.clear();
    for (std::uint8_t i = 0; i < 16; ++i) {
      fakes[i].addr = static_cast<std::uint8_t>(i + 1);
      ptrs.push_back(&fakes[i]);
      EgmConfig e = one_egm_bus(static_cast<std::uint8_t>(i + 1)).egms.front();
      e.poll_period = std::chrono::milliseconds(40 + i);
      cfg.egms.push_back(e);
    }
    cfg.wake_grid = std::chrono::milliseconds(grid);
    Harness h(cfg, ptrs);
    h.engine->start();
    h.run_for(6000);
    Run r;
    std::map<std::uint8_t, std::int64_t> last;  // address -> when its last general poll went
    for (std::size_t i = 0; i < h.wire.size(); ++i) {
      const auto& f = h.wire[i];
      const std::int64_t at = h.wire_at[i];
      // After identification, meters, clock and RTE set-up: busy machines, and some answers
      // that end only at the inter-byte timeout, a deadline the grid does not move.
      if (at < 3000) continue;
      // Not sent on an answer: the engine woke for it. Judged against a 5 ms grid in both runs.
      if (std::find(h.rx_at.begin(), h.rx_at.end(), at) == h.rx_at.end()) {
        r.off_grid_wake |= at % 5 != 0;
      }
      if (f.size() != 1 || f[0] == 0x80) continue;  // long polls and the sync poll
      const std::uint8_t addr = f[0] & 0x7F;
      ++r.polls;
      // The period runs from the end of the exchange (the answer takes 2 ms).
      if (last.count(addr) && at - last[addr] < 40 + addr - 1) r.early = true;
      last[addr] = at;
    }
    return r;
  };
  const Run plain = run(0);
  const Run grid = run(5);
  EXPECT_GT(plain.polls, 800u);
  EXPECT_FALSE(plain.early);
  EXPECT_FALSE(grid.early);
  EXPECT_TRUE(plain.off_grid_wake);  // the check below can fail
  EXPECT_FALSE(grid.off_grid_wake);
  // Later by at most grid - 1 ms per period: at most a tenth fewer polls.
  EXPECT_GT(grid.polls * 10, plain.polls * 9);
}

// A machine that is reporting events is polled at its own time: the grid would otherwise cost
// it up to wake_grid - 1 ms per event, and a busy machine's exception queue would drain more
// slowly (a floor near its poll capacity loses events to 0x70 overflows sooner).
TEST(SasEngine, WakeGridDoesNotSlowAMachineReportingEvents) {
  auto run = [](std::int64_t grid) {
    FakeEgm egm;
    for (int i = 0; i < 6; ++i) egm.queue.insert(egm.queue.end(), {0x7E, 0x7F});
    BusConfig cfg = one_egm_bus();
    cfg.egms[0].poll_period = std::chrono::milliseconds(40);
    cfg.wake_grid = std::chrono::milliseconds(grid);
    Harness h(cfg, {&egm});
    h.engine->start();
    h.run_for(3000);
    // Each event and how long after the first (link.up) it came: a machine whose link is down
    // is polled on the grid, so the link may come up a little later.
    std::vector<std::pair<std::string, std::int64_t>> out;
    for (const auto& e : h.events) out.emplace_back(e.type, e.ts_gw_ms - h.events[0].ts_gw_ms);
    return std::make_pair(out, h.wire_at);
  };
  const auto plain = run(0);
  const auto grid = run(5);
  EXPECT_EQ(std::count_if(plain.first.begin(), plain.first.end(),
                          [](const auto& p) { return p.first == "game.started"; }),
            6);
  EXPECT_EQ(plain.first, grid.first);  // every event at the same pace
  // Once the queue is empty the machine is quiet, and its polls move to the grid.
  EXPECT_NE(plain.second, grid.second);
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

// A machine too slow for its reply window never comes up: every poll to it times out, and as
// its link is down it is polled about once a second, without retries. Its answers still come,
// late: each must fall on a quiet line, not into the next machine's exchange, where it would be
// taken for that machine's exception while that machine's own is implied-ACKed by the poll
// after (a wrong event and a lost one).
TEST(SasEngine, ALateAnswerOfAMachineWhoseLinkIsDownIsNotTakenForTheNextMachines) {
  FakeEgm live, slow;
  slow.addr = 2;
  slow.reply_delay_ms = 180;  // past the pty bus's 150 ms window: its link never comes up
  live.reply_delay_ms = 60;   // inside it, long enough for a late byte to land in its exchange
  slow.queue = {0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1A};
  live.queue = {0x13, 0x14, 0x15, 0x16, 0x13, 0x14, 0x15, 0x16, 0x13, 0x14, 0x15, 0x16};
  Harness h(bus_with({1, 2}), {&live, &slow});
  h.engine->start();
  h.run_for(20'000);
  ASSERT_FALSE(h.engine->status()[1].link_up);
  ASSERT_GE(h.engine->status()[1].timeouts, 10u);
  ASSERT_TRUE(live.queue.empty());
  std::map<std::string, std::vector<std::uint8_t>> reported;
  for (const auto& ev : h.events) {
    if (ev.source.rfind("sas:0x", 0) != 0) continue;
    const int code = std::stoi(ev.source.substr(4), nullptr, 16);
    reported[ev.egm].push_back(static_cast<std::uint8_t>(code));
  }
  EXPECT_EQ(reported["egm-1"], live.acked);
  EXPECT_TRUE(reported["egm-2"].empty());
}

// Each poll to a machine whose link is down takes the line for two reply windows (its timeout,
// then the quiet window above). It is polled once a second at first; once it has been silent
// for half a minute more, every 5 s, so a few machines switched off for the night leave the
// live one nearly all of its polls.
TEST(SasEngine, AbsentMachinesDoNotStarveALiveOneOfPolls) {
  FakeEgm live, off2, off3, off4, off5;
  off2.addr = 2;
  off3.addr = 3;
  off4.addr = 4;
  off5.addr = 5;
  for (FakeEgm* m : {&off2, &off3, &off4, &off5}) m->silent = true;
  Harness h(bus_with({1, 2, 3, 4, 5}), {&live, &off2, &off3, &off4, &off5});
  h.engine->start();
  auto live_polls_in = [&](std::int64_t ms) {
    const std::size_t from = h.wire.size();
    h.run_for(ms);
    std::size_t n = 0;
    for (std::size_t i = from; i < h.wire.size(); ++i) n += h.wire[i] == Bytes{0x81};
    return n;
  };
  // 200 ms period: 50 in 10 s with the line to itself (deterministic: a manual clock). In the
  // first minute four absent machines polled once a second, 300 ms each, take nearly all of
  // the line: the live one got 23. Then they are polled every 5 s: 40 (43 when a down
  // machine's poll had no quiet window and could lose a neighbour's event, 34 with the window
  // and no slower polling).
  const std::size_t first = live_polls_in(10'000);
  for (std::size_t i = 1; i < 5; ++i) ASSERT_FALSE(h.engine->status()[i].link_up);
  h.run_for(60'000);
  const std::size_t later = live_polls_in(10'000);
  EXPECT_GE(later, 40u) << "the first 10 s: " << first;
  EXPECT_GT(later, first + 10);
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
