// The G2S host's rules without sockets or real time: a Host with HostDrive{listen = false,
// timers = false}, fake post queues and a core::ManualClock. Requests go in through
// Host::handle() (the code the HTTP server calls), what the host sends comes out of the fake
// queues, and time moves only when the test calls poll() after advancing the clock. The
// simulator suites (g2s_host_test.cpp, tls_test.cpp, the e2e suite) prove the same host over
// real HTTP(S).
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <deque>

#include "floorgate/core/clock.hpp"
#include "floorgate/drivers/g2s/host.hpp"
#include "g2s/xml_codec.hpp"

namespace g2s = floorgate::drivers::g2s;
namespace core = floorgate::core;
namespace asio = boost::asio;
using floorgate::drivers::DurableHandler;
using floorgate::drivers::Event;

namespace {

constexpr const char* kEgmId = "CORE_0001";
constexpr const char* kHostId = "7";

// One EGM's outbound queue: records every post; each is answered with a g2sAck at once
// unless the test holds answers.
class FakeQueue final : public g2s::PostQueue {
 public:
  struct Post {
    std::string cls, command;  // first class element and its first command
    g2s::Element element;      // that command
  };
  bool set_target(const std::string& url) override {
    target_ = url;
    return true;
  }
  const std::string& target_problem() const override { return none_; }
  void post(std::string body, Done done) override {
    g2s::SoapMessage soap;
    g2s::G2sMessage msg;
    EXPECT_FALSE(g2s::parse_soap(body, 1 << 20, soap));
    EXPECT_FALSE(g2s::parse_g2s_message(soap.payload, 1 << 20, msg));
    Post p;
    if (!msg.classes.empty() && !msg.classes.front().children.empty()) {
      p.cls = msg.classes.front().name;
      p.command = msg.classes.front().children.front().name;
      p.element = msg.classes.front().children.front();
    }
    posts_.push_back(std::move(p));
    g2s::Envelope env{"", kEgmId, "2030-01-01T00:00:00.000Z"};
    done({}, 200, g2s::wrap_response(g2s::build_ack(env)));
  }
  void clear() override {}
  std::size_t queued() const override { return 0; }
  const std::string& last_error() const override { return none_; }
  void stop() override {}

  std::size_t count(const std::string& command) const {
    std::size_t n = 0;
    for (auto& p : posts_) n += p.command == command;
    return n;
  }
  const Post* last(const std::string& command) const {
    for (auto it = posts_.rbegin(); it != posts_.rend(); ++it)
      if (it->command == command) return &*it;
    return nullptr;
  }

 private:
  std::string target_, none_;
  std::vector<Post> posts_;
};

// Keeps events and their durability callbacks until the test says they are durable.
class HeldSink final : public floorgate::drivers::EventSink {
 public:
  void submit(Event e, DurableHandler done) override {
    events.push_back(e);
    held.push_back(std::move(done));
  }
  void make_durable() {
    auto h = std::move(held);
    held.clear();
    for (auto& d : h) d({}, ++seq);
  }
  // Completes what is held in order: the first fails (a full disk), the rest are durable.
  void fail_first_then_durable() {
    auto h = std::move(held);
    held.clear();
    for (std::size_t i = 0; i < h.size(); ++i) {
      h[i](i == 0 ? std::make_error_code(std::errc::no_space_on_device) : std::error_code{}, ++seq);
    }
  }
  const Event* last_of_type(const std::string& type) const {
    for (auto it = events.rbegin(); it != events.rend(); ++it)
      if (it->type == type) return &*it;
    return nullptr;
  }
  std::size_t of_type(const std::string& type) const {
    std::size_t n = 0;
    for (auto& e : events) n += e.type == type;
    return n;
  }
  std::vector<Event> events;
  std::deque<DurableHandler> held;
  std::uint64_t seq = 0;
};

class Core {
 public:
  explicit Core(g2s::HostConfig cfg = config()) {
    g2s::HostDrive drive;
    drive.clock = &clock;
    drive.listen = false;
    drive.timers = false;
    drive.post_queue = [this](const g2s::EgmConfig&) {
      auto q = std::make_unique<FakeQueue>();
      queue = q.get();
      return q;
    };
    host = std::make_unique<g2s::Host>(ioc.get_executor(), std::move(cfg), sink,
                                       [this] { return clock.unix_ms(); }, std::move(drive));
  }
  static g2s::HostConfig config() {
    g2s::HostConfig c;
    c.host_id = kHostId;
    c.keepalive = std::chrono::seconds(10);
    c.keepalive_misses = 3;
    c.egms = {{"bank1-01", kEgmId, "http://127.0.0.1:1/G2S"}};
    return c;
  }
  // One request from the EGM (its clock agrees with ours), answered as the server would.
  g2s::InboundReply from_egm(const std::string& cls, const std::string& session_type,
                             const std::string& command_xml, std::int64_t session_id = 1) {
    const auto now = g2s::format_date_time(clock.unix_ms());
    g2s::Envelope env{kHostId, kEgmId, now};
    g2s::ClassHeader h{cls, "1", now, ++command_id_, session_type, session_id, 0, {}};
    auto reply = host->handle({"127.0.0.1", false, {}}, "POST", "/G2S",
                              g2s::wrap_request(g2s::build_body(env, h, command_xml), kEgmId,
                                                kHostId));
    ioc.poll();
    return reply;
  }
  // commsOnLine, then the commsStatus that says the EGM is on line.
  void bring_online() {
    ASSERT_EQ(from_egm("communications", "G2S_request",
                       g2s::XmlOut("commsOnLine").attr("egmLocation", "http://127.0.0.1:1/G2S")
                           .attr("equipmentType", "G2S_egm").str()).status, 200u);
    from_egm("communications", "G2S_response",
             g2s::XmlOut("commsStatus").attr("commsState", "G2S_onLine").str());
    ASSERT_TRUE(link_up());
  }
  void advance(std::int64_t ms) {
    clock.advance(ms);
    host->poll();
    ioc.poll();
  }
  bool link_up() const { return host->status().at(0).link_up; }

  core::ManualClock clock;
  asio::io_context ioc;
  HeldSink sink;
  FakeQueue* queue = nullptr;
  std::unique_ptr<g2s::Host> host;

 private:
  std::int64_t command_id_ = 0;
};

std::string event_report(std::int64_t id, const std::string& when) {
  return g2s::XmlOut("eventReport")
      .attr("deviceClass", "G2S_cabinet").attr("deviceId", "1").attr("eventCode", "G2S_CBE307")
      .attr("eventId", id).attr("eventDateTime", when).attr("transactionId", "0").str();
}

// A bill stacked (NAE114) with the bill meter as of it, in millicents.
std::string bill_report(std::int64_t id, const std::string& when, std::int64_t cents,
                        std::int64_t meter_mc) {
  return g2s::XmlOut("eventReport")
      .attr("deviceClass", "G2S_noteAcceptor").attr("deviceId", "1").attr("eventCode", "G2S_NAE114")
      .attr("eventId", id).attr("eventDateTime", when).attr("transactionId", "0")
      .child(g2s::XmlOut("transactionList")
                 .child(g2s::XmlOut("transactionInfo").attr("deviceClass", "G2S_noteAcceptor")
                            .attr("deviceId", "1")
                            .child(g2s::XmlOut("notesAcceptedLog").attr("currencyId", "USD")
                                       .attr("denomId", cents * 1000).str())
                            .str())
                 .str())
      .child(g2s::XmlOut("meterList")
                 .child(g2s::XmlOut("meterInfo").attr("meterInfoType", "G2S_onEvent")
                            .child(g2s::XmlOut("deviceMeters").attr("deviceClass", "G2S_noteAcceptor")
                                       .attr("deviceId", "1")
                                       .child(g2s::XmlOut("simpleMeter")
                                                  .attr("meterName", "G2S_currencyInAmt")
                                                  .attr("meterValue", meter_mc).str())
                                       .str())
                            .str())
                 .str())
      .str();
}

}  // namespace

TEST(G2sHostCore, OnLineAfterTheHandshakeWithoutAnySocket) {
  Core c;
  ASSERT_FALSE(c.host->start());
  EXPECT_EQ(c.host->port(), 0) << "listen = false must not bind";
  ASSERT_NE(c.queue, nullptr);
  c.bring_online();
  EXPECT_EQ(c.queue->count("commsOnLineAck"), 1u);
  EXPECT_EQ(c.sink.of_type("link.up"), 1u);
  EXPECT_EQ(c.host->status().at(0).state, g2s::CommsState::online);
}

TEST(G2sHostCore, KeepAliveEveryPeriodAndTheThirdMissTakesTheLinkDown) {
  Core c;
  ASSERT_FALSE(c.host->start());
  c.bring_online();
  c.advance(10'000 - 1);
  EXPECT_EQ(c.queue->count("keepAlive"), 0u);
  c.advance(1);
  ASSERT_EQ(c.queue->count("keepAlive"), 1u);
  // The EGM answers (any message from it counts): no miss.
  c.from_egm("communications", "G2S_response", g2s::XmlOut("keepAliveAck").str());
  c.advance(10'000);  // t = 20 s: keepAlive #2, unanswered from here on
  EXPECT_EQ(c.queue->count("keepAlive"), 2u);
  c.advance(10'000);  // 30 s: miss 1, keepAlive #3
  c.advance(10'000);  // 40 s: miss 2, keepAlive #4
  EXPECT_EQ(c.queue->count("keepAlive"), 4u);
  c.advance(10'000 - 1);
  EXPECT_TRUE(c.link_up()) << "down before the third missed period ended";
  EXPECT_EQ(c.sink.of_type("link.down"), 0u);
  c.advance(1);  // 50 s: miss 3
  EXPECT_FALSE(c.link_up());
  ASSERT_EQ(c.sink.of_type("link.down"), 1u);
  EXPECT_NE(c.sink.events.back().attrs_json.find("keepalive"), std::string::npos)
      << c.sink.events.back().attrs_json;
  // Down: nothing more goes out however long we wait.
  c.advance(60'000);
  EXPECT_EQ(c.queue->count("keepAlive"), 4u);
}

TEST(G2sHostCore, EventAckWaitsForDurabilityAndAResendIsNotStoredTwice) {
  Core c;
  ASSERT_FALSE(c.host->start());
  c.bring_online();
  c.sink.make_durable();  // link.up
  const std::string when = g2s::format_date_time(c.clock.unix_ms());
  c.from_egm("eventHandler", "G2S_request", event_report(41, when), 9);
  const auto stored = c.sink.events.size();
  ASSERT_EQ(stored, 2u) << "link.up and the reported event";
  EXPECT_EQ(c.queue->count("eventAck"), 0u) << "acked before the event was durable";
  c.sink.make_durable();
  c.ioc.poll();
  ASSERT_EQ(c.queue->count("eventAck"), 1u);
  EXPECT_EQ(c.queue->last("eventAck")->element.attr_or("eventId"), "41");
  // The EGM did not see our ack and sends the same report again: acked, not stored again.
  c.from_egm("eventHandler", "G2S_request", event_report(41, when), 10);
  c.ioc.poll();
  EXPECT_EQ(c.sink.events.size(), stored);
  EXPECT_EQ(c.queue->count("eventAck"), 2u);
  EXPECT_EQ(c.host->status().at(0).duplicates, 1u);
}

TEST(G2sHostCore, RequestsForOtherHostsOrUnknownEgmsAreRefusedWithTheirErrorCodes) {
  Core c;
  ASSERT_FALSE(c.host->start());
  auto check = [&](const std::string& host_id, const std::string& egm_id, const char* code) {
    g2s::Envelope env{host_id, egm_id, g2s::format_date_time(c.clock.unix_ms())};
    g2s::ClassHeader h{"communications", "1", env.date_time_sent, 1, "G2S_request", 1, 0, {}};
    auto r = c.host->handle({"127.0.0.1", false, {}}, "POST", "/G2S",
                            g2s::wrap_request(g2s::build_body(env, h, g2s::XmlOut("commsOnLine").str()),
                                              egm_id, host_id));
    EXPECT_EQ(r.status, 200u);
    EXPECT_NE(r.body.find(code), std::string::npos) << r.body;
  };
  check("99", kEgmId, "G2S_MSX001");
  check(kHostId, "NOBODY_01", "G2S_MSX002");
  EXPECT_EQ(c.host->handle({"127.0.0.1", false, {}}, "GET", "/G2S", "").status, 405u);
  EXPECT_FALSE(c.link_up());
  EXPECT_TRUE(c.sink.events.empty());
}

// A bill the store failed to commit comes back after a later one, with older meters: nothing is
// judged across it, so no false reconciliation.mismatch (docs/reconciliation.md, G2S), and the
// windows after it are judged again.
TEST(G2sHostCore, AResentMoneyEventIsNotJudgedAgainstLaterMeters) {
  Core c;
  ASSERT_FALSE(c.host->start());
  c.bring_online();
  c.sink.make_durable();
  const std::string when = g2s::format_date_time(c.clock.unix_ms());
  std::int64_t session = 100;
  auto report = [&](std::int64_t id, std::int64_t cents, std::int64_t meter_mc) {
    c.from_egm("eventHandler", "G2S_request", bill_report(id, when, cents, meter_mc), ++session);
  };
  report(9, 100, 100'000);  // the baseline
  c.sink.make_durable();
  report(10, 2000, 2'100'000);  // fails
  report(11, 500, 2'600'000);   // committed
  c.sink.fail_first_then_durable();
  c.ioc.poll();
  report(10, 2000, 2'100'000);  // the EGM's resend of 10, after 11
  c.sink.make_durable();
  report(12, 100, 2'700'000);
  report(13, 200, 2'900'000);
  c.sink.make_durable();
  c.ioc.poll();
  EXPECT_EQ(c.sink.of_type("egm.event_log_reset"), 0u) << "a resend is not an event log reset";
  EXPECT_EQ(c.sink.of_type("reconciliation.mismatch"), 0u)
      << (c.sink.last_of_type("reconciliation.mismatch")
              ? c.sink.last_of_type("reconciliation.mismatch")->attrs_json : "");
  // Only the window 12 -> 13 is judged (12 is the baseline after the resend).
  ASSERT_EQ(c.sink.of_type("meters.reconciled"), 1u);
  EXPECT_NE(c.sink.last_of_type("meters.reconciled")->attrs_json.find(
                "\"meter_delta\":200000,\"event_sum\":200000,\"difference\":0"),
            std::string::npos) << c.sink.last_of_type("meters.reconciled")->attrs_json;
  EXPECT_EQ(c.host->status().at(0).reconciliations, 1u);
  // And a skim after that is still found.
  report(14, 100, 3'500'000);
  c.sink.make_durable();
  c.ioc.poll();
  ASSERT_EQ(c.sink.of_type("reconciliation.mismatch"), 1u);
  EXPECT_NE(c.sink.last_of_type("reconciliation.mismatch")->attrs_json.find("\"difference\":500000"),
            std::string::npos);
}
