// Unit tests of the sans-I/O MQTT contract: payload encoding, parsers, topics, backoff.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "floorgate/gateway/backoff.hpp"
#include "floorgate/gateway/mqtt_codec.hpp"

namespace fg = floorgate::gateway;
namespace json = boost::json;
using floorgate::store::EventClass;
using floorgate::store::Record;

namespace {

Record sample() {
  Record r;
  r.seq = 42;
  r.epoch = 3;
  r.egm = "bank3-07";
  r.egm_seq = 9;
  r.type = "door.opened";
  r.cls = EventClass::security;
  r.ts_gw_ms = 1763840250123;
  r.source = "sas:0x11";
  r.attrs_json = R"({"door":"main","note":"a \"quoted\" word"})";
  r.raw_hex = "0111";
  r.hash[0] = 0xab;
  r.hash[31] = 0x01;
  return r;
}

}  // namespace

TEST(Iso8601, FormatsUtcWithMilliseconds) {
  EXPECT_EQ(fg::iso8601_ms(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(fg::iso8601_ms(1763840250123), "2025-11-22T19:37:30.123Z");
  EXPECT_EQ(fg::iso8601_ms(951782400000), "2000-02-29T00:00:00.000Z");
  EXPECT_EQ(fg::iso8601_ms(-1), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(fg::iso8601_ms(253402300799999), "9999-12-31T23:59:59.999Z");
  // Years past four digits take the printf path: the same layout, wider.
  EXPECT_EQ(fg::iso8601_ms(253402300800000), "10000-01-01T00:00:00.000Z");
}

TEST(Iso8601, ParsesZonesAndFractions) {
  EXPECT_EQ(fg::parse_iso8601("2025-11-22T19:37:30.123Z"), 1763840250123);
  EXPECT_EQ(fg::parse_iso8601("2025-11-22T19:37:30Z"), 1763840250000);
  EXPECT_EQ(fg::parse_iso8601("2025-11-22T20:37:30.1+01:00"), 1763840250100);
  EXPECT_EQ(fg::parse_iso8601("2025-11-22T18:37:30.123456-01:00"), 1763840250123);
  for (auto ms : {std::int64_t{0}, std::int64_t{1763840250123}, std::int64_t{4102444799999}})
    EXPECT_EQ(fg::parse_iso8601(fg::iso8601_ms(ms)), ms);
}

TEST(Iso8601, RejectsMalformed) {
  for (auto s : {"", "yesterday", "2025-11-22", "2025-11-22T19:37:30", "2025-13-22T19:37:30Z",
                 "2025-11-22T25:37:30Z", "2025-11-22T19:37:30.Z", "2025-11-22T19:37:30Zjunk",
                 "2025-11-22T19:37:30+1", "2025-11-22 19:37:30Z"})
    EXPECT_FALSE(fg::parse_iso8601(s)) << s;
}

TEST(EncodeEvent, CarriesEveryFieldAsValidJson) {
  auto r = sample();
  auto v = json::parse(fg::encode_event(r));
  auto& o = v.as_object();
  EXPECT_EQ(o.at("schema").as_string(), "floorgate.event/1");
  EXPECT_EQ(o.at("seq").to_number<std::uint64_t>(), 42u);
  EXPECT_EQ(o.at("epoch").to_number<std::uint64_t>(), 3u);
  EXPECT_EQ(o.at("egm").as_string(), "bank3-07");
  EXPECT_EQ(o.at("egm_seq").to_number<std::uint64_t>(), 9u);
  EXPECT_EQ(o.at("type").as_string(), "door.opened");
  EXPECT_EQ(o.at("class").as_string(), "security");
  EXPECT_EQ(o.at("ts_gw").as_string(), "2025-11-22T19:37:30.123Z");
  EXPECT_EQ(o.at("ts_gw_ms").to_number<std::int64_t>(), 1763840250123);
  EXPECT_TRUE(o.at("ts_egm").is_null());
  EXPECT_FALSE(o.contains("after"));
  EXPECT_FALSE(o.contains("live_from"));
  EXPECT_EQ(o.at("attrs").at("note").as_string(), "a \"quoted\" word");
  EXPECT_EQ(o.at("raw").as_string(), "0111");
  std::string hash(o.at("hash").as_string());
  EXPECT_EQ(hash.size(), 64u);
  EXPECT_EQ(hash.substr(0, 2), "ab");
  EXPECT_EQ(hash.substr(62), "01");
  EXPECT_FALSE(o.at("replay").as_bool());
  EXPECT_FALSE(o.contains("dead_letter"));
}

TEST(EncodeEvent, ReplayEgmTimeAndEscaping) {
  auto r = sample();
  r.ts_egm_ms = 1763840249000;
  r.egm = "odd\"egm\n";
  auto o = json::parse(fg::encode_event(r, {.replay = true, .dead_letter = true, .after = 7, .live_from = 5})).as_object();
  EXPECT_TRUE(o.at("replay").as_bool());
  EXPECT_TRUE(o.at("dead_letter").as_bool());
  EXPECT_EQ(o.at("after").as_int64(), 7);
  EXPECT_EQ(o.at("live_from").as_int64(), 5);
  EXPECT_EQ(o.at("ts_egm").as_string(), "2025-11-22T19:37:29.000Z");
  EXPECT_EQ(o.at("egm").as_string(), "odd\"egm\n");
}

TEST(Topics, EventLiveAndSanitizing) {
  auto r = sample();
  EXPECT_EQ(fg::event_topic("floor/v1/s/g", "slot", r),
            "floor/v1/s/g/c/slot/bank3-07/security/door.opened");
  EXPECT_EQ(fg::live_topic("floor/v1/s/g", r), "floor/v1/s/g/live/bank3-07/security/door.opened");
  EXPECT_EQ(fg::topic_segment("a/b+c#"), "a_b_c_");
  EXPECT_EQ(fg::topic_segment(""), "_");
}

TEST(Topics, ClassifiesOnlyOwnedInboundTopics) {
  auto a = fg::classify_topic("r/x", "r/x/ack/slot");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->kind, fg::InboundTopic::Kind::ack);
  EXPECT_EQ(a->consumer, "slot");
  auto p = fg::classify_topic("r/x", "r/x/replay/maint");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->kind, fg::InboundTopic::Kind::replay);
  auto s = fg::classify_topic("r/x", "r/x/consumer/maint/status");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->kind, fg::InboundTopic::Kind::presence);
  EXPECT_EQ(s->consumer, "maint");
  for (auto t : {"r/x/ack/", "r/x/ack/a/b", "r/x/other/a", "r/y/ack/a", "r/xack/a", "r/x",
                 "r/x/consumer//status", "r/x/consumer/a/b/status", "r/x/consumer/a/state",
                 "r/x/consumer/status"})
    EXPECT_FALSE(fg::classify_topic("r/x", t)) << t;
}

TEST(ParsePresence, OnlineOfflineAndNothingElse) {
  EXPECT_EQ(fg::parse_presence(R"({"schema":"floorgate.consumer_status/1","state":"online"})"), true);
  EXPECT_EQ(fg::parse_presence(R"({"state":"offline","since":"x"})"), false);
  EXPECT_EQ(fg::parse_presence("online"), true);
  EXPECT_EQ(fg::parse_presence("offline"), false);
  for (auto bad : {"", "{}", R"({"state":1})", R"({"state":"away"})", "[\"online\"]", "onl"})
    EXPECT_FALSE(fg::parse_presence(bad).has_value()) << bad;
}

TEST(ParseAck, AcceptsUptoAndNack) {
  auto a = fg::parse_ack(R"({"upto": 17})");
  ASSERT_TRUE(a.value);
  EXPECT_EQ(std::get<fg::AckMsg>(*a.value).upto, 17u);
  auto n = fg::parse_ack(R"({"nack": 5, "reason": "bad attrs"})");
  ASSERT_TRUE(n.value);
  EXPECT_EQ(std::get<fg::NackMsg>(*n.value).seq, 5u);
  EXPECT_EQ(std::get<fg::NackMsg>(*n.value).reason, "bad attrs");
  auto l = fg::parse_ack(R"({"upto": 17, "live_from": 900, "live_upto": 950})");
  ASSERT_TRUE(l.value);
  const auto& lane = std::get<fg::AckMsg>(*l.value);
  EXPECT_EQ(lane.upto, 17u);
  ASSERT_TRUE(lane.live);
  EXPECT_EQ(lane.live->from, 900u);
  EXPECT_EQ(lane.live->upto, 950u);
}

TEST(ParseAck, RejectsBadShapes) {
  for (auto s : {"", "{", "[]", "17", R"({"upto":"17"})", R"({"upto":-1})", R"({"upto":1.5})",
                 R"({"upto":1,"x":2})", R"({"nack":0})", R"({"nack":3,"reason":7})",
                 R"({"ack":3})", "null", R"({"upto":1,"live_from":5})",
                 R"({"upto":1,"live_from":9,"live_upto":5})", R"({"upto":1,"live_upto":5,"x":1})", "{\"upto\":99999999999999999999999}"}) {
    auto p = fg::parse_ack(s);
    EXPECT_FALSE(p.value) << s;
    EXPECT_FALSE(p.error.empty()) << s;
  }
}

TEST(ParseReplay, AcceptsTheThreeForms) {
  auto f = fg::parse_replay(R"({"from_seq": 100})");
  ASSERT_TRUE(f.value);
  EXPECT_EQ(std::get<fg::ReplayFromSeq>(*f.value).from_seq, 100u);
  auto s = fg::parse_replay(R"({"since": "2025-11-22T19:37:30.123Z"})");
  ASSERT_TRUE(s.value);
  EXPECT_EQ(std::get<fg::ReplaySince>(*s.value).since_ms, 1763840250123);
  auto d = fg::parse_replay(R"({"redeliver_dead": true})");
  ASSERT_TRUE(d.value);
  EXPECT_TRUE(std::holds_alternative<fg::RedeliverDead>(*d.value));
}

TEST(ParseReplay, RejectsBadShapes) {
  for (auto s : {"x", R"({"from_seq":"1"})", R"({"from_seq":-4})", R"({"since":12})",
                 R"({"since":"last tuesday"})", R"({"redeliver_dead":false})",
                 R"({"from_seq":1,"since":"2025-11-22T19:37:30Z"})", "{}", R"({"to_seq":4})"}) {
    EXPECT_FALSE(fg::parse_replay(s).value) << s;
  }
}

TEST(Backoff, GrowsJitteredAndBounded) {
  fg::Backoff b(std::chrono::milliseconds(100), std::chrono::milliseconds(1000), 7);
  std::int64_t prev_cap = 0;
  for (int i = 0; i < 20; ++i) {
    std::int64_t cap = std::min<std::int64_t>(100LL << std::min(i, 20), 1000);
    auto d = b.next().count();
    EXPECT_GE(d, cap / 2) << i;
    EXPECT_LE(d, cap) << i;
    EXPECT_GE(cap, prev_cap);
    prev_cap = cap;
  }
  b.reset();
  EXPECT_LE(b.next().count(), 100);
}

TEST(Backoff, JitterSpreadsClients) {
  fg::Backoff a(std::chrono::milliseconds(1000), std::chrono::milliseconds(30000), 1);
  fg::Backoff b(std::chrono::milliseconds(1000), std::chrono::milliseconds(30000), 2);
  int same = 0;
  for (int i = 0; i < 10; ++i) same += a.next() == b.next();
  EXPECT_LT(same, 10);
}

TEST(EncodeStatus, OnlineOfflineWithBootId) {
  auto o = json::parse(fg::encode_status(false, 4, "abc", 1000)).as_object();
  EXPECT_EQ(o.at("state").as_string(), "offline");
  EXPECT_EQ(o.at("epoch").to_number<std::uint64_t>(), 4u);
  EXPECT_EQ(o.at("boot_id").as_string(), "abc");
}
