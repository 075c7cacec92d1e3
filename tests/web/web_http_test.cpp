// HTTP-level tests of the technician web server against the fake backend over real sockets:
// API, auth, CSRF, roles, limits and hostile input. Each checks the status and that nothing
// changed behind it.
#include "test_process.hpp"
#include "web_fixture.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace floorgate::testing {
namespace {

const std::string kGoodYaml =
    "gateway:\n  id: \"gw-demo\"\nbuses:\n  - name: \"bus1\"\n    egms:\n"
    "      - id: \"bank1-01\"\n        address: 1\n      - id: \"bank1-09\"\n        address: 9\n";
const std::string kBadYaml =
    "buses:\n  - name: \"bus1\"\n    egms:\n      - id: \"bank1-01\"\n        address: 300\n";

std::string yaml_body(const std::string& yaml) {
  return boost::json::serialize(boost::json::object{{"yaml", yaml}});
}

TEST(WebHttp, ServesEmbeddedPageAndSecurityHeaders) {
  WebHarness h;
  ASSERT_FALSE(h.start_error);
  auto r = http_request(h.port, "GET", "/");
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.headers["content-type"].find("text/html"), std::string::npos);
  EXPECT_NE(r.body.find("<html"), std::string::npos);
  EXPECT_EQ(r.headers["x-content-type-options"], "nosniff");
  EXPECT_NE(r.headers["content-security-policy"].find("default-src 'self'"), std::string::npos);
  EXPECT_EQ(http_request(h.port, "GET", "/app.js").status, 200);
  auto head = http_request(h.port, "HEAD", "/index.html");
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
}

TEST(WebHttp, PathTraversalAndUnknownPathsAre404) {
  WebHarness h;
  for (const char* t : {"/../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/..%2fCMakeLists.txt",
                        "/static/../../etc/shadow", "//etc/passwd", "/nope.html",
                        "/%5c..%5cwin.ini"}) {
    EXPECT_EQ(http_request(h.port, "GET", t).status, 404) << t;
  }
  EXPECT_EQ(http_request(h.port, "GET", "/%zz").status, 400);
  EXPECT_EQ(http_request(h.port, "DELETE", "/index.html").status, 405);
}

TEST(WebHttp, ApiNeedsSession) {
  WebHarness h;
  for (const char* t : {"/api/dashboard", "/api/egms", "/api/events", "/api/config",
                        "/api/audit", "/api/session", "/api/events/stream"}) {
    EXPECT_EQ(http_request(h.port, "GET", t).status, 401) << t;
  }
  EXPECT_EQ(http_request(h.port, "GET", "/api/egms", {}, {{"Cookie", "fg_session=forged"}}).status,
            401);
  EXPECT_EQ(h.backend.dashboard_calls.load(), 0);
}

TEST(WebHttp, LoginSetsHardenedCookieAndApiAnswers) {
  WebHarness h;
  auto r = http_request(h.port, "POST", "/api/login", R"({"user":"tech","password":"tech-pass"})",
                        {{"Content-Type", "application/json"}});
  ASSERT_EQ(r.status, 200) << r.raw;
  const std::string cookie = r.headers["set-cookie"];
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos);
  EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos);
  EXPECT_EQ(cookie.find("Secure"), std::string::npos);  // plain HTTP here
  auto l = h.login("tech", "tech-pass");
  ASSERT_FALSE(l.cookie.empty());
  auto egms = h.get(l, "/api/egms");
  ASSERT_EQ(egms.status, 200);
  EXPECT_EQ(boost::json::parse(egms.body).at("egms").as_array().size(), 8u);
  auto one = h.get(l, "/api/egms/bank1-02");
  ASSERT_EQ(one.status, 200);
  EXPECT_EQ(boost::json::parse(one.body).at("identity").at("sas_version").as_string(), "6.03");
  EXPECT_EQ(h.get(l, "/api/egms/nope").status, 404);
  EXPECT_EQ(h.get(l, "/api/dashboard").status, 200);
  auto s = h.get(l, "/api/session");
  EXPECT_EQ(boost::json::parse(s.body).at("role").as_string(), "technician");
}

TEST(WebHttp, WrongPasswordAndBadLoginBodies) {
  WebHarness h;
  EXPECT_TRUE(h.login("tech", "wrong").cookie.empty());
  EXPECT_TRUE(h.login("nobody", "tech-pass").cookie.empty());
  EXPECT_EQ(http_request(h.port, "POST", "/api/login", "{not json",
                         {{"Content-Type", "application/json"}}).status, 400);
  EXPECT_EQ(http_request(h.port, "POST", "/api/login", R"({"user":1,"password":2})",
                         {{"Content-Type", "application/json"}}).status, 400);
  EXPECT_EQ(http_request(h.port, "POST", "/api/login", "user=tech&password=tech-pass",
                         {{"Content-Type", "application/x-www-form-urlencoded"}}).status, 415);
  EXPECT_EQ(http_request(h.port, "GET", "/api/login").status, 405);
}

TEST(WebHttp, LoginRateLimitBlocksEvenTheRightPassword) {
  web::WebOptions o;
  o.login_attempts = 3;
  o.login_window = std::chrono::seconds(60);
  WebHarness h(o);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(h.login("tech", "bad").cookie.empty());
  auto r = http_request(h.port, "POST", "/api/login", R"({"user":"tech","password":"tech-pass"})",
                        {{"Content-Type", "application/json"}});
  EXPECT_EQ(r.status, 429);
  EXPECT_FALSE(r.headers["retry-after"].empty());
  h.offset_s += 61;  // the window passes
  EXPECT_FALSE(h.login("tech", "tech-pass").cookie.empty());
}

// Issue 17: guessing from one address must not lock the real user out of another, and
// parallel guesses must not all run before the first failure is counted.
TEST(WebHttp, LoginLimitIsPerAddressAndReservedUpFront) {
  web::WebOptions o;
  o.login_attempts = 3;
  WebHarness h(o);
  auto login_from = [&](const char* source, const std::string& pw) {
    std::string body = R"({"user":"tech","password":")" + pw + R"("})";
    return raw_exchange(h.port,
                        "POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                        "application/json\r\nContent-Length: " + std::to_string(body.size()) +
                            "\r\nConnection: close\r\n\r\n" + body,
                        source)
        .status;
  };
  // Twelve parallel wrong guesses from 127.0.0.3: at most 3 are verified, the rest get 429.
  std::vector<std::thread> guessers;
  std::atomic<int> verified{0}, limited{0};
  for (int i = 0; i < 12; ++i) {
    guessers.emplace_back([&] {
      int st = login_from("127.0.0.3", "wrong");
      if (st == 401) ++verified;
      if (st == 429) ++limited;
    });
  }
  for (auto& t : guessers) t.join();
  EXPECT_LE(verified.load(), 3);
  EXPECT_EQ(verified.load() + limited.load(), 12);
  EXPECT_EQ(login_from("127.0.0.3", "tech-pass"), 429);  // that address is blocked...
  EXPECT_EQ(login_from("127.0.0.1", "tech-pass"), 200);  // ...the technician's is not
}

// Issue 17: a viewer sees that a password hash is set, never the hash.
TEST(WebHttp, ViewersNeverReceiveSecrets) {
  WebHarness h;
  auto tech = h.login("tech", "tech-pass");
  auto t = boost::json::parse(h.get(tech, "/api/config").body).as_object();
  EXPECT_NE(std::string(t.at("yaml").as_string()).find("pbkdf2-sha256$"), std::string::npos);
  auto view = h.login("view", "view-pass");
  auto r = h.get(view, "/api/config");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body.find("pbkdf2"), std::string::npos) << r.body;
  auto v = boost::json::parse(r.body).as_object();
  EXPECT_NE(std::string(v.at("yaml").as_string()).find("password_hash: \"(set)\""),
            std::string::npos) << v.at("yaml");
  EXPECT_EQ(v.at("document").at("web").at("users").at(0).at("password_hash").as_string(), "(set)");
}

// Issue 17: the Host header must name this server (DNS rebinding guard).
TEST(WebHttp, UnknownHostIsRefused) {
  web::WebOptions o;
  o.allowed_hosts = {"floor-gw.casino.lan"};
  WebHarness h(o);
  auto get_with_host = [&](const std::string& host) {
    return raw_exchange(h.port, "GET / HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n")
        .status;
  };
  EXPECT_EQ(get_with_host("attacker.example:" + std::to_string(h.port)), 421);
  EXPECT_EQ(get_with_host("127.0.0.1:" + std::to_string(h.port)), 200);
  EXPECT_EQ(get_with_host("[::1]:" + std::to_string(h.port)), 200);
  EXPECT_EQ(get_with_host("localhost"), 200);
  EXPECT_EQ(get_with_host("FLOOR-GW.casino.lan:8080"), 200);
}

// Issue 17: technicians set a password through the server, which stores only a hash;
// viewers cannot; short passwords and unknown accounts are refused.
TEST(WebHttp, TechnicianSetsAPasswordTheServerHashes) {
  WebHarness h;
  auto tech = h.login("tech", "tech-pass");
  auto view = h.login("view", "view-pass");
  const std::string body = R"({"user":"view","password":"new-viewer-pass"})";
  EXPECT_EQ(h.post(view, "/api/users/password", body).status, 403);
  EXPECT_EQ(h.post(tech, "/api/users/password", R"({"user":"view","password":"short"})").status, 422);
  EXPECT_EQ(h.post(tech, "/api/users/password", R"({"user":"nobody","password":"long-enough"})").status,
            404);
  auto r = h.post(tech, "/api/users/password", body);
  ASSERT_EQ(r.status, 200) << r.body;
  auto stored = h.on_io([&] { return h.backend.passwords_set["view"]; });
  EXPECT_EQ(stored.rfind("pbkdf2-sha256$", 0), 0u) << stored;
  EXPECT_TRUE(web::verify_password("new-viewer-pass", stored));
  EXPECT_EQ(stored.find("new-viewer-pass"), std::string::npos);
}

// Issue 24: accounts are listed, added, re-roled and removed through the server; each change
// reaches the backend as one UserChange (the real one writes, reloads and audits it), the
// password as a hash only; viewers may list but not change; bad input is refused before it.
TEST(WebHttp, TechnicianManagesAccounts) {
  using Action = web::UserChange::Action;
  WebHarness h;
  auto tech = h.login("tech", "tech-pass");
  auto view = h.login("view", "view-pass");
  auto list = h.get(view, "/api/users");
  ASSERT_EQ(list.status, 200) << list.body;
  const auto users = boost::json::parse(list.body).at("users").as_array();
  ASSERT_EQ(users.size(), 2u);
  EXPECT_EQ(users[0].at("name"), "tech");
  EXPECT_EQ(users[0].at("role"), "technician");
  EXPECT_FALSE(users[0].as_object().contains("password_hash"));
  EXPECT_EQ(boost::json::parse(list.body).at("can_edit"), false);

  const std::string add = R"({"name":"floor-2","role":"viewer","password":"floor-2-pass"})";
  EXPECT_EQ(h.post(view, "/api/users", add).status, 403);
  EXPECT_EQ(h.post(tech, "/api/users", R"({"name":"bad name","role":"viewer","password":"long-enough"})").status, 422);
  EXPECT_EQ(h.post(tech, "/api/users", R"({"name":"x","role":"boss","password":"long-enough"})").status, 422);
  EXPECT_EQ(h.post(tech, "/api/users", R"({"name":"view","role":"viewer","password":"long-enough"})").status, 409);
  EXPECT_EQ(h.post(tech, "/api/users", R"({"name":"x","role":"viewer","password":"short"})").status, 422);
  EXPECT_EQ(h.post(tech, "/api/users", R"({"name":"x"})").status, 400);
  EXPECT_EQ(h.post(tech, "/api/users/role", R"({"user":"nobody","role":"viewer"})").status, 404);
  EXPECT_EQ(h.post(tech, "/api/users/remove", R"({"user":"nobody"})").status, 404);
  EXPECT_EQ(h.post(tech, "/api/users/rename", R"({"user":"view"})").status, 404);
  EXPECT_EQ(h.on_io([&] { return h.backend.user_changes.size(); }), 0u);

  auto r = h.post(tech, "/api/users", add);
  ASSERT_EQ(r.status, 200) << r.body;
  r = h.post(tech, "/api/users/role", R"({"user":"view","role":"technician"})");
  ASSERT_EQ(r.status, 200) << r.body;
  r = h.post(tech, "/api/users/remove", R"({"user":"view"})");
  ASSERT_EQ(r.status, 200) << r.body;
  auto changes = h.on_io([&] { return h.backend.user_changes; });
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes[0].action, Action::add);
  EXPECT_EQ(changes[0].account, "floor-2");
  EXPECT_EQ(changes[0].role, "viewer");
  EXPECT_TRUE(web::verify_password("floor-2-pass", changes[0].password_hash));
  EXPECT_EQ(changes[1].action, Action::set_role);
  EXPECT_EQ(changes[1].role, "technician");
  EXPECT_EQ(changes[2].action, Action::remove);
  EXPECT_EQ(changes[2].account, "view");
}

// Issue 24: the page's forms come from the configuration's JSON Schema.
TEST(WebHttp, ServesTheConfigurationSchema) {
  WebHarness h;
  auto view = h.login("view", "view-pass");
  auto r = h.get(view, "/api/config/schema");
  ASSERT_EQ(r.status, 200) << r.body;
  const auto schema = boost::json::parse(r.body);
  const auto& egm = schema.at("properties").at("buses").at("items").at("properties").at("egms")
                        .at("items").at("properties");
  EXPECT_EQ(egm.at("poll_period_ms").at("minimum"), 40);
  EXPECT_EQ(egm.at("poll_period_ms").at("maximum"), 200);
  EXPECT_EQ(egm.at("poll_period_ms").at("default"), 200);
  EXPECT_TRUE(egm.as_object().contains("bank"));
  const auto& driver = schema.at("properties").at("buses").at("items").at("properties").at("driver");
  EXPECT_EQ(driver.at("enum").as_array().size(), 3u);
  Login none{"", ""};
  EXPECT_EQ(h.get(none, "/api/config/schema").status, 401);
}

TEST(WebHttp, CsrfRequiredOnEveryStateChange) {
  WebHarness h;
  auto l = h.login("tech", "tech-pass");
  Login no_csrf{l.cookie, ""};
  Login wrong_csrf{l.cookie, std::string(64, 'a')};
  for (const Login& bad : {no_csrf, wrong_csrf}) {
    EXPECT_EQ(h.post(bad, "/api/config/apply", yaml_body(kGoodYaml)).status, 403);
    EXPECT_EQ(h.post(bad, "/api/config/rollback", "").status, 403);
    EXPECT_EQ(h.post(bad, "/api/logout", "").status, 403);
  }
  EXPECT_EQ(h.backend.apply_calls.load(), 0);
  EXPECT_EQ(h.get(l, "/api/session").status, 200);  // logout did not happen
  // A cross-site Origin is refused even with the token.
  EXPECT_EQ(h.post(l, "/api/config/apply", yaml_body(kGoodYaml), {{"Origin", "http://evil.example"}})
                .status,
            403);
  EXPECT_EQ(h.backend.apply_calls.load(), 0);
}

TEST(WebHttp, ApplyValidateRollbackAndAudit) {
  WebHarness h;
  auto l = h.login("tech", "tech-pass");
  auto v = h.post(l, "/api/config/validate", yaml_body(kBadYaml));
  EXPECT_EQ(v.status, 422);
  auto err = boost::json::parse(v.body).at("errors").as_array().at(0);
  EXPECT_EQ(err.at("path").as_string(), "buses[0].egms[0].address");
  EXPECT_EQ(h.backend.config_version.load(), 0);
  EXPECT_EQ(h.post(l, "/api/config/apply", yaml_body(kBadYaml)).status, 422);
  EXPECT_EQ(h.backend.config_version.load(), 0);
  auto ok = h.post(l, "/api/config/apply", yaml_body(kGoodYaml));
  EXPECT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(h.backend.config_version.load(), 1);
  EXPECT_EQ(boost::json::parse(h.get(l, "/api/egms").body).at("egms").as_array().size(), 2u);
  auto audit = boost::json::parse(h.get(l, "/api/audit").body).at("audit").as_array();
  ASSERT_EQ(audit.size(), 1u);
  EXPECT_EQ(audit[0].at("user").as_string(), "tech");
  EXPECT_EQ(h.post(l, "/api/config/rollback", "").status, 200);
  EXPECT_EQ(boost::json::parse(h.get(l, "/api/egms").body).at("egms").as_array().size(), 8u);
  EXPECT_EQ(h.post(l, "/api/config/rollback", "").status, 422);  // nothing left to restore
}

// Checking a configuration costs what the client sent, so it runs on the worker: while one
// is stuck there the loop still answers everyone else, and a full worker queue answers 503
// at once instead of queueing without bound.
TEST(WebHttp, ConfigCheckRunsOffTheLoopWithABoundedQueue) {
  WebHarness h;
  auto l = h.login("tech", "tech-pass");
  std::mutex m;
  std::condition_variable cv;
  bool release = false;
  int inside = 0;
  h.backend.check_hook = [&] {
    std::unique_lock lock(m);
    ++inside;
    cv.notify_all();
    cv.wait(lock, [&] { return release; });
  };
  // Eight checks fill the worker (one running, seven queued).
  std::vector<std::thread> stuck;
  std::vector<int> statuses(8, 0);
  auto release_all = [&] {
    {
      std::lock_guard lock(m);
      release = true;
    }
    cv.notify_all();
    for (auto& t : stuck) {
      if (t.joinable()) t.join();
    }
  };
  struct Finally {
    std::function<void()> f;
    ~Finally() { f(); }
  } finally{release_all};  // also when an ASSERT returns early
  for (int i = 0; i < 8; ++i) {
    stuck.emplace_back([&, i] {
      statuses[static_cast<std::size_t>(i)] =
          h.post(l, "/api/config/validate", yaml_body(kGoodYaml)).status;
    });
  }
  {
    std::unique_lock lock(m);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(30), [&] { return inside == 1; }));
  }
  // The loop is free: other requests are answered while the check is held on the worker.
  EXPECT_EQ(h.get(l, "/api/dashboard").status, 200);
  // Once all eight reached the server (the queue is full), one more is refused at once.
  auto worker_jobs = [&] {
    auto body = http_request(h.port, "GET", "/metrics").body;
    auto at = body.find("\nfloorgate_web_worker_jobs ");
    return at == std::string::npos ? -1 : std::atoi(body.c_str() + at + 27);
  };
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (worker_jobs() < 8 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  ASSERT_EQ(worker_jobs(), 8);
  auto r = h.post(l, "/api/config/validate", yaml_body(kGoodYaml));
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.headers["retry-after"], "1");
  // Formatting stored rows (up to 5,000 as JSON or CSV) is worker work too: refused likewise.
  auto csv = h.get(l, "/api/events.csv");
  EXPECT_EQ(csv.status, 503);
  EXPECT_EQ(csv.headers["retry-after"], "1");
  release_all();
  for (int s : statuses) EXPECT_EQ(s, 200);
  EXPECT_EQ(h.get(l, "/api/events.csv").status, 200);
  EXPECT_EQ(h.backend.config_version.load(), 0);  // validate changes nothing
}

TEST(WebHttp, ViewerCannotChangeConfiguration) {
  WebHarness h;
  auto l = h.login("view", "view-pass");
  ASSERT_FALSE(l.cookie.empty());
  EXPECT_EQ(h.post(l, "/api/config/apply", yaml_body(kGoodYaml)).status, 403);
  EXPECT_EQ(h.post(l, "/api/config/rollback", "").status, 403);
  EXPECT_EQ(h.backend.apply_calls.load(), 0);
  auto cfg = boost::json::parse(h.get(l, "/api/config").body);
  EXPECT_FALSE(cfg.at("can_edit").as_bool());
  EXPECT_EQ(h.post(l, "/api/config/validate", yaml_body(kGoodYaml)).status, 200);
}

TEST(WebHttp, BadJsonAndWrongContentTypeChangeNothing) {
  WebHarness h;
  auto l = h.login("tech", "tech-pass");
  EXPECT_EQ(h.post(l, "/api/config/apply", "{\"yaml\": ").status, 400);
  EXPECT_EQ(h.post(l, "/api/config/apply", "[1,2,3]").status, 400);
  EXPECT_EQ(h.post(l, "/api/config/apply", R"({"yaml": 42})").status, 400);
  EXPECT_EQ(h.post(l, "/api/config/apply", yaml_body(kGoodYaml), {{"Content-Type", "text/plain"}})
                .status,
            415);
  EXPECT_EQ(h.backend.apply_calls.load(), 0);
  EXPECT_EQ(h.backend.config_version.load(), 0);
}

TEST(WebHttp, ExpiredSessionIsRefusedAndLogoutEndsIt) {
  web::WebOptions o;
  o.session_idle = std::chrono::seconds(300);
  WebHarness h(o);
  auto l = h.login("tech", "tech-pass");
  h.offset_s += 200;
  EXPECT_EQ(h.get(l, "/api/egms").status, 200);  // activity refreshes the idle timer
  h.offset_s += 200;
  EXPECT_EQ(h.get(l, "/api/egms").status, 200);
  h.offset_s += 301;
  EXPECT_EQ(h.get(l, "/api/egms").status, 401);
  EXPECT_EQ(h.post(l, "/api/config/apply", yaml_body(kGoodYaml)).status, 401);
  EXPECT_EQ(h.backend.apply_calls.load(), 0);
  auto l2 = h.login("tech", "tech-pass");
  auto out = h.post(l2, "/api/logout", "");
  EXPECT_EQ(out.status, 204);
  EXPECT_NE(out.headers["set-cookie"].find("Max-Age=0"), std::string::npos);
  EXPECT_EQ(h.get(l2, "/api/egms").status, 401);
}

TEST(WebHttp, OversizedBodyIs413BeforeReading) {
  web::WebOptions o;
  o.max_body = 4096;
  WebHarness h(o);
  auto l = h.login("tech", "tech-pass");
  auto r = h.post(l, "/api/config/apply", yaml_body(std::string(10000, 'x')));
  EXPECT_EQ(r.status, 413);
  // Announced but never sent: the answer comes from the Content-Length alone.
  auto big = raw_exchange(h.port, "POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                                  "application/json\r\nContent-Length: 999999999\r\n\r\n{");
  EXPECT_EQ(big.status, 413);
  // Chunked bodies are limited too.
  std::string chunk(5000, 'y');
  char hex[16];
  std::snprintf(hex, sizeof hex, "%zx", chunk.size());
  auto chunked = raw_exchange(h.port, "POST /api/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                                      "application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
                                          std::string(hex) + "\r\n" + chunk + "\r\n0\r\n\r\n");
  EXPECT_EQ(chunked.status, 413);
  EXPECT_EQ(h.backend.apply_calls.load(), 0);
}

TEST(WebHttp, HeaderLimitsAndMalformedRequests) {
  WebHarness h;
  std::string many = "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (int i = 0; i < 100; ++i) many += "X-H" + std::to_string(i) + ": 1\r\n";
  EXPECT_EQ(raw_exchange(h.port, many + "\r\n").status, 431);
  EXPECT_EQ(raw_exchange(h.port, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + std::string(20000, 'a') +
                                     "\r\n\r\n").status,
            431);
  EXPECT_EQ(raw_exchange(h.port, "GARBAGE\r\n\r\n").status, 400);
  EXPECT_EQ(raw_exchange(h.port, "GET /\x01 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").status, 400);
  EXPECT_EQ(raw_exchange(h.port, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: abc\r\n\r\n").status,
            400);
  EXPECT_EQ(raw_exchange(h.port, "GET foo HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").status, 400);
  EXPECT_EQ(http_request(h.port, "GET", "/").status, 200);  // still serving
}

TEST(WebHttp, SlowlorisIsCutAndOthersAreServed) {
  web::WebOptions o;
  o.read_timeout = std::chrono::seconds(1);
  WebHarness h(o);
  int fd = connect_local(h.port, std::chrono::seconds(10));
  ASSERT_GE(fd, 0);
  send_all(fd, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n");
  // Meanwhile the server answers other clients.
  EXPECT_EQ(http_request(h.port, "GET", "/").status, 200);
  std::string rest = read_all(fd);  // returns when the server closes (deadline)
  EXPECT_TRUE(rest.empty());
  EXPECT_FALSE(send_all(fd, "X-More: 1\r\n\r\n") && !read_all(fd).empty());
  ::close(fd);
}

TEST(WebHttp, ConnectionLimitClosesExtraConnections) {
  web::WebOptions o;
  o.max_connections = 4;
  WebHarness h(o);
  std::vector<int> fds;
  for (int i = 0; i < 4; ++i) {
    int fd = connect_local(h.port);
    ASSERT_GE(fd, 0);
    send_all(fd, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n");  // partial: keeps the slot busy
    fds.push_back(fd);
  }
  auto extra = http_request(h.port, "GET", "/");
  EXPECT_EQ(extra.status, 0);  // closed at accept
  for (int fd : fds) ::close(fd);
  const bool served = wait_until([&] { return http_request(h.port, "GET", "/").status == 200; },
                                 std::chrono::seconds(4), std::chrono::milliseconds(20));
  EXPECT_TRUE(served);
}

// One client address cannot take every slot: its extra connections are closed at accept
// while another address is still served.
TEST(WebHttp, PerAddressCapLeavesRoomForOtherClients) {
  web::WebOptions o;
  o.max_connections_per_address = 3;
  WebHarness h(o);
  std::vector<int> fds;
  for (int i = 0; i < 3; ++i) {
    int fd = connect_local(h.port, std::chrono::seconds(10), "127.0.0.2");
    ASSERT_GE(fd, 0);
    send_all(fd, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n");  // partial: keeps the slot busy
    fds.push_back(fd);
  }
  int extra = connect_local(h.port, std::chrono::seconds(10), "127.0.0.2");
  ASSERT_GE(extra, 0);
  send_all(extra, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  char buf[64];
  EXPECT_LE(::recv(extra, buf, sizeof buf, 0), 0);  // closed at accept, nothing served
  ::close(extra);
  EXPECT_EQ(http_request(h.port, "GET", "/").status, 200);  // 127.0.0.1 still gets in
  auto metrics = http_request(h.port, "GET", "/metrics").body;
  EXPECT_NE(metrics.find("floorgate_web_connections_rejected_total 1\n"), std::string::npos)
      << metrics;
  EXPECT_NE(metrics.find("floorgate_web_accept_errors_total 0\n"), std::string::npos);
  for (int fd : fds) ::close(fd);
}

TEST(WebHttp, EventsQueryCsvAndFilters) {
  WebHarness h;
  h.on_io([&] {
    h.backend.open_door("bank2-03");
    return 0;
  });
  auto l = h.login("view", "view-pass");
  auto r = h.get(l, "/api/events?egm=bank2-03&type=door.&class=security&limit=10");
  ASSERT_EQ(r.status, 200);
  auto ev = boost::json::parse(r.body).at("events").as_array();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].at("type").as_string(), "door.opened");
  EXPECT_EQ(h.get(l, "/api/events?limit=abc").status, 400);
  EXPECT_EQ(h.get(l, "/api/events?since=1x").status, 400);
  auto csv = h.get(l, "/api/events.csv?egm=bank2-03");
  EXPECT_EQ(csv.status, 200);
  EXPECT_NE(csv.headers["content-type"].find("text/csv"), std::string::npos);
  EXPECT_EQ(csv.body.rfind("seq,time_utc,egm", 0), 0u);
  EXPECT_NE(csv.body.find("door.opened"), std::string::npos);
  EXPECT_NE(csv.body.find("\"{\"\"door\"\":\"\"main\"\"}\""), std::string::npos);
  // Readable columns beside the raw ones (issue 24): amount, currency, details in words.
  EXPECT_EQ(csv.body.rfind("seq,time_utc,egm,egm_seq,class,type,source,attrs,amount,currency,details\r\n", 0), 0u);
  EXPECT_NE(csv.body.find(",,,door=main\r\n"), std::string::npos) << csv.body;
  h.on_io([&] {
    return h.backend.add_event("bank2-03", "handpay.pending", "financial",
                               boost::json::object{{"amount_cents", 123456}, {"kind", "jackpot"}});
  });
  csv = h.get(l, "/api/events.csv?egm=bank2-03&type=handpay.");
  EXPECT_NE(csv.body.find(",1234.56,USD,\"amount $1,234.56 · kind=jackpot\"\r\n"), std::string::npos)
      << csv.body;
}

// A store that cannot read answers the event browser, the audit list and an EGM's detail with
// an error that says so, never an empty list that looks like "no events".
TEST(WebHttp, StoreReadErrorIsAnErrorNotAnEmptyList) {
  WebHarness h;
  h.on_io([&] {
    h.backend.open_door("bank2-03");
    h.backend.store_fails = true;
    return 0;
  });
  auto l = h.login("view", "view-pass");
  for (const char* t : {"/api/events", "/api/events.csv", "/api/audit", "/api/egms/bank2-03"}) {
    auto r = h.get(l, t);
    EXPECT_EQ(r.status, 503) << t;
    EXPECT_NE(r.body.find("the store could not read events"), std::string::npos) << t << r.body;
  }
  h.on_io([&] {
    h.backend.store_fails = false;
    return 0;
  });
  auto detail = h.get(l, "/api/egms/bank2-03");
  ASSERT_EQ(detail.status, 200);
  EXPECT_EQ(boost::json::parse(detail.body).at("recent_events").as_array().size(), 1u);
  EXPECT_EQ(h.get(l, "/api/egms/no-such").status, 404);
}

TEST(WebHttp, ServerSentEventsDeliverLiveEvents) {
  WebHarness h;
  auto l = h.login("view", "view-pass");
  int fd = connect_local(h.port, std::chrono::seconds(10));
  ASSERT_GE(fd, 0);
  send_all(fd, "GET /api/events/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: " + l.cookie + "\r\n\r\n");
  std::string got;
  char buf[4096];
  ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  ASSERT_GT(n, 0);
  got.append(buf, static_cast<std::size_t>(n));
  EXPECT_NE(got.find("text/event-stream"), std::string::npos);
  h.on_io([&] {
    h.backend.open_door("bank1-04");
    return 0;
  });
  while (got.find("door.opened") == std::string::npos) {
    n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    got.append(buf, static_cast<std::size_t>(n));
  }
  EXPECT_NE(got.find("event: event\ndata: {"), std::string::npos);
  EXPECT_NE(got.find("bank1-04"), std::string::npos);
  // Logging out ends the stream.
  EXPECT_EQ(h.post(l, "/api/logout", "").status, 204);
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) {
  }
  EXPECT_EQ(n, 0);  // orderly close by the server
  ::close(fd);
}

TEST(WebHttp, MetricsAndBackendExceptions) {
  WebHarness h;
  auto m = http_request(h.port, "GET", "/metrics");
  EXPECT_EQ(m.status, 200);
  EXPECT_NE(m.headers["content-type"].find("text/plain; version=0.0.4"), std::string::npos);
  EXPECT_NE(m.body.find("floorgate_events_in_total"), std::string::npos);
  EXPECT_NE(m.body.find("floorgate_web_sessions 0"), std::string::npos);
  EXPECT_EQ(http_request(h.port, "POST", "/metrics").status, 405);
}

TEST(WebHttp, KeepAliveServesSeveralRequestsOnOneConnection) {
  WebHarness h;
  int fd = connect_local(h.port);
  ASSERT_GE(fd, 0);
  send_all(fd, "GET /app.css HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET / HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               "Connection: close\r\n\r\n");
  std::string all = read_all(fd);
  ::close(fd);
  std::size_t count = 0;
  for (auto p = all.find("HTTP/1.1 200"); p != std::string::npos; p = all.find("HTTP/1.1 200", p + 1))
    ++count;
  EXPECT_EQ(count, 2u);
}

TEST(WebHttp, SetUsersEndsSessionsOfRemovedOrChangedUsers) {
  WebHarness h;
  auto lt = h.login("tech", "tech-pass");
  auto lv = h.login("view", "view-pass");
  h.on_io([&] {
    h.server().set_users({{"view", "viewer", viewer_hash()}});  // tech removed
    return 0;
  });
  EXPECT_EQ(h.get(lt, "/api/egms").status, 401);
  EXPECT_EQ(h.get(lv, "/api/egms").status, 200);
  EXPECT_TRUE(h.login("tech", "tech-pass").cookie.empty());
  h.on_io([&] {
    h.server().set_users({{"view", "technician", viewer_hash()}});  // role changed
    return 0;
  });
  EXPECT_EQ(h.get(lv, "/api/egms").status, 401);
}

}  // namespace
}  // namespace floorgate::testing
