// Unit tests of the web server's pure parts: password hashes, sessions, the login limiter,
// URL/cookie/CSV helpers and the test YAML subset the fake backend reads.
#include "fake_backend.hpp"
#include "web/api.hpp"
#include "web/auth.hpp"
#include "web/http_util.hpp"
#include "web/readable.hpp"

#include <floorgate/gateway/web/password.hpp>

#include <gtest/gtest.h>

namespace floorgate::gateway::web {
namespace {

using namespace std::chrono_literals;

TEST(Password, HashRoundTripsAndIsSalted) {
  auto a = hash_password("s3cret", 1000);
  auto b = hash_password("s3cret", 1000);
  EXPECT_EQ(a.rfind("pbkdf2-sha256$1000$", 0), 0u);
  EXPECT_NE(a, b);
  EXPECT_TRUE(verify_password("s3cret", a));
  EXPECT_TRUE(verify_password("s3cret", b));
  EXPECT_FALSE(verify_password("s3cret ", a));
  EXPECT_FALSE(verify_password("", a));
  EXPECT_TRUE(is_password_hash(a));
}

TEST(Password, DefaultWorkFactorAndMalformedHashes) {
  auto h = hash_password("pw");
  EXPECT_EQ(h.rfind("pbkdf2-sha256$210000$", 0), 0u);
  EXPECT_TRUE(verify_password("pw", h));
  for (const char* bad : {"", "pw", "pbkdf2-sha256$1000$$", "md5$1000$AAAAAAAAAAA=$AAAA",
                          "pbkdf2-sha256$10$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                          "pbkdf2-sha256$1x00$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
                          "pbkdf2-sha256$1000$!!!!$AAAA", "pbkdf2-sha256$1000$AAAAAAAAAAAAAAAAAAAAAA==$x$y"}) {
    EXPECT_FALSE(verify_password("pw", bad)) << bad;
    EXPECT_FALSE(is_password_hash(bad)) << bad;
  }
}

TEST(Sessions, IdleExpiryAndTouch) {
  detail::SessionStore s(100s);
  auto t0 = std::chrono::steady_clock::time_point{} + 1000s;
  auto sess = s.create("tech", "technician", t0);
  EXPECT_EQ(sess.token.size(), 64u);
  EXPECT_NE(sess.token, sess.csrf);
  EXPECT_NE(s.find(sess.token, t0 + 90s, true), nullptr);
  EXPECT_NE(s.find(sess.token, t0 + 180s, false), nullptr);  // touched at +90
  EXPECT_EQ(s.find(sess.token, t0 + 190s, true), nullptr);
  EXPECT_EQ(s.size(), 0u);
  EXPECT_EQ(s.find("", t0, true), nullptr);
}

TEST(Sessions, BoundedCount) {
  detail::SessionStore s(100s, 3);
  auto t = std::chrono::steady_clock::time_point{} + 1000s;
  auto first = s.create("a", "viewer", t);
  for (int i = 0; i < 5; ++i) s.create("a", "viewer", t + std::chrono::seconds(i + 1));
  EXPECT_EQ(s.size(), 3u);
  EXPECT_EQ(s.find(first.token, t + 10s, false), nullptr);
}

TEST(LoginLimiter, WindowedFailures) {
  detail::LoginLimiter l(3, 60s);
  auto t = std::chrono::steady_clock::time_point{} + 1000s;
  for (int i = 0; i < 2; ++i) l.record_failure("u:tech", t);
  EXPECT_EQ(l.blocked_for("u:tech", t), 0);
  l.record_failure("u:tech", t + 10s);
  EXPECT_EQ(l.blocked_for("u:tech", t + 10s), 50);
  EXPECT_EQ(l.blocked_for("u:other", t + 10s), 0);
  EXPECT_EQ(l.blocked_for("u:tech", t + 61s), 0);
  l.record_failure("u:tech", t + 62s);
  l.reset("u:tech");
  EXPECT_EQ(l.blocked_for("u:tech", t + 62s), 0);
}

TEST(HttpUtil, DecodeQueryCookieCsv) {
  EXPECT_EQ(*detail::url_decode("a%20b+c", true), "a b c");
  EXPECT_EQ(*detail::url_decode("a+b", false), "a+b");
  EXPECT_FALSE(detail::url_decode("%", false));
  EXPECT_FALSE(detail::url_decode("%4", false));
  EXPECT_FALSE(detail::url_decode("%zz", false));
  EXPECT_FALSE(detail::url_decode("%00", false));
  auto q = detail::parse_query("egm=bank1-01&type=door.%2A&&limit=5&x");
  ASSERT_TRUE(q);
  EXPECT_EQ((*q)["egm"], "bank1-01");
  EXPECT_EQ((*q)["type"], "door.*");
  EXPECT_EQ((*q)["x"], "");
  EXPECT_EQ(detail::cookie_value("a=1; fg_session=abc; b=2", "fg_session"), "abc");
  EXPECT_EQ(detail::cookie_value("xfg_session=abc", "fg_session"), "");
  EXPECT_EQ(detail::csv_field("plain"), "plain");
  EXPECT_EQ(detail::csv_field("a,\"b\""), "\"a,\"\"b\"\"\"");
  EXPECT_EQ(detail::csv_field("=cmd()"), "'=cmd()");
  EXPECT_TRUE(detail::constant_time_equal("abc", "abc"));
  EXPECT_FALSE(detail::constant_time_equal("abc", "abd"));
  EXPECT_FALSE(detail::constant_time_equal("abc", "ab"));
}

TEST(MiniYaml, RoundTripsTheFakeDocument) {
  testing::FakeBackend b;
  std::string yaml = b.config_yaml();
  testing::mini_yaml::Parser p(yaml);
  auto v = p.parse();
  ASSERT_TRUE(v) << p.error()->line << ": " << p.error()->message << "\n" << yaml;
  EXPECT_EQ(*v, boost::json::value(b.config_document()));
  testing::mini_yaml::Parser bad("a: 1\n   b: 2\n");
  EXPECT_FALSE(bad.parse());
  EXPECT_EQ(bad.error()->line, 2);
}

}  // namespace
}  // namespace floorgate::gateway::web

// Issue 17: viewers get "(set)" instead of password hashes.
TEST(WebRedaction, CoversBlockAndFlowStyles) {
  using floorgate::gateway::web::detail::redact_secrets;
  EXPECT_EQ(redact_secrets("  - name: a\n    password_hash: pbkdf2$1$x$y   # c\n"),
            "  - name: a\n    password_hash: \"(set)\"   # c\n");
  EXPECT_EQ(redact_secrets("users: [{name: a, password_hash: 'p$1', role: viewer}]"),
            "users: [{name: a, password_hash: \"(set)\", role: viewer}]");
  EXPECT_EQ(redact_secrets("password_hash: \"q\"\nnext: 1"), "password_hash: \"(set)\"\nnext: 1");
  EXPECT_EQ(redact_secrets("no secrets here"), "no secrets here");
}

// Issue 17: many logins of one account cannot push another user's session out.
TEST(WebSessions, OneAccountCannotEvictOtherSessions) {
  floorgate::gateway::web::detail::SessionStore store(std::chrono::seconds(900), 32, 4);
  auto now = std::chrono::steady_clock::now();
  auto tech = store.create("tech", "technician", now);
  for (int i = 0; i < 300; ++i) store.create("view", "viewer", now + std::chrono::seconds(1 + i));
  EXPECT_NE(store.find(tech.token, now + std::chrono::seconds(400), false), nullptr);
  EXPECT_EQ(store.size(), 5u);  // 4 viewer sessions (the newest) and the technician's
}


// Issue 24: the CSV's readable columns: money as currency, meters by name with deltas, credits
// through the event's denomination, counts as counts (the raw attributes keep their column).
TEST(WebReadable, MoneyAndMetersInWords) {
  using namespace floorgate::gateway::web::detail;
  EXPECT_EQ(money_text(123456, ""), "$1,234.56");
  EXPECT_EQ(money_text(-5, "EUR"), "-€0.05");
  EXPECT_EQ(money_text(1200, "CHF"), "12.00 CHF");
  EXPECT_EQ(decimal_text(-123456), "-1234.56");
  auto attrs = boost::json::parse(R"({"denomination_cents":5,"door":"main",
      "meters":{"coin_in":{"code":"0x00","value":2646,"unit":"credits","delta":29},
                "games_played":{"value":1200,"unit":"count","delta":3},
                "total_drop_cents":{"value":100,"unit":"cents"}},
      "amount_cents":250})").as_object();
  EXPECT_EQ(amount_cents(attrs), 250);
  EXPECT_EQ(readable_details(attrs),
            "denomination $0.05 · door=main · coin in $132.30 (+$1.45) · games played 1,200 (+3) · "
            "total drop cents $1.00 · amount $2.50");
  EXPECT_FALSE(amount_cents(boost::json::parse(R"({"door":"main"})").as_object()));
}
