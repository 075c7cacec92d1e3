// The event-loop lag probe: the windowed maximum on a manual clock, and the probe seeing a
// real stall of its io_context.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>

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
