// find_stored_keys (the G2S backfill's look at the store) against a real store file: keys are
// found through the EGM filter, the seq lower bound from `since_ms` and across windows.
#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <optional>

#include "app/bus_driver.hpp"
#include "floorgate/store/store.hpp"
#include "test_process.hpp"

namespace app = floorgate::gateway::app;
namespace store = floorgate::store;
using floorgate::drivers::g2s::SeenKey;

namespace {

std::string dt(int id) { return "2026-01-02T03:04:05." + std::to_string(100000 + id) + "Z"; }

store::Record g2s_event(const std::string& egm, int id, std::int64_t ts) {
  store::Record r;
  r.egm = egm;
  r.cls = store::EventClass::fault;
  r.type = "tilt.general";
  r.ts_gw_ms = ts;
  r.source = "g2s:G2S_CBE309";
  r.attrs_json = "{\"event_id\":" + std::to_string(id) + ",\"event_dt\":\"" + dt(id) + "\"}";
  return r;
}

}  // namespace

TEST(FindStoredKeys, FindsWhatTheEgmStoredSinceTheTimeAcrossWindows) {
  floorgate::testing::TempDir dir;
  store::Options o;
  o.path = dir / "s.db";
  std::error_code ec;
  auto s = store::Store::open(o, ec);
  ASSERT_FALSE(ec) << ec.message();
  // 15,000 events of g1 and, interleaved, 15,000 of g2 with the same eventIds and times.
  std::atomic<int> durable{0}, failed{0};
  for (int id = 1; id <= 15000; ++id) {
    for (const char* egm : {"g1", "g2"}) {
      s->append(g2s_event(egm, id, 1'000'000 + id * 10),
                [&](std::error_code e, const store::Record&) { ++(e ? failed : durable); });
    }
  }
  ASSERT_TRUE(floorgate::testing::wait_until([&] { return durable + failed == 30000; },
                                             std::chrono::seconds(120)));
  ASSERT_EQ(failed.load(), 0);
  // A read covers 10,000 seqs: 500 (seq 1,000) is in the third window.
  const std::vector<SeenKey> asked = {
      {14990, dt(14990)}, {7000, dt(7000)}, {500, dt(500)},  // stored since the time
      {10, dt(10)},                                        // stored, before the time
      {99999, dt(99999)}, {3001, "2025-12-31T00:00:00Z"},  // never stored
  };
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  std::optional<std::vector<SeenKey>> found;
  app::find_stored_keys(*s, io.get_executor(), "g2s-bus", "g1", asked, 1'000'000 + 400 * 10,
                        [&](std::vector<SeenKey> keys) { found = std::move(keys); });
  for (int i = 0; i < 10000 && !found; ++i) io.run_one_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(found.has_value());
  std::vector<std::int64_t> ids;
  for (const auto& k : *found) ids.push_back(k.event_id);
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<std::int64_t>{500, 7000, 14990}));
  // Nothing stored since then: nothing found, at once.
  found.reset();
  app::find_stored_keys(*s, io.get_executor(), "g2s-bus", "g1", asked, 9'000'000'000,
                        [&](std::vector<SeenKey> keys) { found = std::move(keys); });
  for (int i = 0; i < 10000 && !found; ++i) io.run_one_for(std::chrono::milliseconds(10));
  ASSERT_TRUE(found.has_value());
  EXPECT_TRUE(found->empty());
}
