// StreamState: dedup, gaps, epochs, live_first lanes and acks, driven event by event.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "floorgate/consume/stream.hpp"

namespace fc = floorgate::consume;

namespace {

fc::EventMeta ev(std::uint64_t seq, std::uint64_t after, std::uint64_t epoch = 1) {
  fc::EventMeta e;
  e.epoch = epoch;
  e.seq = seq;
  e.after = after;
  return e;
}
fc::EventMeta live(std::uint64_t seq, std::uint64_t after, std::uint64_t from,
                  std::uint64_t epoch = 1) {
  auto e = ev(seq, after, epoch);
  e.live_from = from;
  return e;
}
// Classify and, unless it is a gap or stale, record; returns the verdict.
fc::Verdict feed(fc::StreamState& s, const fc::EventMeta& e) {
  auto v = s.classify(e);
  if (v == fc::Verdict::apply || v == fc::Verdict::duplicate) s.record(e);
  return v;
}

}  // namespace

TEST(ConsumeStream, ParsesTheEnvelopeAndRefusesANewerSchema) {
  auto p = fc::parse_event(R"({"schema":"floorgate.event/1","seq":5,"epoch":2,"after":3,"live_from":1,"replay":true})");
  ASSERT_TRUE(p.meta) << p.error;
  EXPECT_EQ(p.meta->seq, 5u);
  EXPECT_EQ(p.meta->epoch, 2u);
  EXPECT_EQ(*p.meta->after, 3u);
  EXPECT_EQ(*p.meta->live_from, 1u);
  EXPECT_TRUE(p.meta->replay);
  auto newer = fc::parse_event(R"({"schema":"floorgate.event/2","seq":5,"epoch":2})");
  EXPECT_FALSE(newer.meta);
  EXPECT_TRUE(newer.unsupported_schema);
  for (auto bad : {"", "[]", R"({"seq":1,"epoch":1})", R"({"schema":"other/1","seq":1,"epoch":1})",
                   R"({"schema":"floorgate.event/1","seq":0,"epoch":1})",
                   R"({"schema":"floorgate.event/1","seq":4,"epoch":1,"after":4})"}) {
    auto b = fc::parse_event(bad);
    EXPECT_FALSE(b.meta) << bad;
    EXPECT_FALSE(b.unsupported_schema) << bad;
    EXPECT_FALSE(b.error.empty()) << bad;
  }
}

TEST(ConsumeStream, AppliesInOrderDedupesResendsAndAcksWhatWasJustSeen) {
  fc::StreamState s;
  EXPECT_EQ(feed(s, ev(3, 0)), fc::Verdict::apply);  // a route skips seqs: after says so
  EXPECT_EQ(feed(s, ev(7, 3)), fc::Verdict::apply);
  EXPECT_EQ(s.upto(), 7u);
  auto ack = s.take_ack();
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->json(), R"({"upto":7})");
  EXPECT_FALSE(s.take_ack());  // nothing new since
  // The gateway restarted with its cursor at 3 and resends 7: a duplicate, acked as 7.
  EXPECT_EQ(feed(s, ev(7, 3)), fc::Verdict::duplicate);
  EXPECT_EQ(s.take_ack()->json(), R"({"upto":7})");
  // After a gateway restart that re-sent only up to 5 (cursor reset back by an operator), the
  // ack is the seq just seen, never the remembered higher one.
  fc::StreamState t;
  feed(t, ev(2, 0));
  feed(t, ev(9, 2));
  t.take_ack();
  EXPECT_EQ(feed(t, ev(2, 0)), fc::Verdict::duplicate);
  EXPECT_EQ(t.take_ack()->json(), R"({"upto":2})");
}

TEST(ConsumeStream, AGapIsNotAppliedAndAReplayFillsIt) {
  fc::StreamState s;
  feed(s, ev(1, 0));
  feed(s, ev(2, 1));
  EXPECT_EQ(feed(s, ev(5, 4)), fc::Verdict::gap);  // 4 (or something before it) was lost
  EXPECT_EQ(s.upto(), 2u);
  EXPECT_EQ(s.replay_from(), 3u);
  auto r = ev(4, 2);
  r.replay = true;
  EXPECT_EQ(feed(s, r), fc::Verdict::apply);
  EXPECT_EQ(feed(s, ev(5, 4)), fc::Verdict::apply);
  EXPECT_EQ(s.upto(), 5u);
}

TEST(ConsumeStream, ANewEpochStartsAgainAndAnOlderOneIsStale) {
  fc::StreamState s;
  feed(s, ev(10, 9, 1));
  EXPECT_EQ(feed(s, ev(1, 0, 2)), fc::Verdict::apply);  // store recreated: seq starts over
  EXPECT_EQ(s.epoch(), 2u);
  EXPECT_EQ(s.upto(), 1u);
  EXPECT_EQ(feed(s, ev(11, 10, 1)), fc::Verdict::stale);
}

TEST(ConsumeStream, LiveLaneAcksApartUntilTheBacklogReachesIt) {
  fc::StreamState s;
  feed(s, ev(1, 0));
  s.take_ack();
  // The gateway is at 1000; live events go out after 1000 while 2..1000 drain beside them.
  EXPECT_EQ(feed(s, live(1001, 1000, 1000)), fc::Verdict::apply);
  EXPECT_EQ(feed(s, ev(2, 1)), fc::Verdict::apply);
  EXPECT_EQ(feed(s, live(1003, 1001, 1000)), fc::Verdict::apply);
  EXPECT_EQ(s.take_ack()->json(), R"({"upto":2,"live_from":1000,"live_upto":1003})");
  // A live lane event after a lost one is a gap; the lane's own duplicates are known.
  EXPECT_EQ(feed(s, live(1009, 1007, 1000)), fc::Verdict::gap);
  EXPECT_EQ(feed(s, live(1003, 1001, 1000)), fc::Verdict::duplicate);
  // The backlog reaches the lane: one cumulative ack again.
  EXPECT_EQ(feed(s, ev(999, 2)), fc::Verdict::apply);
  EXPECT_EQ(feed(s, ev(1000, 999)), fc::Verdict::apply);
  EXPECT_EQ(s.upto(), 1003u);
  // The duplicate 1003 came in this batch too: the cumulative ack may say 1003.
  EXPECT_EQ(s.take_ack()->json(), R"({"upto":1003})");
  EXPECT_EQ(feed(s, live(1004, 1003, 1000)), fc::Verdict::apply);
  EXPECT_EQ(s.take_ack()->json(), R"({"upto":1004})");
}

TEST(ConsumeStream, MergedLanesAfterASparseBacklogAreOneStream) {
  fc::StreamState s;
  feed(s, ev(5, 0));
  feed(s, live(1001, 1000, 1000));
  // The backlog had nothing more of our route below 1000; the gateway merged its lanes and
  // the next ordered event follows the live lane's last one.
  EXPECT_EQ(feed(s, ev(1002, 1001)), fc::Verdict::apply);
  EXPECT_EQ(s.upto(), 1002u);
  EXPECT_EQ(s.known().size(), 1u);
}

TEST(ConsumeStream, AGatewayRestartMidLaneResendsKnownLiveEventsAsDuplicates) {
  fc::StreamState s;
  feed(s, ev(1, 0));
  feed(s, live(501, 500, 500));
  feed(s, live(502, 501, 500));
  // Restart: the durable cursor is 1; the backlog lane now runs to 600 and holds 501, 502.
  EXPECT_EQ(feed(s, ev(2, 1)), fc::Verdict::apply);
  EXPECT_EQ(feed(s, ev(501, 2)), fc::Verdict::duplicate);
  EXPECT_EQ(feed(s, ev(502, 501)), fc::Verdict::duplicate);
  EXPECT_EQ(feed(s, ev(503, 502)), fc::Verdict::apply);
  EXPECT_EQ(s.upto(), 503u);
}

// The gateway closed a live lane (a reconnect) and sends again in order from the cursor; the
// backlog events 6..10 are lost on the way and the copy of live event 11 arrives first. Its
// `after` (10) is an event we lack: a gap, not a merge of the lanes. Before, the copy was taken
// as a duplicate and counted 6..10 as processed: acked, and never in the sink.
TEST(ConsumeStream, AResentLiveEventAfterLostBacklogEventsIsAGapNotAMerge) {
  fc::StreamState s;
  for (std::uint64_t n = 1; n <= 5; ++n) feed(s, ev(n, n - 1));
  s.take_ack();
  EXPECT_EQ(feed(s, live(11, 10, 10)), fc::Verdict::apply);
  s.take_ack();
  const auto copy = ev(11, 10);
  EXPECT_EQ(s.classify(copy), fc::Verdict::gap);
  s.gap_seen(copy);
  // A new event after the copy is applied, but the lanes are not merged across the gap.
  EXPECT_EQ(feed(s, ev(12, 11)), fc::Verdict::apply);
  EXPECT_EQ(s.upto(), 5u);
  EXPECT_EQ(s.take_ack()->json(), R"({"upto":5})");
  // The state file keeps what is missing.
  auto back = fc::StreamState::from_json(boost::json::parse(boost::json::serialize(s.to_json())));
  ASSERT_TRUE(back);
  EXPECT_EQ(feed(*back, ev(13, 12)), fc::Verdict::apply);
  EXPECT_EQ(back->upto(), 5u);
  // The replay from 6 fills it.
  for (std::uint64_t n = 6; n <= 10; ++n) {
    auto r = ev(n, n - 1);
    r.replay = true;
    EXPECT_EQ(feed(*back, r), fc::Verdict::apply) << n;
  }
  EXPECT_EQ(back->upto(), 13u);
}

TEST(ConsumeStream, NackedEventsAreAppliedOnceWhenRedelivered) {
  fc::StreamState s;
  feed(s, ev(1, 0));
  s.nacked(ev(2, 1));
  EXPECT_EQ(s.upto(), 2u);
  auto dead = ev(2, 1);
  dead.after.reset();
  dead.dead_letter = true;
  EXPECT_EQ(feed(s, dead), fc::Verdict::apply);
  EXPECT_EQ(s.classify(dead), fc::Verdict::duplicate);
}

TEST(ConsumeStream, SurvivesARoundTripThroughJson) {
  fc::StreamState s;
  feed(s, ev(1, 0, 4));
  feed(s, live(901, 900, 900, 4));
  s.nacked(ev(3, 1, 4));
  auto back = fc::StreamState::from_json(boost::json::parse(boost::json::serialize(s.to_json())));
  ASSERT_TRUE(back);
  EXPECT_EQ(back->epoch(), 4u);
  EXPECT_EQ(back->upto(), 3u);
  EXPECT_EQ(back->known(), s.known());
  auto again = live(901, 900, 900);
  again.epoch = 4;
  EXPECT_EQ(back->classify(again), fc::Verdict::duplicate);
  for (auto bad : {"[]", R"({"epoch":1})", R"({"epoch":1,"known":[[5,2]]})", R"({"epoch":-1,"known":[]})"})
    EXPECT_FALSE(fc::StreamState::from_json(boost::json::parse(bad))) << bad;
}

TEST(ConsumeGatewayStatus, ALateWillOfAnEarlierBootIsIgnored) {
  fc::GatewayStatus g;
  using C = fc::GatewayStatus::Change;
  EXPECT_EQ(g.on_status(R"({"state":"online","boot_id":"b1"})"), C::online);
  EXPECT_EQ(g.on_status(R"({"state":"offline","boot_id":"b1"})"), C::offline);
  EXPECT_FALSE(g.online());
  EXPECT_EQ(g.on_status(R"({"state":"online","boot_id":"b2"})"), C::online);
  // The broker delivers b1's will after b2 came up: stale, the gateway stays online.
  EXPECT_EQ(g.on_status(R"({"state":"offline","boot_id":"b1"})"), C::stale_will);
  EXPECT_TRUE(g.online());
  EXPECT_EQ(g.on_status(R"({"state":"online","boot_id":"b2"})"), C::none);
  EXPECT_EQ(g.on_status("garbage"), C::unreadable);
  EXPECT_EQ(g.on_status(R"({"state":"away"})"), C::unreadable);
}
