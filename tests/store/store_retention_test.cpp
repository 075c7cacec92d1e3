// Retention: age and size bounds, class order, protected classes and the alarm, space reclaim,
// seq high-water mark after deleting everything, chain verification across evictions.
#include <gtest/gtest.h>

#include "store_test_util.hpp"
#include "test_process.hpp"

using namespace floorgate::store;
using floorgate::store::testing::make_event;
using floorgate::store::testing::ManualClock;
using floorgate::testing::TempDir;

namespace {

struct Fixture {
  TempDir dir;
  ManualClock clock;
  Options opt;
  std::unique_ptr<Store> s;
  Fixture(std::uint64_t max_bytes = 1ull << 30, std::chrono::seconds age = std::chrono::hours(1)) {
    opt.path = dir / "r.db";
    opt.max_bytes = max_bytes;
    opt.max_age = age;
    opt.now_ms = clock.fn();
    opt.retention_interval = std::chrono::hours(1);  // only explicit passes in these tests
    reopen();
  }
  void reopen() {
    s.reset();
    std::error_code ec;
    s = Store::open(opt, ec);
    ASSERT_FALSE(ec) << ec.message();
  }
  void add(int n, EventClass cls, const std::string& type = "x.y") {
    for (int i = 0; i < n; ++i) {
      s->append(make_event("e", cls, type, clock.now->load()), nullptr);
    }
    ASSERT_FALSE(s->append_sync(make_event("e", cls, type, clock.now->load())));
  }
  void ack_all(const std::string& c) {
    std::error_code ec;
    std::uint64_t last = 0;
    floorgate::store::testing::Reader reader(*s, c);
    for (;;) {
      auto b = reader.next(1000, ec);
      if (b.empty()) break;
      last = b.back().seq;
    }
    if (last) {
      ASSERT_FALSE(s->ack(c, last));
    }
  }
};

TEST(StoreRetention, AgeDeletesOnlyAckedRowsAndSeqIsNeverReused) {
  Fixture f;
  ASSERT_FALSE(f.s->register_consumer({"req", {}, true}));
  f.add(9, EventClass::operational);  // seq 1..10
  f.clock.now->fetch_add(2 * 3600 * 1000);
  ASSERT_FALSE(f.s->run_retention());
  EXPECT_EQ(f.s->stats().rows, 10u);  // nothing acked yet: nothing deleted
  f.ack_all("req");
  ASSERT_FALSE(f.s->run_retention());
  auto st = f.s->stats();
  EXPECT_EQ(st.rows, 0u);
  EXPECT_EQ(st.evicted_total, 10u);
  EXPECT_EQ(st.last_seq, 10u);
  EXPECT_EQ(st.anchor_seq, 10u);
  EXPECT_TRUE(f.s->verify_chain().ok);
  f.reopen();
  Record out;
  ASSERT_FALSE(f.s->append_sync(make_event("e"), &out));
  EXPECT_EQ(out.seq, 11u);  // high-water mark kept although every row was deleted
  EXPECT_EQ(out.egm_seq, 11u);
  auto chk = f.s->verify_chain();
  EXPECT_TRUE(chk.ok) << chk.detail;
  // The oldest kept seq is exact (what a replay request is checked against in the gateway).
  EXPECT_EQ(f.s->stats().first_seq, 11u);
}

TEST(StoreRetention, NonRequiredConsumerDoesNotHoldRows) {
  Fixture f;
  ASSERT_FALSE(f.s->register_consumer({"req", {{"financial"}, {}, {}}, true}));
  ASSERT_FALSE(f.s->register_consumer({"guest", {}, false}));
  f.add(4, EventClass::telemetry);  // 1..5, not routed to req
  f.add(4, EventClass::financial);  // 6..10
  f.clock.now->fetch_add(2 * 3600 * 1000);
  ASSERT_FALSE(f.s->run_retention());
  auto st = f.s->stats();
  EXPECT_EQ(st.rows, 5u);        // telemetry went; unacked financial stays
  EXPECT_EQ(st.first_seq, 6u);
  EXPECT_EQ(st.evicted_unacked_total, 0u);
  for (auto& c : st.consumers) {
    if (c.name == "guest") {
      EXPECT_EQ(c.unacked, 5u);
    }
  }
}

TEST(StoreRetention, SizeBoundEvictsTelemetryFirstAndAlarmsForProtectedRows) {
  Fixture f(1ull << 30, std::chrono::hours(24 * 365));
  ASSERT_FALSE(f.s->register_consumer({"req", {}, true}));
  f.add(299, EventClass::financial);   // 1..300 unacked, protected
  f.add(1499, EventClass::telemetry);  // 301..1800 unacked
  f.add(299, EventClass::operational); // 1801..2100
  auto before = f.s->stats();
  // Now bound the size below what the store holds: reopen with a small max_bytes.
  f.opt.max_bytes = 40 * 1024;  // below what the financial rows alone need
  f.opt.retention_chunk_rows = 500;
  f.reopen();
  for (int i = 0; i < 20; ++i) ASSERT_FALSE(f.s->run_retention());
  auto st = f.s->stats();
  QueryFilter q;
  q.limit = 10000;
  auto rows = f.s->query(q).value();
  std::size_t fin = 0, tel = 0, ops = 0;
  for (auto& r : rows) {
    fin += r.cls == EventClass::financial;
    tel += r.cls == EventClass::telemetry;
    ops += r.cls == EventClass::operational;
  }
  EXPECT_EQ(fin, 300u);  // never dropped while unacked by a required consumer
  EXPECT_EQ(tel, 0u);    // telemetry went first
  EXPECT_EQ(ops, 0u);    // then operational
  EXPECT_TRUE(st.retention_alarm) << "financial rows alone exceed the bound";
  EXPECT_FALSE(st.retention_alarm_reason.empty());
  EXPECT_GT(st.evicted_unacked_total, 1500u);
  EXPECT_LT(st.bytes, before.bytes);  // incremental vacuum gave the space back
  auto chk = f.s->verify_chain();
  EXPECT_TRUE(chk.ok) << chk.detail;
  EXPECT_EQ(st.consumers[0].unacked, rows.size());
  // Once the financial rows are acked they can go and the alarm clears.
  f.ack_all("req");
  for (int i = 0; i < 5; ++i) ASSERT_FALSE(f.s->run_retention());
  st = f.s->stats();
  EXPECT_FALSE(st.retention_alarm);
  EXPECT_TRUE(f.s->verify_chain().ok);
  Record out;
  ASSERT_FALSE(f.s->append_sync(make_event("e"), &out));
  EXPECT_EQ(out.seq, 2101u);
  EXPECT_TRUE(f.s->verify_chain().ok);
}

TEST(StoreRetention, SizeBoundTakesTelemetryBeforeOlderOperational) {
  Fixture f(1ull << 30, std::chrono::hours(24 * 365));
  ASSERT_FALSE(f.s->register_consumer({"req", {}, true}));
  f.add(999, EventClass::operational);  // 1..1000, older
  f.add(999, EventClass::telemetry);    // 1001..2000
  f.reopen();
  auto bytes = f.s->stats().bytes;
  f.opt.max_bytes = bytes * 3 / 4;
  f.reopen();
  for (int i = 0; i < 10; ++i) ASSERT_FALSE(f.s->run_retention());
  QueryFilter q;
  q.limit = 10000;
  std::size_t tel = 0, ops = 0;
  for (auto& r : f.s->query(q).value()) (r.cls == EventClass::telemetry ? tel : ops) += 1;
  EXPECT_EQ(ops, 1000u);
  EXPECT_LT(tel, 1000u);
  EXPECT_GT(tel, 0u);
  EXPECT_FALSE(f.s->stats().retention_alarm);
  EXPECT_TRUE(f.s->verify_chain().ok);
}

TEST(StoreRetention, SizeBoundPrefersAckedRowsOverUnackedTelemetry) {
  Fixture f(1ull << 30, std::chrono::hours(24 * 365));
  ASSERT_FALSE(f.s->register_consumer({"req", {}, true}));
  f.add(999, EventClass::operational);  // 1..1000
  f.ack_all("req");
  f.add(999, EventClass::telemetry);    // 1001..2000 unacked
  f.reopen();
  f.opt.max_bytes = f.s->stats().bytes * 4 / 5;  // about 400 rows too many
  f.reopen();
  for (int i = 0; i < 10; ++i) ASSERT_FALSE(f.s->run_retention());
  auto st = f.s->stats();
  EXPECT_GT(st.first_seq, 1u);
  EXPECT_EQ(st.evicted_unacked_total, 0u);  // acked rows went; no unacked telemetry did
  EXPECT_EQ(st.evicted_total, st.first_seq - 1);
  EXPECT_TRUE(f.s->verify_chain().ok);
}

TEST(StoreRetention, ChainVerifiesAcrossMiddleEvictionsAndRangeChecks) {
  Fixture f(1ull << 30, std::chrono::hours(24 * 365));
  ASSERT_FALSE(f.s->register_consumer({"req", {{"financial"}, {}, {}}, true}));
  for (int i = 0; i < 400; ++i) {
    f.s->append(make_event("e", i % 4 == 0 ? EventClass::financial : EventClass::telemetry),
                nullptr);
  }
  ASSERT_FALSE(f.s->append_sync(make_event("e", EventClass::financial)));
  f.opt.max_bytes = 16 * 1024;
  f.reopen();
  for (int i = 0; i < 10; ++i) ASSERT_FALSE(f.s->run_retention());
  auto chk = f.s->verify_chain();
  EXPECT_TRUE(chk.ok) << chk.detail;
  EXPECT_TRUE(f.s->verify_chain(100, 200).ok);
  EXPECT_EQ(f.s->stats().rows, 101u);  // only the protected financial rows are left
}

TEST(StoreRetention, RunsOnItsOwnEveryInterval) {
  Fixture f;
  f.opt.retention_interval = std::chrono::milliseconds(50);
  f.reopen();
  ASSERT_FALSE(f.s->register_consumer({"req", {}, true}));
  f.add(99, EventClass::telemetry);
  f.ack_all("req");
  f.clock.now->fetch_add(2 * 3600 * 1000);
  EXPECT_TRUE(floorgate::testing::wait_until([&] { return f.s->stats().rows == 0; },
                                             std::chrono::seconds(30)));
  EXPECT_EQ(f.s->stats().evicted_total, 100u);
  EXPECT_TRUE(f.s->verify_chain().ok);
}

}  // namespace

// Rows retention deleted are never served again, not even from the in-memory window of the
// latest commits that read_after and get use at the live edge.
TEST(StoreRetention, DeletedRowsAreNotServedFromMemory) {
  Fixture f;
  ASSERT_FALSE(f.s->register_consumer({"req", {}, true}));
  ASSERT_FALSE(f.s->register_consumer({"late", {}, false}));
  f.add(9, EventClass::operational);  // seq 1..10, all in the window
  f.ack_all("req");
  f.clock.now->fetch_add(2 * 3600 * 1000);
  ASSERT_FALSE(f.s->run_retention());
  ASSERT_EQ(f.s->stats().rows, 0u);
  std::error_code ec;
  auto rows = f.s->read_after("late", 0, 100, ec, nullptr);
  EXPECT_FALSE(ec) << ec.message();
  EXPECT_TRUE(rows.empty()) << "seq " << rows.front().seq << " was deleted";
  EXPECT_TRUE(f.s->get({3, 10}).value().empty());
  // New rows are served again, and only they.
  f.add(1, EventClass::operational);  // seq 11..12
  rows = f.s->read_after("late", 0, 100, ec, nullptr);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows.front().seq, 11u);
}
