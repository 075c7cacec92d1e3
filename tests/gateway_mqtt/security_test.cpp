// TLS (a CA and server certificate generated with openssl here) and username/password
// (mosquitto_passwd) against a broker configured for them; wrong credentials give a clear
// error and bounded retries, never a crash loop.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>

#include "fake_store.hpp"
#include "harness.hpp"
#include "mosquitto_broker.hpp"

namespace fg = floorgate::gateway;
using namespace floorgate::testing;
using namespace std::chrono_literals;

namespace {


void run(const std::string& cmd) {
  ASSERT_EQ(std::system((cmd + " >/dev/null 2>&1").c_str()), 0) << cmd;
}

// CA + server certificate for 127.0.0.1 in `dir`; files readable by the broker's user.
void make_certs(const std::filesystem::path& dir, const std::string& prefix = "") {
  auto p = [&](const std::string& f) { return (dir / (prefix + f)).string(); };
  run("openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=floorgate-test-ca -keyout " +
      p("ca.key") + " -out " + p("ca.crt"));
  run("openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout " + p("server.key") +
      " -out " + p("server.csr"));
  std::ofstream(p("ext.cnf")) << "subjectAltName=IP:127.0.0.1\n";
  run("openssl x509 -req -days 2 -in " + p("server.csr") + " -CA " + p("ca.crt") + " -CAkey " +
      p("ca.key") + " -CAcreateserial -extfile " + p("ext.cnf") + " -out " + p("server.crt"));
  std::filesystem::permissions(dir, std::filesystem::perms::all);
  for (auto f : {"ca.crt", "server.crt", "server.key"})
    std::filesystem::permissions(p(f), std::filesystem::perms::all);
}

TestClient::Options secure_sub(int port, const std::string& name) {
  TestClient::Options o;
  o.port = port;
  o.id = "sec-sub-" + name;
  o.subscriptions = {kTestRoot + "/c/" + name + "/#"};
  o.ack_topic = kTestRoot + "/ack/" + name;
  return o;
}

}  // namespace

TEST(Security, DeliversOverTls) {
  TempDir certs;
  make_certs(certs.path());
  MosquittoBroker broker("cafile " + (certs / "ca.crt").string() + "\ncertfile " +
                         (certs / "server.crt").string() + "\nkeyfile " +
                         (certs / "server.key").string() + "\n");
  FakeStore store;
  auto o = secure_sub(broker.port(), "a");
  o.ca_file = (certs / "ca.crt").string();
  TestClient c(o);
  auto opts = mqtt_options(broker.port());
  opts.ca_file = (certs / "ca.crt").string();
  DeliveryHarness h(store, opts, {consumer("a")});
  for (int i = 0; i < 200; ++i) store.add(make_event(i));
  h.notify(200);
  ASSERT_TRUE(wait_until([&] { return store.acked("a") == 200; }, 20s)) << broker.log();
  EXPECT_EQ(c.distinct_seqs().size(), 200u);
  EXPECT_TRUE(h.stats().connected);
}

TEST(Security, UntrustedServerCertificateIsAClearErrorAndRetries) {
  TempDir certs;
  make_certs(certs.path());
  make_certs(certs.path(), "other-");
  MosquittoBroker broker("cafile " + (certs / "ca.crt").string() + "\ncertfile " +
                         (certs / "server.crt").string() + "\nkeyfile " +
                         (certs / "server.key").string() + "\n");
  FakeStore store;
  auto opts = mqtt_options(broker.port());
  opts.ca_file = (certs / "other-ca.crt").string();  // does not sign the server's certificate
  DeliveryHarness h(store, opts, {consumer("a")});
  ASSERT_TRUE(wait_until([&] { return h.stats().connect_failures >= 3; }, 20s));
  auto st = h.stats();
  EXPECT_FALSE(st.connected);
  EXPECT_EQ(st.connects, 0u);
  EXPECT_FALSE(st.last_error.empty());
}

TEST(Security, PasswordAuthenticationAndWrongCredentials) {
  TempDir dir;
  auto pw = (dir / "passwd").string();
  run("mosquitto_passwd -b -c " + pw + " gateway s3cret");
  run("mosquitto_passwd -b " + pw + " consumer c0nsumer");
  std::filesystem::permissions(dir.path(), std::filesystem::perms::all);
  std::filesystem::permissions(pw, std::filesystem::perms::all);
  MosquittoBroker broker("allow_anonymous false\npassword_file " + pw + "\n");
  FakeStore store;
  for (int i = 0; i < 50; ++i) store.add(make_event(i));
  {
    auto opts = mqtt_options(broker.port());
    opts.username = "gateway";
    opts.password = "wrong";
    DeliveryHarness bad(store, opts, {consumer("a")});
    ASSERT_TRUE(wait_until([&] { return bad.stats().connect_failures >= 3; }, 20s));
    auto st = bad.stats();
    EXPECT_FALSE(st.connected);
    EXPECT_NE(st.last_error.find("refused"), std::string::npos) << st.last_error;
    // Backoff keeps retrying bounded and calm: not hundreds of attempts per second.
    EXPECT_LT(st.connect_failures, 200u);
  }
  auto o = secure_sub(broker.port(), "a");
  o.username = "consumer";
  o.password = "c0nsumer";
  TestClient c(o);
  auto opts = mqtt_options(broker.port());
  opts.username = "gateway";
  opts.password = "s3cret";
  DeliveryHarness h(store, opts, {consumer("a")});
  h.notify(50);
  ASSERT_TRUE(wait_until([&] { return store.acked("a") == 50; }, 20s)) << broker.log();
  // stats() is a snapshot refreshed every 50 ms: the acks can beat the refresh.
  EXPECT_TRUE(wait_until([&] { return h.stats().connected; }, 5s));
}
