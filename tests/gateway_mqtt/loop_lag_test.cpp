// The event-loop lag probe: the windowed maximum on a manual clock, and the probe seeing a
// real stall of its io_context; the loop meter's per-handler bound (HandlerCpuBound) on manual
// clocks, and the meter naming its longest handler.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <random>

#include "floorgate/core/loop_site.hpp"
#include "floorgate/gateway/loop_lag.hpp"

using floorgate::gateway::HandlerCpuBound;
using floorgate::gateway::LagWindow;
using floorgate::gateway::LoopLagProbe;

TEST(LagWindow, KeepsTheMaximumForOneToTwoPeriods) {
  LagWindow w(std::chrono::milliseconds(1000));
  EXPECT_EQ(w.max_ms(0), 0);
  w.record(0, 2);
  w.record(100, 250);  // a stall
  w.record(200, 3);
  EXPECT_EQ(w.max_ms(200), 250);
  EXPECT_EQ(w.max_ms(999), 250);
  w.record(1100, 1);   // next period: the stall is still in the previous one
  EXPECT_EQ(w.max_ms(1100), 250);
  EXPECT_EQ(w.max_ms(1999), 250);
  w.record(2050, 4);   // two periods on: gone
  EXPECT_EQ(w.max_ms(2050), 4);
  EXPECT_EQ(w.max_ms(5000), 0);  // nothing recorded for long: nothing to report
  w.record(9000, -5);  // early wake-ups count as zero
  EXPECT_EQ(w.max_ms(9000), 0);
}

TEST(LagWindow, ReadingWithoutNewSamplesAgesOut) {
  LagWindow w(std::chrono::milliseconds(1000));
  w.record(0, 40);
  EXPECT_EQ(w.max_ms(1500), 40);  // previous period
  EXPECT_EQ(w.max_ms(2000), 0);
}

TEST(LoopLagProbe, SeesAHandlerThatHoldsTheLoop) {
  boost::asio::io_context io;
  LoopLagProbe probe(io.get_executor(), std::chrono::milliseconds(10), std::chrono::seconds(60));
  // A handler that keeps the loop for 300 ms (as a validation on the loop once did).
  boost::asio::post(io, [] {
    auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
    while (std::chrono::steady_clock::now() < until) {
    }
  });
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (probe.max_ms() < 250 && std::chrono::steady_clock::now() < deadline) {
    io.run_one_for(std::chrono::milliseconds(100));
  }
  EXPECT_GE(probe.max_ms(), 250);
}

// The loop meter's bound on manual clocks (microseconds). Each step is a wait for work (its own
// wall time and the little CPU the wait costs) and then a handler (its CPU time, and the time
// it was preempted, which is wall time but not CPU time).
namespace {
struct ManualLoop {
  HandlerCpuBound bound{1'000};
  std::int64_t wall = 0, cpu = 0;
  std::int64_t last_read_wall = 0;
  bool reads_spaced = true;  // every CPU clock read at least 1 ms of wall after the one before
  ManualLoop() { bound.start(wall, cpu); }
  std::int64_t step(std::int64_t wait_us, std::int64_t wait_cpu_us, std::int64_t cpu_us,
                    std::int64_t preempted_us = 0) {
    wall += wait_us + cpu_us + preempted_us;
    cpu += wait_cpu_us + cpu_us;
    return bound.done(wall, [this] {
      reads_spaced = reads_spaced && wall - last_read_wall >= 1'000;
      last_read_wall = wall;
      return cpu;
    });
  }
};
}  // namespace

TEST(HandlerCpuBound, NeverBelowAHandlersCpuAndAtMostOneReadPeriodAbove) {
  std::mt19937 rng(19);  // fixed: the same sequences every run
  std::uniform_int_distribution<int> pct(0, 99);
  for (int run = 0; run < 200; ++run) {
    ManualLoop loop;
    for (int i = 0; i < 500; ++i) {
      const std::int64_t wait = pct(rng) < 50 ? 0 : pct(rng) * 40;  // back to back, or up to 4 ms
      const std::int64_t wait_cpu = std::min<std::int64_t>(wait, pct(rng) % 8);
      const std::int64_t cpu = pct(rng) < 90 ? pct(rng) * 5 : pct(rng) * 100;  // mostly short
      const std::int64_t preempted = pct(rng) < 10 ? pct(rng) * 30 : 0;
      const std::int64_t b = loop.step(wait, wait_cpu, cpu, preempted);
      ASSERT_GE(b, cpu) << "run " << run << " handler " << i;
      ASSERT_LE(b, cpu + wait_cpu + 1'000) << "run " << run << " handler " << i;
    }
    EXPECT_TRUE(loop.reads_spaced) << "run " << run;  // not a read per handler
  }
}

TEST(HandlerCpuBound, ShortHandlersInARowAreNotAddedUp) {
  ManualLoop loop;
  std::int64_t max = 0;
  for (int i = 0; i < 50; ++i) max = std::max(max, loop.step(0, 0, 300));  // 15 ms in all
  // Back to back, each handler's wall time is its own: 300, read or not.
  EXPECT_EQ(max, 300);
  EXPECT_EQ(loop.bound.reads(), 12u);  // every fourth handler (1.2 ms), not every one
}

TEST(HandlerCpuBound, ALongHandlerIsMeasuredOnTheCpuClockAndAWaitIsNot) {
  ManualLoop loop;
  EXPECT_EQ(loop.step(0, 0, 100), 100);  // under a millisecond since the start: no read
  EXPECT_EQ(loop.bound.reads(), 0u);
  // 5 ms of CPU, preempted for 15 ms more: the CPU clock, with the short handler before it.
  EXPECT_EQ(loop.step(0, 0, 5'000, 15'000), 5'100);
  EXPECT_EQ(loop.bound.reads(), 1u);
  // An idle wait of 30 ms (2 µs of CPU in it), then a 50 µs handler: the wait's wall time is
  // not taken for CPU.
  EXPECT_EQ(loop.step(30'000, 2, 50), 52);
  EXPECT_EQ(loop.bound.reads(), 2u);
  // Exactly a millisecond after that read: read again (999 µs would not be).
  EXPECT_EQ(loop.step(0, 0, 999), 999);
  EXPECT_EQ(loop.bound.reads(), 2u);
  EXPECT_EQ(loop.step(0, 0, 1), 1);
  EXPECT_EQ(loop.bound.reads(), 3u);
}

namespace {
// Uses at least `us` of this thread's CPU time (a busy loop on the thread's CPU clock, so the
// amount does not depend on how busy the machine is).
void burn_cpu(std::int64_t us) {
  auto cpu_us = [] {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
  };
  const std::int64_t until = cpu_us() + us;
  volatile std::uint64_t x = 0;
  while (cpu_us() < until) x = x + 1;
}
}  // namespace

// The longest handler is reported with the site it named (the last one it opened), and a
// handler that named none is "unnamed"; names do not leak from one handler into the next.
TEST(LoopMeter, NamesTheLongestHandlerByItsSite) {
  boost::asio::io_context io;
  floorgate::gateway::LoopMeter meter;
  boost::asio::post(io, [] { floorgate::core::LoopSite site("test.small"); });
  boost::asio::post(io, [] {
    floorgate::core::LoopSite outer("test.request");
    floorgate::core::LoopSite inner("test.heavy");  // what the request turned out to be
    burn_cpu(20'000);
  });
  boost::asio::post(io, [] { burn_cpu(2'000); });  // unnamed, shorter
  meter.run(io);
  EXPECT_EQ(meter.handlers(), 3u);
  EXPECT_GE(meter.max_handler_cpu_us(), 20'000);
  EXPECT_STREQ(meter.max_handler_site(), "test.heavy");

  boost::asio::io_context io2;
  floorgate::gateway::LoopMeter unnamed;
  boost::asio::post(io2, [] { floorgate::core::LoopSite site("test.tiny"); });
  boost::asio::post(io2, [] { burn_cpu(20'000); });
  unnamed.run(io2);
  EXPECT_STREQ(unnamed.max_handler_site(), "unnamed");  // not the previous handler's name
}
