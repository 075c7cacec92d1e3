// The delivery rules without a broker, sockets or real time: Delivery over a fake
// MqttTransport and a core::ManualClock, driven by poll() (DeliveryDrive). The broker suites
// (delivery_test.cpp and the e2e/fault suites) prove the same engine against Mosquitto; here
// every timing rule is checked to the millisecond, because the clock only moves when the test
// moves it.
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/json.hpp>
#include <map>

#include "fake_store.hpp"
#include "floorgate/core/clock.hpp"
#include "floorgate/gateway/delivery.hpp"
#include "floorgate/gateway/mqtt_transport.hpp"
#include "harness.hpp"

namespace fg = floorgate::gateway;
namespace core = floorgate::core;
namespace json = boost::json;
namespace asio = boost::asio;
using namespace floorgate::testing;
using namespace std::chrono_literals;

namespace {

// A broker link the test opens, drops and feeds by hand. Publishes are recorded; QoS 1
// publishes are PUBACKed when the test says so.
class FakeTransport final : public fg::MqttTransport {
 public:
  struct Sent {
    std::string topic, payload;
    int qos = 0;
    bool retain = false;
    std::map<std::string, std::string> props;
    int mid = 0;
  };
  FakeTransport(asio::any_io_executor ex, Handlers h) : ex_(ex), h_(std::move(h)) {}

  void set_will(std::string topic, std::string payload) override {
    will_ = {std::move(topic), std::move(payload)};
  }
  void set_subscriptions(std::vector<std::string> filters) override { subs_ = std::move(filters); }
  void start() override { started_ = true; }
  void stop(std::string topic, std::string payload, std::function<void()> done) override {
    if (connected_ && !topic.empty()) sent_.push_back({topic, payload, 1, true, {}, next_mid_++});
    connected_ = false;
    stopped_ = true;
    if (done) asio::post(ex_, std::move(done));
  }
  int publish(const std::string& topic, std::string_view payload, int qos, bool retain,
              const fg::UserProps* props) override {
    if (!connected_) return -1;
    Sent s{topic, std::string(payload), qos, retain, {}, next_mid_++};
    if (props)
      for (auto& [k, v] : *props) s.props[k] = v;
    if (qos == 1) unacked_.push_back(s.mid);
    sent_.push_back(std::move(s));
    return sent_.back().mid;
  }
  bool connected() const override { return connected_; }
  std::size_t outstanding() const override { return unacked_.size(); }
  void recycle(const std::string& why) override { drop(why); }
  const Counters& counters() const override { return k_; }

  // ---- the test's hands ----
  void connect() {
    connected_ = true;
    ++k_.connects;
    h_.on_connected();
  }
  void drop(const std::string& why = "test dropped the link") {
    if (!connected_) return;
    connected_ = false;
    ++k_.disconnects;
    unacked_.clear();
    h_.on_disconnected(why);
  }
  void inbound(const std::string& topic, std::string_view payload) {
    h_.on_message(topic, payload);
  }
  void puback_all(int reason = 0) {
    auto mids = std::move(unacked_);
    unacked_.clear();
    for (int mid : mids) h_.on_puback(mid, reason);
  }
  bool started() const { return started_; }
  const std::vector<std::string>& subscriptions() const { return subs_; }
  const std::pair<std::string, std::string>& will() const { return will_; }
  const std::vector<Sent>& sent() const { return sent_; }
  // Seqs of the events published on consumer `name`'s stream, in order; `replay` selects the
  // replayed ones (true) or the stream's own (false).
  std::vector<std::uint64_t> seqs(const std::string& name, bool replay = false) const {
    std::vector<std::uint64_t> out;
    const std::string prefix = kTestRoot + "/c/" + name + "/";
    for (auto& s : sent_) {
      if (s.topic.rfind(prefix, 0) != 0) continue;
      bool is_replay = s.props.count("replay") > 0;
      if (is_replay == replay) out.push_back(std::stoull(s.props.at("seq")));
    }
    return out;
  }
  std::size_t count(const std::string& topic) const {
    std::size_t n = 0;
    for (auto& s : sent_) n += s.topic == topic;
    return n;
  }
  const Sent* last(const std::string& topic) const {
    for (auto it = sent_.rbegin(); it != sent_.rend(); ++it)
      if (it->topic == topic) return &*it;
    return nullptr;
  }

 private:
  asio::any_io_executor ex_;
  Handlers h_;
  bool started_ = false, connected_ = false, stopped_ = false;
  std::pair<std::string, std::string> will_;
  std::vector<std::string> subs_;
  std::vector<Sent> sent_;
  std::vector<int> unacked_;
  int next_mid_ = 1;
  Counters k_;
};

// Delivery on an io_context this thread runs, with the fake link and a manual clock.
class Core {
 public:
  Core(FakeStore& store, std::vector<fg::ConsumerOptions> consumers,
       fg::MqttOptions opt = mqtt_options(1))
      : store_(store), work_(ioc_.get_executor()) {
    fg::DeliveryDrive drive;
    drive.clock = &clock;
    drive.timers = false;
    drive.transport = [this](const fg::MqttOptions&, fg::MqttTransport::Handlers h) {
      auto t = std::make_shared<FakeTransport>(ioc_.get_executor(), std::move(h));
      link = t.get();
      return t;
    };
    delivery = std::make_unique<fg::Delivery>(ioc_.get_executor(), store_, std::move(opt),
                                              std::move(consumers), std::move(drive));
    delivery->start();
  }
  ~Core() {
    bool done = false;
    delivery->stop([&] { done = true; });
    settle_until([&] { return done; });
    delivery.reset();
    ioc_.poll();
  }
  // Runs what is ready on the loop, then poll()s the delivery once.
  void poll() {
    ioc_.poll();
    delivery->poll();
    ioc_.poll();
  }
  void advance(std::chrono::milliseconds d) {
    clock.advance(d.count());
    poll();
  }
  // Runs the loop until `pred` holds: the store answers (registration, acks) on its own thread
  // and posts the answer back. The clock does not move.
  template <class Pred>
  bool settle_until(Pred pred) {
    for (int i = 0; i < 2000 && !pred(); ++i) {
      ioc_.run_one_for(5ms);
      ioc_.poll();
    }
    return pred();
  }
  void ack(const std::string& name, std::uint64_t upto) {
    link->inbound(kTestRoot + "/ack/" + name, "{\"upto\":" + std::to_string(upto) + "}");
  }


 private:
  // Declared first, destroyed last: the delivery's timers belong to the io_context.
  FakeStore& store_;
  asio::io_context ioc_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;

 public:
  core::ManualClock clock;
  FakeTransport* link = nullptr;
  std::unique_ptr<fg::Delivery> delivery;
};

std::vector<std::uint64_t> range(std::uint64_t from, std::uint64_t to) {
  std::vector<std::uint64_t> v;
  for (auto s = from; s <= to; ++s) v.push_back(s);
  return v;
}

std::uint64_t fill(FakeStore& store, int n) {
  std::uint64_t last = 0;
  for (int i = 0; i < n; ++i) last = store.add(make_event(i)).seq;
  return last;
}

// The consumer is registered when the first poll after the store's answer publishes.
void wait_registered(Core& c, const std::string& name, std::size_t expect) {
  ASSERT_TRUE(c.settle_until([&] {
    c.delivery->poll();
    return c.link->seqs(name).size() >= expect;
  })) << "published " << c.link->seqs(name).size() << " of " << expect << "; sent "
         << c.link->sent().size() << ", first topic "
         << (c.link->sent().empty() ? "" : c.link->sent().front().topic);
}

// A consumer with the given window and a 30 s ack timeout, for the ack timeout tests.
fg::ConsumerOptions timed(const std::string& name, std::size_t window) {
  auto opt = consumer(name, {}, window);
  opt.ack_timeout = 30s;
  return opt;
}

// The start of the ack timeout tests: 20 stored events, one such consumer, connected and sent
// its first window.
struct TimedStream {
  TimedStream(const std::string& name, std::size_t window)
      : c(filled(store), {timed(name, window)}) {
    c.link->connect();
    wait_registered(c, name, window);
  }
  static FakeStore& filled(FakeStore& s) {
    fill(s, 20);
    return s;
  }
  FakeStore store;  // before c: constructed first
  Core c;
};

}  // namespace

TEST(DeliveryCore, NothingGoesOutUntilTheBrokerAcceptsThenEventsInSeqOrder) {
  FakeStore store;
  fill(store, 10);
  Core c(store, {consumer("a")});
  ASSERT_NE(c.link, nullptr);
  EXPECT_TRUE(c.link->started());
  EXPECT_EQ(c.link->will().first, kTestRoot + "/status");
  EXPECT_NE(c.link->will().second.find("\"state\":\"offline\""), std::string::npos)
      << c.link->will().second;
  EXPECT_EQ(c.link->subscriptions(),
            (std::vector<std::string>{kTestRoot + "/ack/#", kTestRoot + "/replay/#",
                                      kTestRoot + "/consumer/+/status"}));
  c.settle_until([&] { c.poll(); return c.delivery->stats().consumers.size() == 1; });
  c.advance(1s);
  EXPECT_TRUE(c.link->sent().empty()) << "published while not connected";

  c.link->connect();
  const auto* status = c.link->last(kTestRoot + "/status");
  ASSERT_NE(status, nullptr);
  EXPECT_TRUE(status->retain);
  EXPECT_NE(status->payload.find("\"state\":\"online\""), std::string::npos) << status->payload;
  wait_registered(c, "a", 10);
  EXPECT_EQ(c.link->seqs("a"), range(1, 10));
  for (auto& s : c.link->sent()) {
    if (s.topic.rfind(kTestRoot + "/c/a/", 0) != 0) continue;
    EXPECT_EQ(s.qos, 1);
    EXPECT_FALSE(s.retain);
    EXPECT_EQ(s.props.at("schema"), "floorgate.event/1");
  }
}

TEST(DeliveryCore, AckTimeoutResendsExactlyWhenTheClockPassesIt) {
  TimedStream t("late", 5);
  auto& c = t.c;
  EXPECT_EQ(c.link->seqs("late"), range(1, 5));

  // One millisecond short of the timeout: many polls, nothing resent.
  c.advance(30s - 1ms);
  for (int i = 0; i < 10; ++i) c.poll();
  EXPECT_EQ(c.delivery->stats().consumers.at(0).resends, 0u);
  EXPECT_EQ(c.link->seqs("late").size(), 5u);

  // At the timeout: the window is resent from the cursor, in order, once.
  c.advance(1ms);
  EXPECT_EQ(c.delivery->stats().consumers.at(0).resends, 1u);
  auto seqs = c.link->seqs("late");
  ASSERT_EQ(seqs.size(), 10u);
  EXPECT_EQ(std::vector<std::uint64_t>(seqs.begin() + 5, seqs.end()), range(1, 5));
  c.poll();
  EXPECT_EQ(c.link->seqs("late").size(), 10u);
}

// A slow consumer that still acks is not sent its window again: the timeout counts from the
// last ack that moved the cursor. (Counted from the oldest send alone, each resend queued a
// second copy of the window behind the first for a consumer already behind, and it never
// caught up.) Once the acks stop, the window goes again ack_timeout after the last one.
TEST(DeliveryCore, AnAckingConsumerIsNotResentToHoweverSlowly) {
  TimedStream t("slow", 5);
  auto& c = t.c;

  // One ack every 20 s: the oldest unacked event is 40 s, then 60 s old, never resent.
  for (std::uint64_t upto = 1; upto <= 3; ++upto) {
    c.advance(20s);
    c.ack("slow", upto);
    ASSERT_TRUE(c.settle_until([&] { c.poll(); return t.store.acked("slow") == upto; }));
    ASSERT_TRUE(c.settle_until([&] { c.poll(); return c.link->seqs("slow").size() == 5 + upto; }));
  }
  EXPECT_EQ(c.delivery->stats().consumers.at(0).resends, 0u);
  EXPECT_EQ(c.link->seqs("slow"), range(1, 8));

  // The acks stop: one millisecond short of ack_timeout after the last one, nothing; at it,
  // the window from the cursor (4..8), once.
  c.advance(30s - 1ms);
  EXPECT_EQ(c.delivery->stats().consumers.at(0).resends, 0u);
  c.advance(1ms);
  EXPECT_EQ(c.delivery->stats().consumers.at(0).resends, 1u);
  auto seqs = c.link->seqs("slow");
  ASSERT_EQ(seqs.size(), 13u);
  EXPECT_EQ(std::vector<std::uint64_t>(seqs.begin() + 8, seqs.end()), range(4, 8));
}

// Per lane: a live_first consumer whose live acks keep coming while its backlog lane stopped
// (a backlog event lost on the way, say) still has the backlog sent again ack_timeout after it
// went out.
TEST(DeliveryCore, LiveAcksDoNotHideABacklogLaneThatStopped) {
  FakeStore store;
  auto opt = timed("b", 8);
  opt.live_first = true;
  Core c(store, {opt});
  c.delivery->notify_appended(fill(store, 20));  // 20 behind with a window of 8: a live lane
  c.link->connect();
  wait_registered(c, "b", 2);  // the backlog lane keeps a quarter of the window in flight
  EXPECT_EQ(c.link->seqs("b"), range(1, 2));

  auto live_ack = [&](std::uint64_t upto) {
    c.link->inbound(kTestRoot + "/ack/b", "{\"upto\":0,\"live_from\":20,\"live_upto\":" +
                                              std::to_string(upto) + "}");
  };
  for (std::uint64_t n = 21; n <= 22; ++n) {
    c.advance(10s);
    c.delivery->notify_appended(store.add(make_event(n - 1)).seq);
    ASSERT_TRUE(c.settle_until([&] { c.poll(); return c.link->seqs("b").back() == n; }));
    live_ack(n);
    c.poll();
  }
  EXPECT_EQ(c.delivery->stats().consumers.at(0).resends, 0u);
  c.advance(10s - 1ms);  // 30 s less 1 ms since the backlog went out, 10 s since a live ack
  EXPECT_EQ(c.delivery->stats().consumers.at(0).resends, 0u);
  c.advance(1ms);
  EXPECT_EQ(c.delivery->stats().consumers.at(0).resends, 1u);
}

namespace {
using Cls = floorgate::store::EventClass;

// A live_first consumer "m" (window 8) whose route takes financial events only, over 20 of
// them and then 10 telemetry events (seqs 21..30, none of its): 30 behind, so connected it
// gets a live lane from 30 beside its backlog.
struct SparseRoute {
  SparseRoute() : c(filled(store), {options()}) {
    c.delivery->notify_appended(30);
    c.link->connect();
    wait_registered(c, "m", 2);
  }
  static fg::ConsumerOptions options() {
    auto opt = timed("m", 8);
    opt.live_first = true;
    opt.route.classes = {"financial"};
    return opt;
  }
  static FakeStore& filled(FakeStore& s) {
    for (int i = 0; i < 20; ++i) s.add(make_event(i, "", "bill.stacked", Cls::financial));
    for (int i = 0; i < 10; ++i) s.add(make_event(i, "", "meters.snapshot", Cls::telemetry));
    return s;
  }
  // Appends one more event of its route and tells the delivery.
  void add_financial() {
    c.delivery->notify_appended(store.add(make_event(0, "", "bill.stacked", Cls::financial)).seq);
  }
  FakeStore store;  // before c: constructed first
  Core c;
};
}  // namespace

// A live_first consumer whose route selects none of the events between its backlog and its
// live lane's start: the lanes merge with the cursor at the last event it was sent and acked.
// Before, the merge set the cursor to the lane's start, beyond anything sent; the store refused
// that ack, and the refusal was committed again at once, for ever, on the event loop.
TEST(DeliveryCore, ALiveLaneMergeNeverAcksPastWhatWasSent) {
  SparseRoute r;
  auto& c = r.c;
  auto& store = r.store;
  ASSERT_EQ(c.delivery->stats().consumers.at(0).live_from, std::optional<std::uint64_t>(30));
  // The consumer acks its backlog as it arrives, until the lanes are one again.
  std::uint64_t acked = 0;
  ASSERT_TRUE(c.settle_until([&] {
    c.poll();
    const auto seqs = c.link->seqs("m");
    if (!seqs.empty() && seqs.back() > acked) c.ack("m", acked = seqs.back());
    return !c.delivery->stats().consumers.at(0).live_from.has_value();
  }));
  EXPECT_EQ(acked, 20u);
  ASSERT_TRUE(c.settle_until([&] { c.poll(); return store.acked("m") == 20; }));
  const auto s = c.delivery->stats();
  EXPECT_EQ(s.consumers.at(0).acked_upto, 20u);
  EXPECT_LE(s.consumers.at(0).acked_upto, s.consumers.at(0).sent_upto);
  EXPECT_EQ(s.ack_commit_errors, 0u);
  // The next event of its route goes out on the one ordered stream, after its last one.
  r.add_financial();
  ASSERT_TRUE(c.settle_until([&] { c.poll(); return c.link->seqs("m").back() == 31; }));
  EXPECT_EQ(c.link->sent().back().payload.find("live_from"), std::string::npos);
  EXPECT_NE(c.link->sent().back().payload.find("\"after\":20"), std::string::npos)
      << c.link->sent().back().payload;
}

// The same route, but the live lane has published an event the consumer has not acked when
// the lanes merge: the cursor stays at the last backlog event acked (20), not the lane's start
// (30, an event the route never selected).
TEST(DeliveryCore, ALiveLaneMergeBeforeAnyLiveAckKeepsTheBacklogCursor) {
  SparseRoute r;
  auto& c = r.c;
  auto& store = r.store;
  r.add_financial();
  ASSERT_TRUE(c.settle_until([&] { c.poll(); return c.link->seqs("m").back() == 31; }));
  std::uint64_t acked = 0;  // the backlog only; 31 stays unacked
  ASSERT_TRUE(c.settle_until([&] {
    c.poll();
    for (auto seq : c.link->seqs("m")) {
      if (seq <= 20 && seq > acked) c.ack("m", acked = seq);
    }
    return !c.delivery->stats().consumers.at(0).live_from.has_value();
  }));
  ASSERT_TRUE(c.settle_until([&] { c.poll(); return store.acked("m") == 20; }));
  c.poll();
  EXPECT_EQ(c.delivery->stats().consumers.at(0).acked_upto, 20u);
  EXPECT_EQ(store.acked("m"), 20u);
}

// A consumer that stays silent is sent its window less and less often: three times every
// ack_timeout (30 s), then after 60, 120 and from then on every 240 s. An ack that moves the
// cursor starts the count again.
TEST(DeliveryCore, ASilentConsumerIsSentItsWindowLessOften) {
  TimedStream t("gone", 5);
  auto& c = t.c;
  auto resends = [&] { return c.delivery->stats().consumers.at(0).resends; };
  // Each wait, one millisecond short (nothing), then at it (one more resend of 1..5).
  auto expect_resend_after = [&](std::chrono::milliseconds wait) {
    const auto before = resends();
    const auto sent = c.link->seqs("gone").size();
    c.advance(wait - 1ms);
    EXPECT_EQ(resends(), before) << "resent before " << wait.count() << " ms";
    c.advance(1ms);
    EXPECT_EQ(resends(), before + 1) << "not resent at " << wait.count() << " ms";
    const auto seqs = c.link->seqs("gone");
    ASSERT_EQ(seqs.size(), sent + 5);
    EXPECT_EQ(std::vector<std::uint64_t>(seqs.end() - 5, seqs.end()), range(1, 5));
  };
  for (auto wait : {30s, 30s, 30s, 60s, 120s, 240s, 240s, 240s}) expect_resend_after(wait);

  // It acks: the next timeout is one ack_timeout after that ack again.
  c.ack("gone", 2);
  ASSERT_TRUE(c.settle_until([&] { c.poll(); return t.store.acked("gone") == 2; }));
  c.poll();
  const auto sent = c.link->seqs("gone").size();
  c.advance(30s - 1ms);
  EXPECT_EQ(resends(), 8u);
  c.advance(1ms);
  EXPECT_EQ(resends(), 9u);
  const auto seqs = c.link->seqs("gone");
  ASSERT_GE(seqs.size(), sent + 5);
  EXPECT_EQ(std::vector<std::uint64_t>(seqs.end() - 5, seqs.end()), range(3, 7));
}

TEST(DeliveryCore, AnAckCommitsTheCursorAndOpensTheWindow) {
  FakeStore store;
  fill(store, 12);
  Core c(store, {consumer("a", {}, 5)});
  c.link->connect();
  wait_registered(c, "a", 5);
  c.ack("a", 3);
  ASSERT_TRUE(c.settle_until([&] { c.poll(); return store.acked("a") == 3; }));
  ASSERT_TRUE(c.settle_until([&] { c.poll(); return c.link->seqs("a").size() == 8; }));
  EXPECT_EQ(c.link->seqs("a"), range(1, 8));
  // An ack below the cursor is refused and counted; the cursor stays.
  c.ack("a", 2);
  c.poll();
  EXPECT_EQ(c.delivery->stats().consumers.at(0).acked_upto, 3u);
  EXPECT_EQ(store.acked("a"), 3u);
}

// A consumer in a retry loop nacks the same event again and again: it is dead-lettered once.
// Each nack is a durable commit on the store's writer, which the EGMs' events wait behind.
TEST(DeliveryCore, ARepeatedNackIsRecordedOnce) {
  FakeStore store;
  fill(store, 10);
  Core c(store, {consumer("a")});
  c.link->connect();
  wait_registered(c, "a", 10);
  for (int i = 0; i < 100; ++i) c.link->inbound(kTestRoot + "/ack/a", R"({"nack":4,"reason":"bad"})");
  c.link->inbound(kTestRoot + "/ack/a", R"({"nack":6,"reason":"bad"})");
  // The store works in order: once the ack after the nacks is committed, so are they.
  c.ack("a", 8);
  ASSERT_TRUE(c.settle_until([&] { c.poll(); return store.acked("a") == 8; }));
  const auto dead = store.dead_letters("a");
  ASSERT_EQ(dead.size(), 2u);
  EXPECT_EQ(dead[0].seq, 4u);
  EXPECT_EQ(dead[1].seq, 6u);
  // Past the cursor a nack is refused, as before.
  const auto rejected = c.delivery->stats().consumers.at(0).rejected;
  c.link->inbound(kTestRoot + "/ack/a", R"({"nack":4,"reason":"bad"})");
  c.poll();
  EXPECT_EQ(c.delivery->stats().consumers.at(0).rejected, rejected + 1);
}

namespace {
// Consumer "a" over 10 events: it nacks `nacked`, acks all 10, then asks for its dead letters;
// returns once the broker has PUBACKed everything before the request (so what comes after is
// the redelivery's) and the first `nacked.size()` are out.
void nack_ack_and_redeliver(Core& c, FakeStore& store, const std::vector<std::uint64_t>& nacked) {
  c.link->connect();
  wait_registered(c, "a", 10);
  for (auto seq : nacked) {
    c.link->inbound(kTestRoot + "/ack/a", R"({"nack":)" + std::to_string(seq) + R"(,"reason":"bad"})");
  }
  c.ack("a", 10);
  ASSERT_TRUE(c.settle_until([&] { c.poll(); return store.acked("a") == 10; }));
  ASSERT_EQ(store.dead_letters("a").size(), nacked.size());
  c.link->puback_all();
  c.link->inbound(kTestRoot + "/replay/a", R"({"redeliver_dead":true})");
  ASSERT_TRUE(c.settle_until([&] {
    c.advance(100ms);
    return c.link->seqs("a", true).size() == nacked.size();
  }));
  EXPECT_EQ(c.link->seqs("a", true), nacked);
}
}  // namespace

// Redelivered dead letters leave the store's list only once the broker has them (PUBACK): a
// link lost before that sends them again on the next one (they were deleted when read, and
// lost with the link, a failed publish or a restart). A consumer that refuses one again, below
// its cursor, puts it back on the list (that nack was refused, and the event was on no list).
TEST(DeliveryCore, ARedeliveredDeadLetterLeavesTheListOnlyOnceTheBrokerHasIt) {
  FakeStore store;
  fill(store, 10);
  Core c(store, {consumer("a")});
  ASSERT_NO_FATAL_FAILURE(nack_ack_and_redeliver(c, store, {4, 6}));
  c.link->drop();
  c.poll();
  EXPECT_EQ(store.dead_letters("a").size(), 2u);
  c.link->connect();
  ASSERT_TRUE(c.settle_until([&] { c.advance(100ms); return c.link->seqs("a", true).size() == 4; }));
  EXPECT_EQ(c.link->seqs("a", true), (std::vector<std::uint64_t>{4, 6, 4, 6}));
  c.link->puback_all();
  ASSERT_TRUE(c.settle_until([&] { c.poll(); return store.dead_letters("a").empty(); }));
  c.link->inbound(kTestRoot + "/ack/a", R"({"nack":4,"reason":"still bad"})");
  ASSERT_TRUE(c.settle_until([&] { c.poll(); return store.dead_letters("a").size() == 1; }));
  EXPECT_EQ(store.dead_letters("a")[0].seq, 4u);
  EXPECT_EQ(store.dead_letters("a")[0].reason, "still bad");
}

// A PUBACK that says the broker did not pass the dead letter on (MQTT 5: no subscriber, or
// refused) leaves it on the list, for the consumer's next request.
TEST(DeliveryCore, ADeadLetterTheBrokerDidNotPassOnStaysListed) {
  FakeStore store;
  fill(store, 10);
  Core c(store, {consumer("a")});
  ASSERT_NO_FATAL_FAILURE(nack_ack_and_redeliver(c, store, {4}));
  c.link->puback_all(0x10);
  c.advance(100ms);
  EXPECT_EQ(c.link->seqs("a", true).size(), 1u) << "sent again without a request";
  EXPECT_EQ(store.dead_letters("a").size(), 1u);
  c.link->inbound(kTestRoot + "/replay/a", R"({"redeliver_dead":true})");
  ASSERT_TRUE(c.settle_until([&] { c.advance(100ms); return c.link->seqs("a", true).size() == 2; }));
  c.link->puback_all();
  ASSERT_TRUE(c.settle_until([&] { c.poll(); return store.dead_letters("a").empty(); }));
}

TEST(DeliveryCore, AReconnectResendsFromTheAckedCursor) {
  FakeStore store;
  fill(store, 10);
  Core c(store, {consumer("a")});
  c.link->connect();
  wait_registered(c, "a", 10);
  c.ack("a", 6);
  ASSERT_TRUE(c.settle_until([&] { c.poll(); return store.acked("a") == 6; }));
  c.link->drop();
  c.advance(5s);
  EXPECT_EQ(c.link->seqs("a").size(), 10u) << "published while the link was down";
  c.link->connect();
  ASSERT_TRUE(c.settle_until([&] { c.poll(); return c.link->seqs("a").size() == 14; }));
  auto seqs = c.link->seqs("a");
  EXPECT_EQ(std::vector<std::uint64_t>(seqs.begin() + 10, seqs.end()), range(7, 10));
}

TEST(DeliveryCore, HealthIsPublishedOncePerPeriodOfTheClock) {
  FakeStore store;
  fill(store, 3);
  auto mo = mqtt_options(1);
  mo.health_period = 10s;
  Core c(store, {consumer("a")}, mo);
  c.link->connect();
  wait_registered(c, "a", 3);
  const std::string health = kTestRoot + "/health";
  c.advance(10s - 1ms);
  for (int i = 0; i < 5; ++i) c.poll();
  EXPECT_EQ(c.link->count(health), 0u);
  c.advance(1ms);
  ASSERT_EQ(c.link->count(health), 1u);
  auto h = json::parse(c.link->last(health)->payload).as_object();
  EXPECT_EQ(h.at("schema").as_string(), "floorgate.health/1");
  EXPECT_EQ(h.at("ts_ms").as_int64(), c.clock.unix_ms());
  EXPECT_EQ(h.at("consumers").as_array().at(0).at("sent_upto").as_int64(), 3);
  c.advance(9s);
  EXPECT_EQ(c.link->count(health), 1u);
  c.advance(1s);
  EXPECT_EQ(c.link->count(health), 2u);
}

TEST(DeliveryCore, ReplayRequestsAreABurstOfThreeThenOneEveryTwoSeconds) {
  FakeStore store;
  fill(store, 5);
  Core c(store, {consumer("a")});
  c.link->connect();
  wait_registered(c, "a", 5);
  const std::string topic = kTestRoot + "/replay/a";
  for (int i = 0; i < 3; ++i) c.link->inbound(topic, R"({"from_seq": 1})");
  c.poll();  // stats() is the snapshot a tick refreshes
  EXPECT_EQ(c.delivery->stats().rejected_replay_rate, 0u);
  c.link->inbound(topic, R"({"from_seq": 1})");
  c.poll();
  EXPECT_EQ(c.delivery->stats().rejected_replay_rate, 1u);
  c.clock.advance(2000 - 1);
  c.link->inbound(topic, R"({"from_seq": 1})");
  c.poll();
  EXPECT_EQ(c.delivery->stats().rejected_replay_rate, 2u) << "accepted before 2 s";
  c.clock.advance(2000);
  c.link->inbound(topic, R"({"from_seq": 1})");
  c.poll();
  EXPECT_EQ(c.delivery->stats().rejected_replay_rate, 2u);
  c.link->inbound(topic, R"({"from_seq": 1})");
  c.poll();
  EXPECT_EQ(c.delivery->stats().rejected_replay_rate, 3u);
}

TEST(DeliveryCore, ReplayFollowsItsRateOnTheClock) {
  FakeStore store;
  fill(store, 200);
  auto opt = consumer("a", {}, 500);
  opt.replay_rate = 100;  // events per second; a bucket of 10
  Core c(store, {opt});
  c.link->connect();
  wait_registered(c, "a", 200);
  c.ack("a", 200);
  ASSERT_TRUE(c.settle_until([&] { c.poll(); return store.acked("a") == 200; }));
  c.link->inbound(kTestRoot + "/replay/a", R"({"from_seq": 1})");
  // The clock stands still: polls cannot replay more than the bucket holds.
  for (int i = 0; i < 20; ++i) c.poll();
  const auto at_rest = c.link->seqs("a", true).size();
  EXPECT_LE(at_rest, 10u);
  // One second in 100 ms steps: 100 more, in seq order from seq 1.
  for (int i = 0; i < 10; ++i) {
    c.link->puback_all();
    c.advance(100ms);
  }
  auto replayed = c.link->seqs("a", true);
  EXPECT_EQ(replayed.size(), at_rest + 100);
  EXPECT_EQ(replayed, range(1, replayed.size()));
  EXPECT_EQ(store.acked("a"), 200u) << "a replay moved the cursor";
}

// Rows the store no longer holds in memory are read on its backlog reader (read_after_async),
// answered on the loop: a backlog and a replay still arrive complete, in seq order, each event
// marked with the one before it.
TEST(DeliveryCore, BacklogAndReplayReadOffTheLoopArriveInOrderWithTheirAfterMarks) {
  FakeStore store;
  store.keep_recent(40);
  fill(store, 600);
  Core c(store, {consumer("a", {}, 1000)});
  c.link->connect();
  wait_registered(c, "a", 600);
  EXPECT_EQ(c.link->seqs("a"), range(1, 600));
  EXPECT_GE(store.async_reads(), 2u) << "the backlog was not read off the loop";
  std::uint64_t prev = 0;
  for (auto& s : c.link->sent()) {
    if (s.topic.rfind(kTestRoot + "/c/a/", 0) != 0) continue;
    auto ev = json::parse(s.payload).as_object();
    ASSERT_TRUE(ev.contains("after")) << s.payload;
    EXPECT_EQ(ev.at("after").to_number<std::uint64_t>(), prev) << s.payload;
    prev = std::stoull(s.props.at("seq"));
  }
  c.ack("a", 600);
  ASSERT_TRUE(c.settle_until([&] { c.poll(); return store.acked("a") == 600; }));
  const auto reads = store.async_reads();
  c.link->inbound(kTestRoot + "/replay/a", R"({"from_seq": 1})");
  ASSERT_TRUE(c.settle_until([&] {
    c.link->puback_all();
    c.advance(100ms);
    return c.link->seqs("a", true).size() >= 600;
  })) << "replayed " << c.link->seqs("a", true).size();
  EXPECT_EQ(c.link->seqs("a", true), range(1, 600));
  EXPECT_GT(store.async_reads(), reads) << "the replay was not read off the loop";
}

// A backlog read answered after the stream moved (the link dropped and came back: the stream
// rewound to its cursor) is stale and dropped; the stream reads again from its cursor, so the
// consumer sees no gap and no event out of order.
TEST(DeliveryCore, AStaleBacklogReadIsDroppedAndTheStreamReadsAgainFromItsCursor) {
  FakeStore store;
  store.keep_recent(0);
  fill(store, 30);
  Core c(store, {consumer("a", {}, 10)});
  c.link->connect();
  wait_registered(c, "a", 10);
  ASSERT_EQ(c.link->seqs("a"), range(1, 10));
  store.hold_reads();
  const auto reads = store.async_reads();
  c.ack("a", 5);  // the window opens by 5: a read after seq 10 goes to the (held) reader
  ASSERT_TRUE(c.settle_until([&] { c.poll(); return store.async_reads() > reads; }));
  c.link->drop();     // rewinds the stream to its cursor, seq 5
  c.link->connect();  // while the read after seq 10 is still unanswered
  c.poll();
  EXPECT_EQ(c.link->seqs("a").size(), 10u) << "published while its read was in flight";
  store.release_reads();
  ASSERT_TRUE(c.settle_until([&] { c.poll(); return c.link->seqs("a").size() >= 20; }));
  c.poll();
  auto seqs = c.link->seqs("a");
  ASSERT_EQ(seqs.size(), 20u);
  EXPECT_EQ(std::vector<std::uint64_t>(seqs.begin() + 10, seqs.end()), range(6, 15));
}

// The live copy (QoS 0, best effort) reads only what the store holds in memory, never the
// database on the loop: rows that left memory before it got to them (here: ten appended while
// only four fit) are skipped there and counted. The consumer's own stream still gets each one.
TEST(DeliveryCore, TheLiveCopyReadsOnlyMemoryAndSkipsRowsThatLeftIt) {
  FakeStore store;
  store.keep_recent(4);
  auto opt = mqtt_options(1);
  opt.live_copy = true;
  Core c(store, {consumer("a")}, opt);
  c.link->connect();
  auto live = [&] {
    std::vector<std::uint64_t> seqs;
    for (auto& s : c.link->sent()) {
      if (s.topic.rfind(kTestRoot + "/live/", 0) != 0) continue;
      seqs.push_back(json::parse(s.payload).as_object().at("seq").as_int64());
    }
    return seqs;
  };
  c.delivery->notify_appended(fill(store, 10));
  c.poll();
  EXPECT_TRUE(live().empty());
  EXPECT_EQ(c.delivery->stats().live_skipped, 10u);
  c.delivery->notify_appended(store.add(make_event(10)).seq);
  c.poll();
  EXPECT_EQ(live(), std::vector<std::uint64_t>{11});
  EXPECT_EQ(c.delivery->stats().live_published, 1u);
  wait_registered(c, "a", 11);
  EXPECT_EQ(c.link->seqs("a"), range(1, 11));
}

// Each return of a consumer's presence resends its unacked window. A consumer whose presence
// flaps (a crash loop, two instances under one name) gets a burst of three such resends, then
// its stream is held, longer while it goes on flapping, and resumes from its cursor once the
// hold is over.
TEST(DeliveryCore, AFlappingPresenceIsNotSentItsWindowOnEveryReturn) {
  FakeStore store;
  fill(store, 20);
  Core c(store, {consumer("a", {}, 5)});
  c.link->connect();
  wait_registered(c, "a", 5);
  const std::string presence = kTestRoot + "/consumer/a/status";
  auto flap = [&] {
    c.link->inbound(presence, R"({"state":"offline"})");
    c.link->inbound(presence, R"({"state":"online"})");
    c.poll();
  };
  flap();  // present from unknown: the first announcement (offline, online)
  const auto before = c.link->seqs("a").size();
  for (int i = 0; i < 10; ++i) flap();
  // Tokens 3 -> the first announcement took one: two more windows, then held.
  EXPECT_EQ(c.link->seqs("a").size(), before + 2 * 5) << "without a bound: " << before + 10 * 5;
  EXPECT_EQ(c.delivery->stats().consumers.at(0).presence_holds, 1u);
  // Held 2 s from the first return over the bound; the later ones do not extend it.
  c.advance(1999ms);
  EXPECT_EQ(c.link->seqs("a").size(), before + 2 * 5);
  c.advance(2ms);
  ASSERT_EQ(c.link->seqs("a").size(), before + 3 * 5);
  EXPECT_EQ(c.link->seqs("a").back(), 5u) << "from the cursor again";
  c.ack("a", 5);
  c.poll();
  EXPECT_EQ(c.link->seqs("a").back(), 10u) << "and the stream goes on";
  // Flapping on, it is held longer (its tokens are spent), and still sent its window once per
  // hold, never starved.
  const auto sent = c.link->seqs("a").size();
  flap();
  EXPECT_EQ(c.link->seqs("a").size(), sent);
  c.advance(4000ms);  // the hold is about 6 s
  flap();             // during the hold: not extended
  c.advance(1990ms);
  EXPECT_EQ(c.link->seqs("a").size(), sent);
  c.advance(20ms);
  EXPECT_EQ(c.link->seqs("a").size(), sent + 5);
}
