// StoreSink: driver events into the real store, durability reported on the loop, and the
// gateway's own events kept and retried when the store cannot take them (fault VFS).
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <optional>

#include "floorgate/gateway/store_sink.hpp"
#include "floorgate/store/fault_vfs.hpp"
#include "test_process.hpp"

namespace fg = floorgate::gateway;
namespace vfs = floorgate::store::fault_vfs;
using floorgate::testing::TempDir;

namespace {

floorgate::drivers::Event gateway_event(const std::string& type) {
  floorgate::drivers::Event e;
  e.egm = "gateway";
  e.type = type;
  e.cls = floorgate::drivers::EventClass::security;
  e.ts_gw_ms = 1'700'000'000'000;
  e.source = "gateway:test";
  return e;
}

// Runs the loop until pred holds; the io_context is driven here, one handler at a time.
bool run_until(boost::asio::io_context& io, const std::function<bool()>& pred) {
  return floorgate::testing::wait_until([&] {
    io.restart();
    io.poll();
    return pred();
  });
}

TEST(StoreSink, GatewayEventsAreKeptAndRetriedUntilDurable) {
  vfs::reset();
  TempDir dir;
  floorgate::store::Options o;
  o.path = dir.path() / "s.db";
  o.vfs = vfs::name();
  std::error_code ec;
  auto store = floorgate::store::Store::open(o, ec);
  ASSERT_FALSE(ec) << ec.message();
  boost::asio::io_context io;
  fg::StoreSink sink(io.get_executor(), *store);
  std::vector<std::uint64_t> heard;
  sink.add_listener([&](const floorgate::store::Record& r) { heard.push_back(r.seq); });

  vfs::fail_from(vfs::Op::write, 1);  // the device refuses writes
  sink.submit_own(gateway_event("gateway.config_changed"));
  sink.submit_own(gateway_event("gateway.login_failed"));
  ASSERT_TRUE(run_until(io, [&] { return sink.unsaved() == 2; }));
  EXPECT_EQ(sink.failed(), 2u);
  EXPECT_TRUE(heard.empty());

  vfs::reset();  // the device works again: the retry timer saves both, in order
  ASSERT_TRUE(run_until(io, [&] { return sink.durable() == 2; }));
  EXPECT_EQ(sink.unsaved(), 0u);
  EXPECT_EQ(sink.own_dropped(), 0u);
  ASSERT_EQ(heard.size(), 2u);
  auto rows = store->get(heard).value();
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].type, "gateway.config_changed");
  EXPECT_EQ(rows[1].type, "gateway.login_failed");
  store->close();
}

// A commit's events reach the loop together (one handler per burst, not one per event), in
// commit order, and no handler runs more than kDurablePerHandler of them.
TEST(StoreSink, ACommitsEventsReachTheLoopInOrderInBoundedHandlers) {
  vfs::reset();
  TempDir dir;
  floorgate::store::Options o;
  o.path = dir.path() / "s.db";
  o.commit_window = std::chrono::milliseconds(300);  // the whole burst joins one commit
  std::error_code ec;
  auto store = floorgate::store::Store::open(o, ec);
  ASSERT_FALSE(ec) << ec.message();
  boost::asio::io_context io;
  fg::StoreSink sink(io.get_executor(), *store);
  std::vector<std::uint64_t> heard, durable;
  sink.add_listener([&](const floorgate::store::Record& r) { heard.push_back(r.seq); });
  constexpr std::size_t kEvents = 300;
  std::size_t in_handler = 0, most = 0, failed = 0;
  for (std::size_t i = 0; i < kEvents; ++i) {
    sink.submit(gateway_event("gateway.test"), [&](std::error_code e, std::uint64_t seq) {
      failed += e ? 1 : 0;
      durable.push_back(seq);
      ++in_handler;
    });
  }
  auto work = boost::asio::make_work_guard(io);  // run_one_for waits for the writer's post
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (durable.size() < kEvents && std::chrono::steady_clock::now() < deadline) {
    in_handler = 0;
    io.run_one_for(std::chrono::milliseconds(100));
    most = std::max(most, in_handler);
  }
  ASSERT_EQ(durable.size(), kEvents);
  EXPECT_EQ(failed, 0u);
  EXPECT_EQ(heard, durable);  // each listener call came right before its event's handler
  for (std::size_t i = 1; i < durable.size(); ++i) EXPECT_EQ(durable[i], durable[0] + i);
  EXPECT_LE(most, fg::StoreSink::kDurablePerHandler);
  EXPECT_GT(most, 1u);
  EXPECT_EQ(sink.pending(), 0u);
  store->close();
}

// after_pending runs once every event submitted before it is reported (a restarted G2S bus
// reads its EGMs' stored keys then, and finds what its predecessor was still committing);
// with nothing pending it runs at once (posted). Events submitted after it do not hold it.
TEST(StoreSink, AfterPendingWaitsForEverythingSubmittedBeforeIt) {
  vfs::reset();
  TempDir dir;
  floorgate::store::Options o;
  o.path = dir.path() / "s.db";
  o.commit_window = std::chrono::milliseconds(300);  // the events are still committing below
  std::error_code ec;
  auto store = floorgate::store::Store::open(o, ec);
  ASSERT_FALSE(ec) << ec.message();
  boost::asio::io_context io;
  fg::StoreSink sink(io.get_executor(), *store);
  bool idle_ran = false;
  sink.after_pending([&] { idle_ran = true; });
  EXPECT_FALSE(idle_ran);  // posted, not called inside
  ASSERT_TRUE(run_until(io, [&] { return idle_ran; }));
  for (int i = 0; i < 5; ++i) sink.submit(gateway_event("gateway.test"), nullptr);
  std::optional<std::uint64_t> durable_then;
  std::size_t stored_then = 0;
  sink.after_pending([&] {
    durable_then = sink.durable();
    floorgate::store::QueryFilter f;
    stored_then = store->query(f).value().size();
  });
  EXPECT_EQ(sink.pending(), 5u);
  sink.submit(gateway_event("gateway.later"), nullptr);
  ASSERT_TRUE(run_until(io, [&] { return durable_then.has_value(); }));
  EXPECT_GE(*durable_then, 5u);
  EXPECT_GE(stored_then, 5u);
  ASSERT_TRUE(run_until(io, [&] { return sink.pending() == 0; }));
  store->close();
}

}  // namespace
