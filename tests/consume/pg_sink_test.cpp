// The PostgreSQL sink against a real server started by the test.
#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <thread>

#include "floorgate/consume/consumer.hpp"
#include "floorgate/consume/sink.hpp"
#include "mosquitto_broker.hpp"
#include "postgres_server.hpp"

namespace fc = floorgate::consume;
using namespace floorgate::testing;
using namespace std::chrono_literals;

namespace {

std::string event(std::uint64_t seq, const std::string& ts_gw = "2026-12-07T10:00:00.000Z") {
  return R"({"schema":"floorgate.event/1","seq":)" + std::to_string(seq) +
         R"(,"epoch":1,"egm":"egm-1","egm_seq":)" + std::to_string(seq) +
         R"(,"type":"door.opened","class":"security","ts_gw":")" + ts_gw + R"(",)"
         R"("ts_egm":null,"source":"sas:0x11","attrs":{},"raw":"","hash":"00"})";
}

std::vector<fc::Delivered> batch(std::uint64_t first, std::uint64_t last) {
  std::vector<fc::Delivered> out;
  for (auto s = first; s <= last; ++s) out.push_back({"floor/v1/site/gw1", 1, s, event(s)});
  return out;
}

fc::Positions at(std::uint64_t upto) {
  return {{"floor/v1/site/gw1",
           R"({"epoch":1,"based":true,"known":[[0,)" + std::to_string(upto) + R"(]],"nacked":[]})"}};
}

}  // namespace

// A commit whose COMMIT reached the server but whose answer was lost (the connection cut, the
// server restarting) is tried again by the kit with the same rows and positions. That is the
// same commit, not a contradiction: before, its duplicate keys stopped the kit for good (exit 4,
// which systemd does not restart). Rows that clash with positions that say otherwise still do.
TEST(ConsumePostgresSink, TheSameCommitAgainIsNotAContradiction) {
  floorgate::testing::PostgresServer pg;
  auto sink = fc::make_postgres_sink(pg.conninfo(), "floorgate_events", "analytics");
  ASSERT_TRUE(sink->commit(batch(1, 3), at(3)).ok);
  const auto again = sink->commit(batch(1, 3), at(3));
  EXPECT_TRUE(again.ok) << again.error;
  EXPECT_FALSE(again.fatal);
  ASSERT_TRUE(sink->commit(batch(4, 5), at(5)).ok);
  const auto stale = sink->commit(batch(4, 5), at(4));  // positions that never were stored
  EXPECT_FALSE(stale.ok);
  EXPECT_TRUE(stale.fatal) << stale.error;
  const auto loaded = sink->load_positions();
  ASSERT_TRUE(loaded.ok) << loaded.error;
  ASSERT_TRUE(loaded.positions.has_value());
  ASSERT_EQ(loaded.positions->size(), 1u);
  EXPECT_NE(loaded.positions->begin()->second.find("[[0, 5]]"), std::string::npos)
      << loaded.positions->begin()->second;
}

namespace {

// The postgres sink, except that its first commit's answer is "lost": the commit goes through
// and the kit is told it failed. Later tries fail too (the server "restarting") until the
// retried batch holds `wait_for_seq`, which arrived meanwhile; then they go through as they are.
class LostAnswerSink final : public fc::Sink {
 public:
  LostAnswerSink(std::unique_ptr<fc::Sink> real, std::uint64_t wait_for_seq)
      : real_(std::move(real)), wait_for_(wait_for_seq) {}
  const char* name() const override { return "postgres"; }
  fc::LoadResult load_positions() override { return real_->load_positions(); }
  fc::CommitResult commit(const std::vector<fc::Delivered>& batch,
                          const fc::Positions& positions) override {
    if (!lost_) {
      auto r = real_->commit(batch, positions);
      if (!r.ok) return r;
      lost_ = true;
      return {false, "postgres: server closed the connection unexpectedly", false, false};
    }
    const bool has = std::any_of(batch.begin(), batch.end(),
                                 [&](const fc::Delivered& d) { return d.seq == wait_for_; });
    if (!has && !batch.empty()) return {false, "postgres: the database system is starting up", false, false};
    return real_->commit(batch, positions);
  }
  std::atomic<bool> lost_{false};

 private:
  std::unique_ptr<fc::Sink> real_;
  const std::uint64_t wait_for_;
};

void publish_event(int port, std::uint64_t seq, const std::string& payload = {}) {
  ChildProcess pub({"mosquitto_pub", "-p", std::to_string(port), "-q", "1", "-t",
                    "floor/v1/site/gw1/c/analytics/egm-1/security/door.opened", "-m",
                    payload.empty() ? event(seq) : payload});
  ASSERT_EQ(pub.wait(30s), 0);
}

// The kit's run() on a thread of its own; stopped and joined on every way out of a test.
class KitThread {
 public:
  KitThread(const fc::ConsumeOptions& opt, fc::Sink& sink)
      : thread_([this, opt, &sink] { code = fc::run(opt, sink, stop_); }) {}
  ~KitThread() { stop(); }
  int stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    return code;
  }
  std::atomic<int> code{-1};  // run()'s exit code once it returned

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Waits until the kit (client id `id`) has both its subscriptions on `broker` (log_type all).
bool subscribed(const MosquittoBroker& broker, const std::string& id) {
  return wait_until([&] {
    const auto log = broker.log();
    const auto needle = "Received SUBSCRIBE from " + id;
    std::size_t n = 0;
    for (auto p = log.find(needle); p != std::string::npos; p = log.find(needle, p + 1)) ++n;
    return n >= 2;
  }, 30s);
}

}  // namespace

// The case the sink alone cannot settle: a commit whose answer was lost, retried with more
// events than it had (they arrived during the retries). Its rows clash, and the positions it
// brings are ahead of the stored ones, so the sink cannot call it the same commit. The kit reads
// the stored positions again, sees the earlier commit went in, and goes on from there: each
// event once in the table, none lost, no exit 4 (which systemd does not restart).
TEST(ConsumePostgresSink, ALostCommitAnswerWithNewEventsInTheRetryIsNotAContradiction) {
  PostgresServer pg;
  MosquittoBroker broker("log_type all\n");
  LostAnswerSink sink(fc::make_postgres_sink(pg.conninfo(), "floorgate_events", "analytics"), 5);
  fc::ConsumeOptions opt;
  opt.consumer = "analytics";
  opt.gateways = {"floor/v1/site/gw1"};
  opt.port = broker.port();
  opt.client_id = "kit-lost-answer";
  opt.batch_max = 3;
  opt.batch_wait = 5ms;
  KitThread kit(opt, sink);
  ASSERT_TRUE(subscribed(broker, opt.client_id)) << broker.log();
  for (std::uint64_t seq = 1; seq <= 3; ++seq) publish_event(broker.port(), seq);
  ASSERT_TRUE(wait_until([&] { return sink.lost_.load(); }, 30s));
  for (std::uint64_t seq = 4; seq <= 5; ++seq) publish_event(broker.port(), seq);
  ASSERT_TRUE(wait_until([&] {
    return kit.code >= 0 || pg.query("SELECT count(*) FROM floorgate_events") == "5\n";
  }, 60s)) << pg.query("SELECT count(*) FROM floorgate_events")
           << pg.query("SELECT state::text FROM floorgate_consumer_positions");
  EXPECT_EQ(kit.code.load(), -1) << "the kit stopped";
  EXPECT_EQ(pg.query("SELECT string_agg(seq::text, ',' ORDER BY seq) FROM floorgate_events"),
            "1,2,3,4,5\n");
  auto reader = fc::make_postgres_sink(pg.conninfo(), "floorgate_events", "analytics");
  ASSERT_TRUE(wait_until([&] {  // its own connection: the kit's sink is the kit thread's
    const auto loaded = reader->load_positions();
    return loaded.ok && loaded.positions &&
           loaded.positions->begin()->second.find("[[0, 5]]") != std::string::npos;
  }, 30s));
  EXPECT_EQ(kit.stop(), 0);
}

// A row PostgreSQL refuses for what it holds (here a time it cannot read) would be refused on
// every retry and held the stream for good. The sink finds which rows (nothing committed), the
// kit nacks them (dead letters on the gateway) and commits the rest with the positions.
TEST(ConsumePostgresSink, ARowRefusedForItsDataIsNamedAndNothingIsCommitted) {
  PostgresServer pg;
  auto sink = fc::make_postgres_sink(pg.conninfo(), "floorgate_events", "analytics");
  auto b = batch(1, 4);
  b[2].payload = event(3, "not a time");
  const auto r = sink->commit(b, at(4));
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.fatal);
  EXPECT_EQ(r.refused, (std::vector<std::size_t>{2}));
  EXPECT_NE(r.error.find("not a time"), std::string::npos) << r.error;
  EXPECT_EQ(pg.query("SELECT count(*) FROM floorgate_events"), "0\n");
  EXPECT_EQ(pg.query("SELECT count(*) FROM floorgate_consumer_positions"), "0\n");
}

TEST(ConsumePostgresSink, TheKitNacksARefusedRowAndCommitsTheRest) {
  PostgresServer pg;
  MosquittoBroker broker("log_type all\n");
  auto sink = fc::make_postgres_sink(pg.conninfo(), "floorgate_events", "analytics");
  fc::ConsumeOptions opt;
  opt.consumer = "analytics";
  opt.gateways = {"floor/v1/site/gw1"};
  opt.port = broker.port();
  opt.client_id = "kit-refused-row";
  opt.batch_wait = 200ms;
  KitThread kit(opt, *sink);
  ASSERT_TRUE(subscribed(broker, opt.client_id)) << broker.log();
  TempDir dir;  // what the kit sends the gateway on its ack topic
  ChildProcess spy({"mosquitto_sub", "-p", std::to_string(broker.port()), "-i", "spy-acks", "-q",
                    "1", "-t", "floor/v1/site/gw1/ack/analytics"},
                   (dir / "acks").string());
  ASSERT_TRUE(wait_until([&] {
    return broker.log().find("Received SUBSCRIBE from spy-acks") != std::string::npos;
  }, 30s));
  // One publisher, one message per line: the four arrive within the kit's 200 ms batch wait,
  // in one batch. Seq 2 comes as a redelivered dead letter, twice (a QoS 1 redelivery): once
  // nacked, a dead letter's next copy is new again, so the nack pass must not classify anew.
  {
    auto dead_letter = event(2, "not a time");
    dead_letter.insert(1, R"("dead_letter":true,)");
    std::ofstream lines(dir / "events");
    lines << event(1) << '\n' << dead_letter << '\n' << dead_letter << '\n' << event(3) << '\n';
  }
  ChildProcess pub({"sh", "-c",
                    "mosquitto_pub -p " + std::to_string(broker.port()) +
                        " -q 1 -t floor/v1/site/gw1/c/analytics/egm-1/security/door.opened -l < " +
                        (dir / "events").string()});
  ASSERT_EQ(pub.wait(30s), 0);
  ASSERT_TRUE(wait_until([&] {
    return kit.code >= 0 || pg.query("SELECT string_agg(seq::text, ',' ORDER BY seq) FROM "
                                 "floorgate_events") == "1,3\n";
  }, 60s)) << pg.query("SELECT string_agg(seq::text, ',' ORDER BY seq) FROM floorgate_events");
  auto reader = fc::make_postgres_sink(pg.conninfo(), "floorgate_events", "analytics");
  std::string position;
  ASSERT_TRUE(wait_until([&] {  // its own connection: the kit's sink is the kit thread's
    const auto loaded = reader->load_positions();
    if (!loaded.ok || !loaded.positions || loaded.positions->empty()) return false;
    position = loaded.positions->begin()->second;
    return position.find("[[0, 3]]") != std::string::npos;
  }, 30s)) << position;
  EXPECT_NE(position.find("\"nacked\": [2"), std::string::npos) << position;
  auto acks = [&] {
    std::ifstream in(dir / "acks");
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  EXPECT_TRUE(wait_until([&] { return acks().find(R"({"nack":2,)") != std::string::npos; }, 30s))
      << acks();
  EXPECT_EQ(kit.stop(), 0);
}
