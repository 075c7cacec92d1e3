// The event-loop lag probe: the windowed maximum on a manual clock, and the probe seeing a
// real stall of its io_context; the loop meter naming its longest handler.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <cstdint>
#include <ctime>

#include "floorgate/core/loop_site.hpp"
#include "floorgate/gateway/loop_lag.hpp"

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
