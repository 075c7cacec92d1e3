// Consumers: routes, delivery batches, ack rules, replay/rewind, dead letters, counters.
#include <gtest/gtest.h>

#include <future>

#include "store_test_util.hpp"
#include "test_process.hpp"

using namespace floorgate::store;
using floorgate::store::testing::make_event;
using floorgate::store::testing::Readers;
using floorgate::testing::TempDir;

namespace {

std::unique_ptr<Store> open_at(const std::filesystem::path& p) {
  Options o;
  o.path = p;
  std::error_code ec;
  auto s = Store::open(o, ec);
  EXPECT_FALSE(ec) << ec.message();
  return s;
}

// 60 events: class cycles financial, security, fault, operational, telemetry; 3 EGMs.
void fill(Store& s, int n = 60) {
  static const char* types[] = {"bill.stacked", "door.opened", "bill.jam", "game.started",
                                "meters.snapshot"};
  for (int i = 0; i < n; ++i) {
    auto cls = static_cast<EventClass>(i % 5);
    ASSERT_FALSE(s.append_sync(make_event("egm-" + std::to_string(i % 3), cls, types[i % 5],
                                          1000 + i * 10)));
  }
}

// The loop's read of a consumer's dead letters (their events), waited for.
std::pair<std::error_code, std::vector<Record>> dead_letter_events(Store& s, const std::string& c) {
  std::promise<std::pair<std::error_code, std::vector<Record>>> read;
  s.dead_letter_events_async(c, [&](std::error_code ec, std::vector<Record> rows) {
    read.set_value({ec, std::move(rows)});
  });
  return read.get_future().get();
}

// Counts by reading every row (query() pages by 10,000 at most).
std::uint64_t brute_pending(Store& s, const Route& route, std::uint64_t after) {
  QueryFilter f;
  f.limit = 10000;
  std::uint64_t n = 0;
  for (;;) {
    auto rows = s.query(f).value();
    for (auto& r : rows) n += (r.seq > after && selects(route, r)) ? 1 : 0;
    if (rows.size() < f.limit) return n;
    f.before_seq = rows.back().seq;  // newest first
  }
}

TEST(StoreConsumer, RoutesSelectClassesTypesAndEgms) {
  TempDir dir;
  auto s = open_at(dir / "s.db");
  Readers rd(*s);
  ConsumerSpec money{"slot", {{"financial", "security"}, {}, {}}, true};
  ConsumerSpec tilt{"maint", {{}, {"bill.*"}, {"egm-1"}}, false};
  ConsumerSpec all{"analytics", {}, false};
  ASSERT_FALSE(s->register_consumer(money));
  ASSERT_FALSE(s->register_consumer(tilt));
  ASSERT_FALSE(s->register_consumer(all));
  fill(*s);
  std::error_code ec;
  auto a = rd["slot"].next(10, ec);
  ASSERT_FALSE(ec);
  ASSERT_EQ(a.size(), 10u);
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(a[i].cls == EventClass::financial || a[i].cls == EventClass::security);
    if (i) {
      EXPECT_GT(a[i].seq, a[i - 1].seq);
    }
  }
  auto b = rd["slot"].next(100, ec);
  EXPECT_EQ(a.size() + b.size(), 24u);
  EXPECT_GT(b.front().seq, a.back().seq);
  EXPECT_TRUE(rd["slot"].next(100, ec).empty());

  auto m = rd["maint"].next(100, ec);
  ASSERT_FALSE(m.empty());
  for (auto& r : m) {
    EXPECT_EQ(r.egm, "egm-1");
    EXPECT_EQ(r.type.rfind("bill.", 0), 0u);
  }
  EXPECT_EQ(m.size(), brute_pending(*s, tilt.route, 0));
  EXPECT_EQ(rd["analytics"].next(1000, ec).size(), 60u);

  rd["nobody"].next(1, ec);
  EXPECT_EQ(ec, Errc::unknown_consumer);
  EXPECT_EQ(s->register_consumer({"bad", {{"nonsense"}, {}, {}}, true}), Errc::invalid_event);
  EXPECT_EQ(s->register_consumer({"", {}, true}), Errc::invalid_event);
}

TEST(StoreConsumer, AckRulesAndDurableCursor) {
  TempDir dir;
  {
    auto s = open_at(dir / "s.db");
    Readers rd(*s);
    ASSERT_FALSE(s->register_consumer({"c", {{"financial"}, {}, {}}, true}));
    fill(*s);
    std::error_code ec;
    auto batch = rd["c"].next(5, ec);
    ASSERT_EQ(batch.size(), 5u);
    auto sent = batch.back().seq;
    EXPECT_EQ(s->ack("c", sent + 1), Errc::ack_beyond_sent);
    EXPECT_FALSE(s->ack("c", batch[2].seq));
    EXPECT_FALSE(s->ack("c", batch[2].seq));  // repeated: harmless no-op
    EXPECT_EQ(s->ack("c", batch[1].seq), Errc::ack_backwards);
    EXPECT_EQ(s->ack("nobody", 1), Errc::unknown_consumer);
    std::promise<std::error_code> p;
    s->ack_async("c", sent, [&](std::error_code e) { p.set_value(e); });
    EXPECT_FALSE(p.get_future().get());
    auto st = s->stats();
    ASSERT_EQ(st.consumers.size(), 1u);
    EXPECT_EQ(st.consumers[0].acked_upto, sent);
    EXPECT_EQ(st.consumers[0].unacked, 12u - 5u);
    EXPECT_EQ(st.consumers[0].unacked, brute_pending(*s, {{"financial"}, {}, {}}, sent));
    // Refreshed off the caller's thread once asked for: wait for the reading to arrive.
    EXPECT_TRUE(floorgate::testing::wait_until(
        [&] { return s->stats().consumers[0].oldest_unacked_ts_ms.has_value(); }));
  }
  auto s = open_at(dir / "s.db");
  Readers rd(*s);
  auto st = s->stats();
  ASSERT_EQ(st.consumers.size(), 1u);
  EXPECT_EQ(st.consumers[0].unacked, 7u);
  std::error_code ec;
  auto next = rd["c"].next(1, ec);
  ASSERT_EQ(next.size(), 1u);
  EXPECT_GT(next[0].seq, st.consumers[0].acked_upto);  // delivery resumes after the cursor
}

TEST(StoreConsumer, ReplayRewindAndReadAfter) {
  TempDir dir;
  auto s = open_at(dir / "s.db");
  Readers rd(*s);
  ASSERT_FALSE(s->register_consumer({"c", {}, true}));
  fill(*s, 20);
  std::error_code ec;
  auto b = rd["c"].next(10, ec);
  ASSERT_EQ(b.size(), 10u);
  ASSERT_FALSE(s->ack("c", 10));
  rd["c"].seek(3);  // the caller owns the position: a replay is a read from an earlier seq
  auto r = rd["c"].next(2, ec);
  ASSERT_EQ(r.size(), 2u);
  EXPECT_EQ(r[0].seq, 3u);
  EXPECT_EQ(s->stats().consumers[0].acked_upto, 10u);  // reading again leaves the acked cursor
  rd["c"].rewind_to_ack();
  EXPECT_EQ(rd["c"].next(1, ec).at(0).seq, 11u);
  EXPECT_TRUE(s->read_after("c", 20, 5, ec).empty());  // past the newest: nothing, no error
  EXPECT_FALSE(ec);
  s->read_after("x", 1, 1, ec);
  EXPECT_EQ(ec, Errc::unknown_consumer);
  auto ra = s->read_after("c", 15, 3, ec);
  ASSERT_EQ(ra.size(), 3u);
  EXPECT_EQ(ra[0].seq, 16u);
  EXPECT_FALSE(s->ack("c", 18));  // read_after raised sent_upto
  EXPECT_EQ(s->seq_at_time(1000 + 7 * 10).value(), 8u);
  EXPECT_EQ(s->seq_at_time(1000 + 7 * 10 - 5).value(), 8u);
  EXPECT_EQ(s->seq_at_time(0).value(), 1u);
  EXPECT_FALSE(s->seq_at_time(999999).value().has_value());
  // The loop's form answers the same from the query thread.
  std::promise<floorgate::core::Result<std::optional<std::uint64_t>>> at;
  s->seq_at_time_async(1000 + 7 * 10 - 5, [&](auto found) { at.set_value(std::move(found)); });
  EXPECT_EQ(at.get_future().get().value(), 8u);
}

TEST(StoreConsumer, DeadLetters) {
  TempDir dir;
  auto s = open_at(dir / "s.db");
  ASSERT_FALSE(s->register_consumer({"c", {}, true}));
  fill(*s, 5);
  ASSERT_FALSE(s->dead_letter("c", 2, "schema rejected"));
  ASSERT_FALSE(s->dead_letter("c", 4, "nack"));
  EXPECT_EQ(s->dead_letter("c", 99, "x"), Errc::out_of_range);
  EXPECT_EQ(s->dead_letter("nobody", 1, "x"), Errc::unknown_consumer);
  auto dl = s->dead_letters("c");
  ASSERT_EQ(dl.size(), 2u);
  EXPECT_EQ(dl[0].seq, 2u);
  EXPECT_EQ(dl[0].reason, "schema rejected");
  EXPECT_EQ(s->stats().consumers[0].dead_letters, 2u);
  EXPECT_EQ(s->get({dl[0].seq, dl[1].seq}).value().size(), 2u);
  // Redelivery reads their events, in seq order; the list stays until each is cleared.
  auto [ec, rows] = dead_letter_events(*s, "c");
  ASSERT_FALSE(ec);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].seq, 2u);
  EXPECT_EQ(rows[1].seq, 4u);
  EXPECT_EQ(s->dead_letters("c").size(), 2u);
  std::promise<std::error_code> cleared;
  s->clear_dead_letters_async("c", {2}, [&](std::error_code e) { cleared.set_value(e); });
  EXPECT_FALSE(cleared.get_future().get());
  ASSERT_EQ(s->dead_letters("c").size(), 1u);
  EXPECT_EQ(s->dead_letters("c")[0].seq, 4u);
  EXPECT_EQ(s->stats().consumers[0].dead_letters, 1u);
  std::promise<std::error_code> rest;
  s->clear_dead_letters_async("c", {4}, [&](std::error_code e) { rest.set_value(e); });
  EXPECT_FALSE(rest.get_future().get());
  EXPECT_TRUE(s->dead_letters("c").empty());
  EXPECT_EQ(s->stats().consumers[0].dead_letters, 0u);
  std::promise<std::error_code> unknown;
  s->dead_letter_events_async("nobody", [&](std::error_code e, std::vector<Record>) {
    unknown.set_value(e);
  });
  EXPECT_EQ(unknown.get_future().get(), Errc::unknown_consumer);
  std::promise<std::error_code> async_dead;
  s->dead_letter_async("c", 3, "late", [&](std::error_code e) { async_dead.set_value(e); });
  EXPECT_FALSE(async_dead.get_future().get());
  EXPECT_EQ(s->stats().consumers[0].dead_letters, 1u);
}

// A dead letter whose event the consumer's route does not select (a nack naming a seq it was
// never sent) is never handed out for redelivery, which would publish it on that consumer's
// topic: it leaves the list when the list is read.
TEST(StoreConsumer, ADeadLetterOutsideTheRouteIsDroppedNotRedelivered) {
  TempDir dir;
  auto s = open_at(dir / "s.db");
  const Route security{{"security"}, {}, {}};
  ASSERT_FALSE(s->register_consumer({"c", security, true}));
  fill(*s, 10);  // security: seq 2 and 7
  ASSERT_FALSE(s->dead_letter("c", 2, "nack"));
  ASSERT_FALSE(s->dead_letter("c", 3, "nack of a fault event"));
  ASSERT_FALSE(s->dead_letter("c", 7, "nack"));
  ASSERT_EQ(s->stats().consumers[0].dead_letters, 3u);
  auto [ec, rows] = dead_letter_events(*s, "c");
  ASSERT_FALSE(ec);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].seq, 2u);
  EXPECT_EQ(rows[1].seq, 7u);
  auto listed = s->dead_letters("c");
  ASSERT_EQ(listed.size(), 2u);
  EXPECT_EQ(listed[0].seq, 2u);
  EXPECT_EQ(listed[1].seq, 7u);
  EXPECT_EQ(s->stats().consumers[0].dead_letters, 2u);
}

TEST(StoreConsumer, AsyncRegistrationAnswersWithTheDurableCursor) {
  TempDir dir;
  auto s = open_at(dir / "s.db");
  ASSERT_FALSE(s->register_consumer({"c", {}, true}));
  fill(*s, 5);
  std::error_code ec;
  ASSERT_EQ(s->read_after("c", 0, 3, ec).size(), 3u);
  ASSERT_FALSE(s->ack("c", 3));
  std::promise<std::pair<std::error_code, std::uint64_t>> p;
  s->register_consumer_async({"c", {{"financial"}, {}, {}}, true}, [&](std::error_code e,
                                                                       std::uint64_t acked) {
    p.set_value({e, acked});
  });
  auto [rec, acked] = p.get_future().get();
  EXPECT_FALSE(rec);
  EXPECT_EQ(acked, 3u);
  std::promise<std::error_code> bad;
  s->register_consumer_async({"", {}, true}, [&](std::error_code e, std::uint64_t) {
    bad.set_value(e);
  });
  EXPECT_EQ(bad.get_future().get(), Errc::invalid_event);
}

TEST(StoreConsumer, SparseRouteIsFoundBehindManyOtherRows) {
  TempDir dir;
  auto s = open_at(dir / "s.db");
  Readers rd(*s);
  ASSERT_FALSE(s->register_consumer({"rare", {{}, {"handpay.pending"}, {}}, true}));
  for (int i = 0; i < 3000; ++i) {
    bool rare = i % 1000 == 999;
    s->append(make_event("e", rare ? EventClass::financial : EventClass::telemetry,
                         rare ? "handpay.pending" : "meters.snapshot"),
              nullptr);
  }
  ASSERT_FALSE(s->append_sync(make_event("e")));
  std::error_code ec;
  std::vector<Record> got;
  for (int i = 0; i < 10 && got.size() < 3; ++i) {
    auto b = rd["rare"].next(10, ec);
    got.insert(got.end(), b.begin(), b.end());
  }
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].seq, 1000u);
  EXPECT_EQ(got[2].seq, 3000u);
  EXPECT_EQ(s->stats().consumers[0].unacked, 3u);
  ASSERT_FALSE(s->ack("rare", 3000));
  EXPECT_EQ(s->stats().consumers[0].unacked, 0u);
}

TEST(StoreConsumer, ReRegisterKeepsCursorAndRecountsPending) {
  TempDir dir;
  auto s = open_at(dir / "s.db");
  Readers rd(*s);
  ASSERT_FALSE(s->register_consumer({"c", {}, true}));
  fill(*s, 10);
  std::error_code ec;
  rd["c"].next(4, ec);
  ASSERT_FALSE(s->ack("c", 4));
  ASSERT_FALSE(s->register_consumer({"c", {{"telemetry"}, {}, {}}, false}));
  auto st = s->stats();
  EXPECT_EQ(st.consumers[0].acked_upto, 4u);
  EXPECT_FALSE(st.consumers[0].required);
  EXPECT_EQ(st.consumers[0].unacked, brute_pending(*s, {{"telemetry"}, {}, {}}, 4));
  ASSERT_FALSE(s->remove_consumer("c"));
  EXPECT_TRUE(s->stats().consumers.empty());
  EXPECT_EQ(s->remove_consumer("c"), Errc::unknown_consumer);
}

// An operator reset moves the durable cursor both ways, recounts the backlog, survives a
// reopen, accepts the consumer's acks from the new cursor on, and refuses seqs outside the
// kept rows and unknown consumers.
TEST(StoreConsumer, ResetMovesTheCursorBothWaysAndRecounts) {
  TempDir dir;
  const Route security{{"security"}, {}, {}};
  {
    auto s = open_at(dir / "s.db");
    Readers rd(*s);
    ASSERT_FALSE(s->register_consumer({"c", security, true}));
    fill(*s, 30);
    std::error_code ec;
    auto rows = rd["c"].next(100, ec);
    ASSERT_EQ(rows.size(), 6u);  // security: seq 2, 7, ..., 27
    ASSERT_FALSE(s->ack("c", 27));
    EXPECT_EQ(s->stats().consumers[0].unacked, 0u);
    std::uint64_t previous = 0;
    ASSERT_FALSE(s->reset_consumer("c", 7, &previous));
    EXPECT_EQ(previous, 27u);
    auto st = s->stats();
    EXPECT_EQ(st.consumers[0].acked_upto, 7u);
    EXPECT_EQ(st.consumers[0].unacked, brute_pending(*s, security, 7));
    EXPECT_GT(st.consumers[0].unacked, 0u);
    // The consumer acks the redelivered rows from the new cursor on.
    ASSERT_FALSE(s->ack("c", 12));
    ASSERT_FALSE(s->reset_consumer("c", 25, &previous));  // forward: skips
    EXPECT_EQ(previous, 12u);
    EXPECT_EQ(s->stats().consumers[0].unacked, brute_pending(*s, security, 25));
    EXPECT_EQ(s->reset_consumer("c", 31), Errc::out_of_range);
    EXPECT_EQ(s->reset_consumer("x", 3), Errc::unknown_consumer);
    s->close();
  }
  auto s = open_at(dir / "s.db");
  ASSERT_FALSE(s->register_consumer({"c", security, true}));
  EXPECT_EQ(s->stats().consumers[0].acked_upto, 25u);
  EXPECT_EQ(s->stats().consumers[0].unacked, brute_pending(*s, security, 25));
}

// Whatever the route (classes, types, EGMs, none), walking a stream in small batches yields
// exactly the matching rows in order: also where the density changes sharply, and for a rare
// EGM whose rows sit in two class tables hundreds of rows apart (each table's stream stops at
// its LIMIT long before the next match, and the merge must not claim to have covered more).
TEST(StoreConsumer, BatchesMatchBruteForceForEveryRouteShape) {
  TempDir dir;
  auto s = open_at(dir / "s.db");
  Readers rd(*s);
  std::vector<ConsumerSpec> specs = {
      {"dense", {{"operational", "telemetry"}, {}, {}}, true},
      {"sparse", {{"security"}, {}, {}}, true},
      {"typed", {{"financial", "telemetry"}, {"bill.*", "meters.*"}, {}}, false},
      {"types_only", {{}, {"door.*", "game.*"}, {}}, false},
      {"one_egm", {{}, {}, {"egm-2"}}, false},
      {"everything", {}, false},
      {"rare_egm", {{}, {}, {"egm-9"}}, false}};
  for (auto& c : specs) ASSERT_FALSE(s->register_consumer(c));
  std::vector<Record> all;
  for (int i = 0; i < 4000; ++i) {
    // First half: every class common; second half: security 1 in 500, the rest telemetry.
    EventClass cls = i < 2000 ? static_cast<EventClass>(i % 5)
                              : (i % 500 == 0 ? EventClass::security : EventClass::telemetry);
    const char* type = cls == EventClass::financial   ? "bill.stacked"
                       : cls == EventClass::telemetry ? "meters.snapshot"
                                                      : "door.opened";
    // egm-9: every 700th row, financial in the first half and telemetry in the second.
    std::string egm = i % 700 == 350 ? "egm-9" : "egm-" + std::to_string(i % 4);
    Record r = make_event(egm, cls, type);
    all.push_back(r);
    s->append(std::move(r), nullptr);
  }
  ASSERT_FALSE(s->append_sync(make_event("egm-0", EventClass::operational, "game.started")));
  for (auto& spec : specs) {
    std::vector<std::uint64_t> want;
    for (std::size_t i = 0; i < all.size(); ++i) {
      all[i].seq = i + 1;
      if (selects(spec.route, all[i])) want.push_back(i + 1);
    }
    if (selects(spec.route, make_event("egm-0", EventClass::operational, "game.started"))) {
      want.push_back(all.size() + 1);
    }
    std::vector<std::uint64_t> got;
    std::error_code ec;
    for (int k = 0; k < 5000; ++k) {
      auto b = rd[spec.name].next(7, ec);
      ASSERT_FALSE(ec);
      for (auto& r : b) got.push_back(r.seq);
      if (got.size() >= want.size() && b.empty()) break;
    }
    EXPECT_EQ(got, want) << spec.name;
  }
}

// A route by type reads only the class tables its types were stored in: a type stored under a
// second class later (a taxonomy change), and after a restart, is still found.
TEST(StoreConsumer, TypeRouteFollowsEveryClassItsTypesWereStoredWith) {
  TempDir dir;
  auto p = dir / "s.db";
  auto s = open_at(p);
  Readers rd(*s);
  ASSERT_FALSE(s->register_consumer({"m", {{}, {"meters.*"}, {}}, true}));
  auto add = [&](EventClass cls, const char* type) {
    Record out;
    EXPECT_FALSE(s->append_sync(make_event("egm-1", cls, type), &out));
    return out.seq;
  };
  std::vector<std::uint64_t> want;
  want.push_back(add(EventClass::telemetry, "meters.snapshot"));
  add(EventClass::security, "door.opened");
  want.push_back(add(EventClass::financial, "meters.snapshot"));
  add(EventClass::operational, "game.started");
  auto seqs = [&](std::size_t max) {
    std::error_code ec;
    std::vector<std::uint64_t> got;
    for (auto& r : rd["m"].next(max, ec)) got.push_back(r.seq);
    EXPECT_FALSE(ec);
    return got;
  };
  EXPECT_EQ(seqs(10), want);
  s.reset();
  s = open_at(p);
  rd = Readers(*s);
  ASSERT_TRUE(s);
  EXPECT_EQ(seqs(10), want);  // from the acked cursor (0) again, after the restart
  // A pair first stored after the restart, in the same batch as others.
  for (int i = 0; i < 3; ++i) s->append(make_event("egm-2", EventClass::fault, "door.opened"), nullptr);
  want.push_back(add(EventClass::fault, "meters.counter"));
  EXPECT_EQ(seqs(10), std::vector<std::uint64_t>{want.back()});
  for (const auto& c : s->stats().consumers) EXPECT_EQ(c.unacked, 3u);
  s.reset();
  s = open_at(p);
  rd = Readers(*s);
  ASSERT_TRUE(s);
  EXPECT_EQ(seqs(10), want);  // the pair stored after the first restart survives the second
}

// An ack that jumps far past the cursor (a consumer skipping ahead with replay) is counted off
// in chunks between commits; the unacked count converges to the exact figure (exact once
// Stats::counting is false), also across a restart in the middle of the count, and appends
// keep being committed meanwhile.
TEST(StoreConsumer, BigAckJumpIsCountedOffInChunks) {
  TempDir dir;
  const Route route{{}, {"meters.*"}, {}};  // a type route: counted by scanning rows
  const int n = 60'000;
  {
    auto s = open_at(dir / "s.db");
    Readers rd(*s);
    ASSERT_FALSE(s->register_consumer({"c", route, true}));
    for (int i = 0; i < n; ++i) {
      bool meter = i % 2 == 0;
      s->append(make_event("e", meter ? EventClass::telemetry : EventClass::operational,
                           meter ? "meters.snapshot" : "game.started"),
                nullptr);
    }
    ASSERT_FALSE(s->append_sync(make_event("e", EventClass::telemetry, "meters.snapshot")));
    EXPECT_EQ(s->stats().consumers[0].unacked, n / 2 + 1u);
    rd["c"].seek(50'000);
    std::error_code ec;
    auto b = rd["c"].next(10, ec);
    ASSERT_EQ(b.size(), 10u);
    ASSERT_FALSE(s->ack("c", b.back().seq));
    ASSERT_FALSE(s->append_sync(make_event("e", EventClass::telemetry, "meters.snapshot")));
    // Closed while the count may still be running: what was persisted must stay consistent.
  }
  auto s = open_at(dir / "s.db");
  Readers rd(*s);
  auto acked = s->stats().consumers[0].acked_upto;
  EXPECT_GT(acked, 50'000u);
  // Stats::counting says when the count is done; from then on unacked is exact.
  ASSERT_TRUE(floorgate::testing::wait_until([&] { return !s->stats().consumers[0].counting; },
                                             std::chrono::seconds(30)));
  EXPECT_EQ(s->stats().consumers[0].unacked, brute_pending(*s, route, acked));
  ASSERT_FALSE(s->append_sync(make_event("e", EventClass::telemetry, "meters.snapshot")));
  EXPECT_EQ(s->stats().consumers[0].unacked, brute_pending(*s, route, acked));
}

}  // namespace

namespace {

struct ReadStep {
  std::vector<std::uint64_t> seqs;
  std::uint64_t covered = 0;
  bool operator==(const ReadStep&) const = default;
};

// Every read_after answer (rows and covered) for each route from each start with each batch
// size: what the consumer stream would be told.
std::vector<ReadStep> read_everything(Store& s, const std::vector<std::string>& consumers,
                                      std::uint64_t last) {
  std::vector<ReadStep> out;
  for (const auto& c : consumers) {
    for (std::uint64_t from : {std::uint64_t{0}, std::uint64_t{1}, std::uint64_t{17}, last - 3,
                               last, last + 5}) {
      for (std::size_t max : {std::size_t{1}, std::size_t{7}, std::size_t{256}}) {
        std::error_code ec;
        ReadStep step;
        auto rows = s.read_after(c, from, max, ec, &step.covered);
        EXPECT_FALSE(ec) << ec.message();
        for (auto& r : rows) step.seqs.push_back(r.seq);
        out.push_back(std::move(step));
      }
    }
  }
  return out;
}

}  // namespace

// Rows just committed are served from memory (RecentRows); after a reopen the same reads come
// from the tables. Both must give the same rows and the same covered position, for sparse and
// dense routes, and the rows themselves must be the stored ones.
TEST(StoreConsumer, ReadsOfJustCommittedRowsEqualReadsFromTheTables) {
  TempDir d;
  auto path = d / "c.db";
  const std::vector<std::string> names = {"all", "fin", "egm1", "door", "none"};
  std::vector<ReadStep> from_memory;
  std::vector<Record> memory_rows;
  {
    auto s = open_at(path);
    ASSERT_FALSE(s->register_consumer({"all", {}, true}));
    ASSERT_FALSE(s->register_consumer({"fin", {{"financial"}, {}, {}}, true}));
    ASSERT_FALSE(s->register_consumer({"egm1", {{}, {}, {"egm-1"}}, true}));
    ASSERT_FALSE(s->register_consumer({"door", {{}, {"door.*"}, {}}, true}));
    ASSERT_FALSE(s->register_consumer({"none", {{}, {}, {"egm-9"}}, true}));
    fill(*s, 60);
    from_memory = read_everything(*s, names, 60);
    std::error_code ec;
    memory_rows = s->read_after("all", 0, 100, ec, nullptr);
    ASSERT_EQ(memory_rows.size(), 60u);
    // The live copy's lookup by seq, from memory, skips a seq not stored yet.
    auto got = s->get({5, 60, 61}).value();
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].seq, 5u);
    EXPECT_EQ(got[1].seq, 60u);
    // The loop's form: the rows after a seq, from memory only.
    auto recent = s->get_recent(55, 3);
    ASSERT_TRUE(recent.has_value());
    ASSERT_EQ(recent->size(), 3u);
    EXPECT_EQ((*recent)[0].seq, 56u);
    EXPECT_EQ((*recent)[2].seq, 58u);
    EXPECT_EQ((*recent)[0].hash, memory_rows[55].hash);
    ASSERT_TRUE(s->get_recent(60, 10).has_value());
    EXPECT_TRUE(s->get_recent(60, 10)->empty());
  }
  auto s = open_at(path);
  // A store just opened holds nothing in memory: the rows are only in the tables.
  EXPECT_FALSE(s->get_recent(0, 10).has_value());
  EXPECT_EQ(read_everything(*s, names, 60), from_memory);
  std::error_code ec;
  auto stored = s->read_after("all", 0, 100, ec, nullptr);
  ASSERT_EQ(stored.size(), memory_rows.size());
  for (std::size_t i = 0; i < stored.size(); ++i) {
    const auto &a = stored[i], &b = memory_rows[i];
    EXPECT_TRUE(a.seq == b.seq && a.epoch == b.epoch && a.egm == b.egm &&
                a.egm_seq == b.egm_seq && a.type == b.type && a.cls == b.cls &&
                a.ts_gw_ms == b.ts_gw_ms && a.ts_egm_ms == b.ts_egm_ms && a.source == b.source &&
                a.attrs_json == b.attrs_json && a.raw_hex == b.raw_hex && a.hash == b.hash)
        << "row " << a.seq << " differs between memory and the table";
  }
}
