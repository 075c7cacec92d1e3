// floorgate-consume (the real program) against the gateway's Delivery on a real Mosquitto with
// the in-memory store: live_first lanes, exactly-once into a jsonl file across kill -9, gap
// replays and nacks from the exec sink.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>

#include <boost/json.hpp>
#include <atomic>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "fake_store.hpp"
#include "harness.hpp"
#include "mosquitto_broker.hpp"

namespace fg = floorgate::gateway;
using namespace floorgate::testing;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The seqs of a kit's jsonl output, in file order.
std::vector<std::uint64_t> seqs_in(const std::filesystem::path& p) {
  std::vector<std::uint64_t> out;
  std::istringstream in(slurp(p));
  for (std::string line; std::getline(in, line);) {
    json::error_code ec;
    auto v = json::parse(line, ec);
    if (ec) continue;
    out.push_back(v.at("event").at("seq").to_number<std::uint64_t>());
  }
  return out;
}

std::uint64_t fill(FakeStore& store, int n, int offset = 0) {
  std::uint64_t last = 0;
  for (int i = 0; i < n; ++i) last = store.add(make_event(offset + i)).seq;
  return last;
}

class Kit {
 public:
  Kit(const TempDir& dir, int port, std::vector<std::string> sink_args) : dir_(dir) {
    args_ = {build_path("firmware-host/floorgate-consume/floorgate-consume"), "--consumer",
             "analytics", "--gateway", kTestRoot, "--port", std::to_string(port),
             "--client-id", "kit-" + std::to_string(port), "--batch-ms", "5"};
    args_.insert(args_.end(), sink_args.begin(), sink_args.end());
  }
  void start() {
    const auto before = subscribed_lines();
    proc_ = std::make_unique<ChildProcess>(args_, "", (dir_ / "kit.err").string());
    if (!wait_until([&] { return subscribed_lines() > before; }, 20s))
      throw std::runtime_error("floorgate-consume did not subscribe: " + log());
  }
  void kill(int sig) {
    proc_->kill(sig);
    proc_->wait();
  }
  std::string log() const { return slurp(dir_ / "kit.err"); }

 private:
  std::size_t subscribed_lines() const {
    auto l = log();
    std::size_t n = 0;
    for (auto p = l.find("subscribed to"); p != std::string::npos; p = l.find("subscribed to", p + 1)) ++n;
    return n;
  }
  const TempDir& dir_;
  std::vector<std::string> args_;
  std::unique_ptr<ChildProcess> proc_;
};

}  // namespace

TEST(ConsumeKit, LiveFirstSendsNewEventsBesideTheBacklogAndEverythingArrivesOnce) {
  MosquittoBroker broker;
  FakeStore store;
  TempDir dir;
  const auto backlog = fill(store, 20000);
  auto opt = consumer("analytics", {}, 64);
  opt.live_first = true;
  opt.ack_timeout = 60s;
  DeliveryHarness h(store, mqtt_options(broker.port()), {opt});
  // The sink's first batch waits on a FIFO until the test opens the gate: the gateway has then
  // published the backlog lane's quarter window (16) and nothing more of it.
  const auto gate = dir / "gate", opened = dir / "opened", out = dir / "out.jsonl";
  ASSERT_EQ(::mkfifo(gate.c_str(), 0600), 0);
  // Held open for reading and writing: the command's open never waits for a writer, and our
  // write never waits for a reader (a command that started late skips the gate).
  const int gate_fd = ::open(gate.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
  ASSERT_GE(gate_fd, 0);
  Kit kit(dir, broker.port(),
          {"--sink", "exec", "--state", (dir / "kit.state").string(), "--command",
           "cat >> " + out.string() + " && { [ -e " + opened.string() + " ] || read x < " +
               gate.string() + "; }"});
  kit.start();
  // The kit announced itself (its presence rewinds the stream and re-forms the live lane) and
  // the backlog's window is in flight: only now may new events arrive for the live lane.
  ASSERT_TRUE(wait_until([&] {
    const auto c = h.stats().consumers.at(0);
    return c.present == true && c.inflight == 16;
  }, 20s));
  // New events while the backlog waits: they go out at once on the live lane.
  std::uint64_t last = 0;
  for (int i = 0; i < 5; ++i) {
    last = store.add(make_event(30000 + i)).seq;
    h.notify(last);
  }
  ASSERT_TRUE(wait_until([&] { return h.stats().consumers.at(0).inflight == 21; }, 20s));
  std::ofstream(opened.string()) << "1";
  ASSERT_EQ(::write(gate_fd, "go\n", 3), 3);
  ASSERT_TRUE(wait_until([&] { return store.acked("analytics") == last; }, 120s)) << kit.log();
  auto seqs = seqs_in(out);
  ASSERT_EQ(seqs.size(), last) << "each event once";
  std::set<std::uint64_t> distinct(seqs.begin(), seqs.end());
  EXPECT_EQ(distinct.size(), last);
  // The live events were applied right after the first backlog window, long before its end.
  auto pos = [&](std::uint64_t s) { return std::find(seqs.begin(), seqs.end(), s) - seqs.begin(); };
  EXPECT_LT(pos(backlog + 1), 40);
  EXPECT_LT(pos(last), pos(backlog));
  kit.kill(SIGTERM);
  ::close(gate_fd);
}

TEST(ConsumeKit, JsonlHoldsEveryEventOnceAcrossKillNine) {
  MosquittoBroker broker;
  FakeStore store;
  TempDir dir;
  DeliveryHarness h(store, mqtt_options(broker.port()), {consumer("analytics", {}, 200)});
  const auto out = dir / "out.jsonl";
  Kit kit(dir, broker.port(), {"--sink", "jsonl", "--out", out.string(), "--batch", "50"});
  kit.start();
  std::uint64_t last = 0;
  for (int round = 0; round < 5; ++round) {
    const auto before = seqs_in(out).size();
    last = fill(store, 3000, round * 3000);
    h.notify(last);
    // Killed while the stream flows: some lines may be written but not yet in the state file.
    ASSERT_TRUE(wait_until([&] { return seqs_in(out).size() > before + 100 * (round + 1); }, 30s));
    kit.kill(SIGKILL);
    kit.start();
  }
  ASSERT_TRUE(wait_until([&] { return store.acked("analytics") == last; }, 120s)) << kit.log();
  auto seqs = seqs_in(out);
  std::set<std::uint64_t> distinct(seqs.begin(), seqs.end());
  EXPECT_EQ(distinct.size(), last);
  EXPECT_EQ(seqs.size(), last) << "no line twice";
  EXPECT_TRUE(std::is_sorted(seqs.begin(), seqs.end()));
  kit.kill(SIGTERM);
}

TEST(ConsumeKit, AGapAsksForAReplayAndARefusedBatchIsNacked) {
  MosquittoBroker broker;
  FakeStore store;
  TempDir dir;
  DeliveryHarness h(store, mqtt_options(broker.port()), {consumer("analytics", {}, 100)});
  TestClient::Options spy_opt;
  spy_opt.port = broker.port();
  spy_opt.id = "spy";
  spy_opt.subscriptions = {kTestRoot + "/replay/analytics"};
  TestClient spy(spy_opt);
  // A sink that always fails: after 2 attempts the batch is nacked (dead letters).
  Kit kit(dir, broker.port(),
          {"--sink", "exec", "--attempts", "2", "--state", (dir / "kit.state").string(),
           "--command", "cat > /dev/null; echo 'central db is read-only' >&2; exit 1"});
  kit.start();
  auto last = fill(store, 10);
  h.notify(last);
  ASSERT_TRUE(wait_until([&] { return store.acked("analytics") == last; }, 60s)) << kit.log();
  EXPECT_EQ(store.dead_letters("analytics").size(), 10u);
  EXPECT_EQ(store.dead_letters("analytics").at(0).reason, "exit status 1: central db is read-only");
  // An event whose predecessor never came (as if the broker had dropped one): not applied,
  // and the kit asks for a replay from the first seq it does not have.
  TestClient forger(client_options(broker.port(), "forger", false));
  forger.publish(kTestRoot + "/c/analytics/egm-0/security/door.opened",
                 R"({"schema":"floorgate.event/1","seq":15,"epoch":)" +
                     std::to_string(store.stats().epoch) + R"(,"after":13,"replay":false})");
  ASSERT_TRUE(wait_until([&] { return spy.count() >= 1; }, 20s)) << kit.log();
  EXPECT_NE(spy.messages().at(0).payload.find("\"from_seq\":11"), std::string::npos)
      << spy.messages().at(0).payload;
  EXPECT_NE(kit.log().find("asking for a replay"), std::string::npos);
  kit.kill(SIGTERM);
}

TEST(ConsumeKit, AWildcardRootFollowsEveryGatewayWithItsOwnPositions) {
  MosquittoBroker broker;
  FakeStore store1, store2;
  TempDir dir;
  auto m2 = mqtt_options(broker.port(), "floor/v1/test/gw2");
  m2.client_id += "-gw2";
  DeliveryHarness h1(store1, mqtt_options(broker.port()), {consumer("analytics", {}, 50)});
  DeliveryHarness h2(store2, m2, {consumer("analytics", {}, 50)});
  const auto out = dir / "out.jsonl";
  std::vector<std::string> args{build_path("firmware-host/floorgate-consume/floorgate-consume"),
                                "--consumer", "analytics", "--gateways", "floor/v1/test/+",
                                "--port", std::to_string(broker.port()), "--client-id", "kit-wild",
                                "--sink", "jsonl", "--out", out.string(), "--batch-ms", "5"};
  ChildProcess kit(args, "", (dir / "kit.err").string());
  ASSERT_TRUE(wait_until([&] { return slurp(dir / "kit.err").find("subscribed to") != std::string::npos; }, 20s));
  const auto last1 = fill(store1, 300), last2 = fill(store2, 120);
  h1.notify(last1);
  h2.notify(last2);
  ASSERT_TRUE(wait_until([&] {
    return store1.acked("analytics") == last1 && store2.acked("analytics") == last2;
  }, 60s)) << slurp(dir / "kit.err");
  std::map<std::string, std::set<std::uint64_t>> by_gateway;
  std::size_t lines = 0;
  std::istringstream in(slurp(out));
  for (std::string line; std::getline(in, line); ++lines) {
    auto v = json::parse(line);
    by_gateway[std::string(v.at("gateway").as_string())].insert(v.at("event").at("seq").to_number<std::uint64_t>());
  }
  EXPECT_EQ(lines, last1 + last2);
  EXPECT_EQ(by_gateway["floor/v1/test/gw1"].size(), last1);
  EXPECT_EQ(by_gateway["floor/v1/test/gw2"].size(), last2);
  // One position per gateway in the state file.
  auto state = json::parse(slurp(dir / "out.jsonl.state"));
  EXPECT_EQ(state.at("streams").as_object().size(), 2u);
  kit.kill(SIGTERM);
  EXPECT_EQ(kit.wait(), 0);
}

namespace {

// floorgate-consume's command line for the analytics consumer into a jsonl file in `dir`.
std::vector<std::string> jsonl_kit(int port, const TempDir& dir) {
  return {build_path("firmware-host/floorgate-consume/floorgate-consume"), "--consumer",
          "analytics", "--gateway", kTestRoot, "--port", std::to_string(port), "--sink", "jsonl",
          "--out", (dir / "out.jsonl").string()};
}

// A minimal scripted MQTT 3.1.1 "broker" for what Mosquitto will not do: it answers each
// CONNECT with an accepted CONNACK, then either closes the connection at once (kDrop) or answers
// every SUBSCRIBE with a refusal (0x80) and keeps the connection until the client leaves
// (kRefuseSubscriptions; Mosquitto grants a subscription its ACL forbids and filters on
// delivery). One connection at a time; it notes when each arrived.
class ScriptedBroker {
 public:
  enum Mode { kDrop, kRefuseSubscriptions };
  explicit ScriptedBroker(Mode mode) : mode_(mode) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::listen(fd_, 8) != 0)
      throw std::runtime_error("ScriptedBroker: cannot listen");
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~ScriptedBroker() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  int port() const { return port_; }
  std::vector<std::chrono::steady_clock::time_point> accepts() const {
    std::lock_guard lock(mu_);
    return accepts_;
  }
  int refused() const { return refused_; }

 private:
  // Waits (in 50 ms steps, to see stop_) for `fd` to be readable; false on stop.
  bool readable(int fd) {
    while (!stop_) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 50) > 0) return true;
    }
    return false;
  }
  void serve() {
    while (readable(fd_)) {
      const int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      {
        std::lock_guard lock(mu_);
        accepts_.push_back(std::chrono::steady_clock::now());
      }
      converse(c);
      ::close(c);
    }
  }
  // Reads whole packets (fixed header, remaining length, body) until the client leaves.
  void converse(int c) {
    std::string in;
    char buf[4096];
    while (readable(c)) {
      const auto n = ::read(c, buf, sizeof buf);
      if (n <= 0) return;
      in.append(buf, static_cast<std::size_t>(n));
      for (;;) {
        std::size_t len = 0, i = 1;
        for (int shift = 0; i < in.size() && i < 5; ++i, shift += 7) {
          len |= static_cast<std::size_t>(in[i] & 0x7f) << shift;
          if (!(in[i] & 0x80)) break;
        }
        if (i >= in.size() || in.size() < i + 1 + len) break;  // not whole yet
        const auto type = static_cast<unsigned char>(in[0]) >> 4;
        const std::string body = in.substr(i + 1, len);
        in.erase(0, i + 1 + len);
        if (type == 1) {  // CONNECT
          const char connack[] = {0x20, 0x02, 0x00, 0x00};
          (void)!::write(c, connack, sizeof connack);
          if (mode_ == kDrop) return;
        } else if (type == 8 && body.size() >= 2) {  // SUBSCRIBE: one failure code per filter
          std::string suback{'\x90', 0, body[0], body[1]};
          for (std::size_t p = 2; p + 2 <= body.size();) {
            const auto tlen = (static_cast<unsigned char>(body[p]) << 8) |
                              static_cast<unsigned char>(body[p + 1]);
            p += 2 + tlen + 1;
            suback.push_back('\x80');
            ++refused_;
          }
          suback[1] = static_cast<char>(suback.size() - 2);
          (void)!::write(c, suback.data(), suback.size());
        } else if (type == 12) {  // PINGREQ
          const char pingresp[] = {'\xd0', 0x00};
          (void)!::write(c, pingresp, sizeof pingresp);
        }
      }
    }
  }
  const Mode mode_;
  int fd_ = -1, port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> refused_{0};
  mutable std::mutex mu_;
  std::vector<std::chrono::steady_clock::time_point> accepts_;
  std::thread thread_;
};

}  // namespace

// A broker that accepts the session and drops it at once (a client id another kit keeps taking
// over does this) must not be reconnected to ten times a second: each accepted connect used to
// start the wait again from 100 ms. Only lower bounds on the waits are checked; a slow machine
// can only make them longer.
TEST(ConsumeKit, ABrokerThatDropsEverySessionIsRetriedWithAGrowingWait) {
  ScriptedBroker broker(ScriptedBroker::kDrop);
  TempDir dir;
  ChildProcess kit(jsonl_kit(broker.port(), dir), "", (dir / "kit.err").string());
  ASSERT_TRUE(wait_until([&] { return broker.accepts().size() >= 6; }, 60s))
      << broker.accepts().size() << " connections; " << slurp(dir / "kit.err");
  const auto at = broker.accepts();
  using std::chrono::milliseconds;
  // 100, 200, 400, 800, 1600 ms (the first connect is at once).
  for (std::size_t i = 2; i < 6; ++i)
    EXPECT_GE(at[i] - at[i - 1], milliseconds(100 << (i - 1)) - milliseconds(20))
        << "wait before connection " << i + 1;
  kit.kill(SIGTERM);
  EXPECT_EQ(kit.wait(), 0);
}

// A broker that refuses the event subscription (an ACL; RabbitMQ and most brokers answer it in
// the SUBACK): the kit says so (an error, not silence and not "subscribed") and keeps trying,
// so a corrected ACL is picked up without a restart.
TEST(ConsumeKit, ARefusedSubscriptionIsAnErrorAndIsRetried) {
  ScriptedBroker broker(ScriptedBroker::kRefuseSubscriptions);
  TempDir dir;
  ChildProcess kit(jsonl_kit(broker.port(), dir), "", (dir / "kit.err").string());
  auto refusals = [&] {
    const auto l = slurp(dir / "kit.err");
    const auto needle = "refused the subscription to " + kTestRoot + "/c/analytics/#";
    std::size_t n = 0;
    for (auto p = l.find(needle); p != std::string::npos; p = l.find(needle, p + 1)) ++n;
    return n;
  };
  ASSERT_TRUE(wait_until([&] { return refusals() >= 2; }, 30s)) << slurp(dir / "kit.err");
  EXPECT_EQ(slurp(dir / "kit.err").find("subscribed to"), std::string::npos);
  EXPECT_GE(broker.accepts().size(), 2u) << "a new session for each try";
  kit.kill(SIGTERM);
  EXPECT_EQ(kit.wait(), 0);
}
