// Append path: sequences, validation, group commit, chain, browser query.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <thread>

#include "store_test_util.hpp"
#include "test_process.hpp"

using namespace floorgate::store;
using floorgate::store::testing::make_event;
using floorgate::testing::TempDir;

namespace {

std::unique_ptr<Store> open_store(const TempDir& dir, Options o = {}) {
  o.path = dir / "store.db";
  std::error_code ec;
  auto s = Store::open(o, ec);
  EXPECT_FALSE(ec) << ec.message();
  return s;
}

TEST(StoreAppend, AssignsSeqEgmSeqEpochAndHash) {
  TempDir dir;
  auto s = open_store(dir);
  std::map<std::string, std::uint64_t> last_egm;
  for (int i = 0; i < 20; ++i) {
    Record out;
    std::string egm = i % 3 == 0 ? "bank1-01" : "bank1-02";
    ASSERT_FALSE(s->append_sync(make_event(egm), &out));
    EXPECT_EQ(out.seq, static_cast<std::uint64_t>(i + 1));
    EXPECT_EQ(out.egm_seq, last_egm[egm] + 1);
    last_egm[egm] = out.egm_seq;
    EXPECT_NE(out.epoch, 0u);
    EXPECT_NE(out.hash, (std::array<std::uint8_t, 32>{}));
  }
  auto st = s->stats();
  EXPECT_EQ(st.rows, 20u);
  EXPECT_EQ(st.last_seq, 20u);
  EXPECT_EQ(st.first_seq, 1u);
  EXPECT_TRUE(s->verify_chain().ok);
  auto got = s->get({5}).value();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].seq, 5u);
  EXPECT_EQ(got[0].type, "door.opened");
  EXPECT_EQ(got[0].attrs_json, make_event("x").attrs_json);
}

TEST(StoreAppend, EgmSeqAndEpochSurviveReopen) {
  TempDir dir;
  std::uint64_t epoch = 0;
  {
    auto s = open_store(dir);
    Record out;
    for (int i = 0; i < 3; ++i) ASSERT_FALSE(s->append_sync(make_event("a"), &out));
    epoch = out.epoch;
  }
  auto s = open_store(dir);
  Record out;
  ASSERT_FALSE(s->append_sync(make_event("a"), &out));
  EXPECT_EQ(out.seq, 4u);
  EXPECT_EQ(out.egm_seq, 4u);
  EXPECT_EQ(out.epoch, epoch);
}

TEST(StoreAppend, InvalidEventsAreRejectedAndNothingIsTouched) {
  TempDir dir;
  Options o;
  o.max_payload_bytes = 1024;
  auto s = open_store(dir, o);
  ASSERT_FALSE(s->append_sync(make_event("a")));
  auto before = s->stats();

  Record r = make_event("");
  EXPECT_EQ(s->append_sync(r), Errc::invalid_event);
  r = make_event("a");
  r.type.clear();
  EXPECT_EQ(s->append_sync(r), Errc::invalid_event);
  r = make_event("a");
  r.cls = static_cast<EventClass>(9);
  EXPECT_EQ(s->append_sync(r), Errc::invalid_event);
  r = make_event("a");
  r.attrs_json = "{\"x\":\"" + std::string(2000, 'y') + "\"}";
  EXPECT_EQ(s->append_sync(r), Errc::payload_too_large);
  r = make_event("a");
  r.raw_hex = "zz";
  EXPECT_EQ(s->append_sync(r), Errc::invalid_event);
  r = make_event("a");
  r.attrs_json = "not json";
  EXPECT_EQ(s->append_sync(r), Errc::invalid_event);
  r = make_event(std::string(65, 'e'));
  EXPECT_EQ(s->append_sync(r), Errc::invalid_event);

  auto after = s->stats();
  EXPECT_EQ(after.rows, before.rows);
  EXPECT_EQ(after.last_seq, before.last_seq);
  EXPECT_EQ(after.append_failures_total, 7u);
  EXPECT_TRUE(s->verify_chain().ok);
  Record out;
  ASSERT_FALSE(s->append_sync(make_event("a"), &out));
  EXPECT_EQ(out.seq, 2u);  // no seq was consumed by the rejected events
}

TEST(StoreAppend, ClassNamesRoundTrip) {
  for (auto c : {EventClass::financial, EventClass::security, EventClass::fault,
                 EventClass::operational, EventClass::telemetry}) {
    EXPECT_EQ(parse_event_class(to_string(c)), c);
  }
  EXPECT_FALSE(parse_event_class("bogus"));
  EXPECT_EQ(make_error_code(Errc::locked).category().name(), std::string("floorgate.store"));
}

TEST(StoreAppend, GroupCommitBatchesConcurrentProducers) {
  TempDir dir;
  auto s = open_store(dir);
  constexpr int kThreads = 4, kPer = 500;
  std::mutex mu;
  std::vector<std::uint64_t> seqs;
  std::atomic<int> done{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < kPer; ++i) {
        s->append(make_event("egm-" + std::to_string(t)), [&](std::error_code ec, const Record& r) {
          EXPECT_FALSE(ec);
          std::lock_guard lk(mu);
          seqs.push_back(r.seq);
          ++done;
        });
      }
    });
  }
  for (auto& t : ts) t.join();
  ASSERT_TRUE(floorgate::testing::wait_until([&] { return done == kThreads * kPer; },
                                             std::chrono::seconds(60)));
  std::sort(seqs.begin(), seqs.end());
  for (std::size_t i = 0; i < seqs.size(); ++i) ASSERT_EQ(seqs[i], i + 1);
  auto st = s->stats();
  EXPECT_EQ(st.appended_total, static_cast<std::uint64_t>(kThreads * kPer));
  EXPECT_LT(st.commits_total, st.appended_total);  // batched: fewer transactions than events
  EXPECT_TRUE(s->verify_chain().ok);
}

// Options::wal_limit_bytes: past it the writer has the WAL copied into the file and started
// over. The limit here (256 KiB) is far below the background checkpoint's 2 MiB, so without the
// writer's restart the WAL would pass 2 MiB before anything copied it. Every event stays.
TEST(StoreWal, WriterKeepsTheWalUnderItsLimitAndLosesNothing) {
  TempDir dir;
  Options o;
  o.wal_limit_bytes = 256 * 1024;
  // make_event's rows are dated 1970: a retention pass (every 5 s by default) would remove them
  // by age while this runs on a busy machine.
  o.retention_interval = std::chrono::hours(24);
  auto s = open_store(dir, o);
  ASSERT_TRUE(s);
  const auto wal = (dir / "store.db").string() + "-wal";
  constexpr int kEvents = 1500;  // one commit each: over 3 MB of WAL frames in all
  std::uintmax_t peak = 0;
  for (int i = 0; i < kEvents; ++i) {
    ASSERT_FALSE(s->append_sync(make_event("egm-" + std::to_string(i % 8))));
    std::error_code ec;
    peak = std::max(peak, std::filesystem::file_size(wal, ec));
  }
  // The limit plus the frames of the commit that crossed it (one page or two per commit here).
  EXPECT_LE(peak, o.wal_limit_bytes + 16 * 1024);
  auto st = s->stats();
  EXPECT_GT(st.wal_restarts_total, 0u);
  EXPECT_EQ(st.rows, static_cast<std::uint64_t>(kEvents));
  EXPECT_TRUE(s->verify_chain().ok);
  s.reset();  // closes and lets go of the file's lock
  s = open_store(dir, o);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->stats().last_seq, static_cast<std::uint64_t>(kEvents));
  EXPECT_EQ(s->stats().rows, static_cast<std::uint64_t>(kEvents));
  EXPECT_TRUE(s->verify_chain().ok);
}

TEST(StoreAppend, AppendAfterCloseFailsWithClosed) {
  TempDir dir;
  auto s = open_store(dir);
  s->close();
  s->close();  // idempotent
  EXPECT_EQ(s->append_sync(make_event("a")), Errc::closed);
}

TEST(StoreQuery, FiltersAndPagesNewestFirst) {
  TempDir dir;
  auto s = open_store(dir);
  for (int i = 0; i < 30; ++i) {
    auto cls = i % 2 ? EventClass::financial : EventClass::fault;
    ASSERT_FALSE(s->append_sync(make_event(i % 3 ? "a" : "b", cls,
                                           i % 2 ? "bill.stacked" : "bill.jam", 1000 + i)));
  }
  QueryFilter f;
  f.egm = "a";
  f.limit = 5;
  auto page1 = s->query(f).value();
  ASSERT_EQ(page1.size(), 5u);
  EXPECT_EQ(page1[0].seq, 30u);
  for (std::size_t i = 1; i < page1.size(); ++i) {
    EXPECT_LT(page1[i].seq, page1[i - 1].seq);
  }
  for (auto& r : page1) EXPECT_EQ(r.egm, "a");
  f.before_seq = page1.back().seq;
  auto page2 = s->query(f).value();
  ASSERT_FALSE(page2.empty());
  EXPECT_LT(page2[0].seq, page1.back().seq);
  // A lower bound on seq (the G2S backfill's look back): nothing below it.
  QueryFilter bounded;
  bounded.egm = "a";
  bounded.from_seq = 20;
  bounded.limit = 100;
  auto tail = s->query(bounded).value();
  ASSERT_FALSE(tail.empty());
  EXPECT_EQ(tail.front().seq, 30u);
  for (auto& r : tail) EXPECT_GE(r.seq, 20u);
  for (auto& r : tail) EXPECT_EQ(r.egm, "a");
  bounded.before_seq = 25;
  for (auto& r : s->query(bounded).value()) EXPECT_TRUE(r.seq >= 20 && r.seq < 25) << r.seq;
  QueryFilter g;
  g.cls = "financial";
  g.since_ms = 1010;
  g.until_ms = 1020;
  g.limit = 100;
  auto rows = s->query(g).value();
  EXPECT_EQ(rows.size(), 5u);
  for (auto& r : rows) {
    EXPECT_EQ(r.cls, EventClass::financial);
    EXPECT_GE(r.ts_gw_ms, 1010);
    EXPECT_LT(r.ts_gw_ms, 1020);
  }
  g.type = "bill.jam";
  EXPECT_TRUE(s->query(g).value().empty());
}

}  // namespace
