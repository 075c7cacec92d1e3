// Hostile input against the whole appliance (issue 17): a real daemon, broker and simulator
// (pty and TCP machines with random traffic), the web page and a G2S bus. One test per attack
// class; each ends with the fault suite's proof: every exception the simulator's ledger shows
// implied-ACKed reached the analytics consumer, no machine dropped anything, and the daemon
// still runs. (How late the loop ran meanwhile is measured by benchmark group `hostile`.)
#include <gtest/gtest.h>

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "floor_fixture.hpp"
#include "http_client.hpp"
#include "ledger_check.hpp"

namespace floorgate::testing {
namespace {

using namespace std::chrono_literals;

// A G2S bus whose one EGM is configured at 127.0.0.1 (nothing needs to answer there).
std::string g2s_bus(int port) {
  return "  - id: g2s0\n    driver: g2s\n    bind: 127.0.0.1\n    listen_port: " +
         std::to_string(port) + "\n    egms:\n      - {id: g9, g2s_egm_id: EGM_G9, url: "
         "http://127.0.0.1:1/G2S}\n";
}

WebSession login(int port, const std::string& user) { return web_login(port, user); }

class Hostile : public ::testing::Test {
 protected:
  void SetUp() override {
    floor_ = std::make_unique<Floor>(FloorOptions{.rate = 2, .web = true, .extra_sim_args = {},
                                                  .extra_buses = g2s_bus(g2s_port_)});
    floor_->start_all();
    ASSERT_TRUE(wait_until([&] { return !floor_->received("analytics").empty(); }, 30s));
  }
  // Stops the traffic and proves nothing was lost while the attack ran.
  void expect_nothing_lost() {
    ASSERT_TRUE(floor_->sim().ok("rate 0"));
    auto cmp = wait_for_ledger(*floor_, "analytics");
    EXPECT_GT(cmp.acked, 0u);
    EXPECT_EQ(cmp.missing, 0u) << cmp.detail;
    auto ledger = floor_->sim().ledger();
    ASSERT_TRUE(ledger);
    std::size_t dropped = 0;
    for (const auto& e : *ledger) dropped += e.dropped;
    EXPECT_EQ(dropped, 0u) << "a machine's exception queue overflowed: polling stalled\n"
                           << floor_->daemon_log();
    EXPECT_TRUE(floor_->daemon().running());
  }
  int web() const { return floor_->web_port(); }

  int g2s_port_ = free_port();
  std::unique_ptr<Floor> floor_;
};

// A viewer's configuration bombs (anchors and aliases multiplying a 64k list) and oversized
// documents, many at once: refused with a clear error, checked off the loop.
TEST_F(Hostile, ConfigurationBombsFromAViewer) {
  auto v = login(web(), "view");
  ASSERT_FALSE(v.cookie.empty());
  std::string list = "meter_codes: &mc [";
  for (int i = 0; i < 65535; ++i) list += std::to_string(i % 256) + ",";
  list += "0]\nbuses:\n";
  for (int i = 0; i < 60; ++i) {
    list += "  - {id: b" + std::to_string(i) + ", driver: sas-serial, port: /dev/null, egms: "
            "[{id: e" + std::to_string(i) + ", address: 1, meter_codes: *mc}]}\n";
  }
  const std::string bomb = boost::json::serialize(boost::json::object{{"yaml", list}});
  std::atomic<int> answered{0}, clear{0};
  std::vector<std::thread> t;
  for (int i = 0; i < 16; ++i) {
    t.emplace_back([&] {
      auto r = http_request(web(), "POST", "/api/config/validate", bomb,
                            {{"Cookie", v.cookie}, {"X-CSRF-Token", v.csrf},
                             {"Content-Type", "application/json"}});
      ++answered;
      if (r.status == 422 || r.status == 503) ++clear;
    });
  }
  for (auto& x : t) x.join();
  EXPECT_EQ(answered.load(), 16);
  EXPECT_EQ(clear.load(), 16);  // errors (or "busy"), never a stall or a crash
  expect_nothing_lost();
}

// Hundreds of wrong passwords in parallel: rate-limited, hashed off the loop.
TEST_F(Hostile, LoginFlood) {
  std::vector<std::thread> t;
  std::atomic<int> refused{0};
  for (int i = 0; i < 8; ++i) {
    t.emplace_back([&] {
      for (int k = 0; k < 25; ++k) {
        auto r = http_request(web(), "POST", "/api/login", R"({"user":"tech","password":"guess"})",
                              {{"Content-Type", "application/json"}});
        refused += r.status == 401 || r.status == 429 || r.status == 503;
      }
    });
  }
  for (auto& x : t) x.join();
  EXPECT_EQ(refused.load(), 200);
  expect_nothing_lost();
}

// Idle and half-sent connections from one address: capped per address, the technician (from
// another address) still gets in.
TEST_F(Hostile, ConnectionFlood) {
  std::vector<int> fds;
  for (int i = 0; i < 200; ++i) {
    int fd = connect_local(web(), 2s, "127.0.0.9");
    if (fd < 0) continue;
    send_all(fd, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    fds.push_back(fd);
  }
  EXPECT_FALSE(login(web(), "tech").cookie.empty());
  for (int fd : fds) ::close(fd);
  expect_nothing_lost();
}

// A stranger forges G2S traffic for the configured EGM from another address: commsOnLine,
// then a $100,000 bill. Nothing of it is stored or published.
TEST_F(Hostile, ForgedG2sEvents) {
  auto body = [](const std::string& cls) {
    std::string inner =
        "<g2s:g2sMessage xmlns:g2s=\"http://www.gamingstandards.com/g2s/schemas/v1.0.3\">"
        "<g2s:g2sBody hostId=\"1\" egmId=\"EGM_G9\" dateTimeSent=\"2030-01-01T00:00:00.000Z\">" +
        cls + "</g2s:g2sBody></g2s:g2sMessage>";
    std::string esc;
    for (char c : inner) {
      if (c == '<') esc += "&lt;";
      else if (c == '>') esc += "&gt;";
      else if (c == '&') esc += "&amp;";
      else if (c == '"') esc += "&quot;";
      else esc += c;
    }
    return "<?xml version=\"1.0\"?><SOAP-ENV:Envelope xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/"
           "soap/envelope/\" xmlns:g2s=\"http://www.gamingstandards.com/wsdl/g2s/v1.0\"><SOAP-ENV:Body>"
           "<g2s:g2sRequest><g2s:g2sRequest>" + esc + "</g2s:g2sRequest><g2s:g2sEgmId>EGM_G9"
           "</g2s:g2sEgmId><g2s:g2sHostId>1</g2s:g2sHostId></g2s:g2sRequest></SOAP-ENV:Body>"
           "</SOAP-ENV:Envelope>";
  };
  const std::string online =
      "<g2s:communications deviceId=\"1\" dateTime=\"2030-01-01T00:00:00.000Z\" commandId=\"1\" "
      "sessionType=\"G2S_request\" sessionId=\"1\" timeToLive=\"0\"><g2s:commsOnLine "
      "egmLocation=\"http://127.0.0.1:1/G2S\" equipmentType=\"G2S_egm\"/></g2s:communications>";
  const std::string bill =
      "<g2s:eventHandler deviceId=\"1\" dateTime=\"2030-01-01T00:00:00.000Z\" commandId=\"5\" "
      "sessionType=\"G2S_request\" sessionId=\"9\" timeToLive=\"0\"><g2s:eventReport "
      "deviceClass=\"G2S_noteAcceptor\" deviceId=\"1\" eventCode=\"G2S_NAE114\" eventId=\"1\" "
      "eventDateTime=\"2030-01-01T00:00:00.000Z\" transactionId=\"0\"/></g2s:eventHandler>";
  auto post = [&](const std::string& b) {
    return raw_exchange(g2s_port_, "POST /G2S HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                                   "text/xml\r\nContent-Length: " + std::to_string(b.size()) +
                                       "\r\nConnection: close\r\n\r\n" + b,
                        "127.0.0.2");
  };
  for (int i = 0; i < 20; ++i) {
    auto r1 = post(body(online));
    EXPECT_NE(r1.body.find("G2S_MSX002"), std::string::npos) << r1.raw;
    auto r2 = post(body(bill));
    EXPECT_NE(r2.body.find("G2S_MSX002"), std::string::npos) << r2.raw;
  }
  expect_nothing_lost();
  for (const auto& r : floor_->received("analytics")) {
    EXPECT_NE(r.egm, "g9") << "a forged G2S event was stored and published: " << r.type;
  }
}

// MQTT: another consumer's account forges acks and floods replays for analytics; the broker's
// ACL keeps them out, and analytics' own replay flood is rate-limited.
TEST_F(Hostile, MqttAckAndReplayFlood) {
  // mosquitto_pub -l: one message per line of `lines`, over one connection.
  int n = 0;
  auto pub = [&](const std::string& user, const std::string& topic, const std::string& lines) {
    auto file = floor_->dir() / ("lines-" + std::to_string(++n) + ".txt");
    std::ofstream(file) << lines;
    ChildProcess p({"sh", "-c",
                    "mosquitto_pub -h 127.0.0.1 -p " + std::to_string(floor_->broker_port()) +
                        " -u " + user + " -P " + floor_->password_of(user) + " -q 1 -t " + topic +
                        " -l < " + file.string()});
    return p.wait(60s);
  };
  std::string forged, replays;
  for (int i = 0; i < 200; ++i) forged += "{\"upto\": 1000000}\n";
  for (int i = 0; i < 500; ++i) replays += "{\"from_seq\": 1}\n";
  // The broker refuses maintenance's messages for analytics (mosquitto_pub still exits 0:
  // MQTT 3.1.1 gives a publisher no sign); analytics' own 500 requests reach the gateway,
  // which serves at most a burst of them and rejects the rest.
  EXPECT_EQ(pub("maintenance", floor_->root() + "/ack/analytics", forged), 0);
  EXPECT_EQ(pub("maintenance", floor_->root() + "/replay/analytics", replays), 0);
  EXPECT_EQ(pub("analytics", floor_->root() + "/replay/analytics", replays), 0);
  boost::json::object health;
  EXPECT_TRUE(wait_until([&] {
    health = floor_->latest_health();
    const auto* rejected = health.if_contains("rejected_inbound");
    return rejected && rejected->to_number<std::uint64_t>() >= 490;
  }, 30s)) << boost::json::serialize(health);
  EXPECT_LE(health.at("rejected_inbound").to_number<std::uint64_t>(), 500u)
      << "maintenance's forged messages got through the broker";
  expect_nothing_lost();
}

// Issue 17 (6): the daemon runs out of descriptors (its limit lowered at run time to what it
// has open plus 24) while idle connections from three addresses pile up. The web accept loop
// backs off (at most one accept() per 50 ms, logged) instead of spinning, SAS polling goes on
// (analytics receives 60 more events while the descriptors are gone), and once the
// connections close the page answers again.
TEST_F(Hostile, DescriptorExhaustionBacksOffAndRecovers) {
#ifdef FLOORGATE_SANITIZE_VPTR
  // UBSan's vptr check reads memory it has not seen through a pipe(); with no descriptor left
  // that pipe fails, it reports a false "invalid vptr" and aborts the daemon (seen at
  // web_server.cpp and streams.cpp call sites; runtime suppressions cannot help, they need
  // the same memory read). Run this one on a build without sanitizers:
  //   ctest --test-dir build/release -R DescriptorExhaustion
  GTEST_SKIP() << "needs a build without UBSan's vptr check (see the comment)";
#endif
  const pid_t pid = floor_->daemon().pid();
  const auto fd_dir = "/proc/" + std::to_string(pid) + "/fd";
  auto open_fds = [&] {
    int n = 0;
    for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(fd_dir)) ++n;
    return n;
  };
  const int limit = open_fds() + 24;
  const std::string lim = std::to_string(limit);
  ChildProcess prlimit({"prlimit", "--pid", std::to_string(pid), "--nofile=" + lim + ":" + lim},
                       "", (floor_->dir() / "prlimit.err").string());
  ASSERT_EQ(prlimit.wait(), 0) << Floor::read(floor_->dir() / "prlimit.err");
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<int> held;
  for (const char* source : {"127.0.0.2", "127.0.0.3", "127.0.0.4"}) {
    for (int i = 0; i < 16; ++i) {
      int fd = connect_local(web(), std::chrono::seconds(10), source);
      if (fd >= 0) held.push_back(fd);
    }
  }
  ASSERT_GT(held.size(), 30u);
  ASSERT_TRUE(wait_until([&] { return open_fds() >= limit - 1; }, 30s)) << open_fds() << " of " << limit;
  ASSERT_TRUE(wait_until([&] {
    return floor_->daemon_log().find("web: accept() failed") != std::string::npos;
  }, 30s)) << floor_->daemon_log();
  const std::size_t before = floor_->received("analytics").size();
  ASSERT_TRUE(wait_until([&] { return floor_->received("analytics").size() >= before + 60; }, 60s))
      << "SAS polling stalled while the descriptors were exhausted\n" << floor_->daemon_log();
  for (int fd : held) ::close(fd);
  WebSession tech;
  ASSERT_TRUE(wait_until([&] { return !(tech = login(web(), "tech")).cookie.empty(); }, 30s));
  auto metrics = http_request(web(), "GET", "/metrics", "", {{"Cookie", tech.cookie}}).body;
  const auto held_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - t0).count();
  const auto at = metrics.find("\nfloorgate_web_accept_errors_total ");
  ASSERT_NE(at, std::string::npos) << metrics;
  const long errors = std::stol(metrics.substr(at + 35));
  std::printf("descriptor limit %d: %ld failed accept() calls in %lld ms\n", limit, errors,
              static_cast<long long>(held_ms));
  EXPECT_GE(errors, 1);
  // The back-off allows at most one failed accept() per 50 ms; a spinning loop makes
  // hundreds of thousands in the same time.
  EXPECT_LE(errors, 2 + held_ms / 50) << "in " << held_ms << " ms";
  expect_nothing_lost();
}

}  // namespace
}  // namespace floorgate::testing
