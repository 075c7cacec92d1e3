// Integration: mutual TLS between the G2S host driver and the G2S simulator over loopback, with
// a throwaway PKI the openssl command line makes at test time.
#include <gtest/gtest.h>

#include "harness.hpp"
#include "test_pki.hpp"

namespace floorgate::g2stest {
namespace {

using testing::CertFiles;
using testing::G2sSim;
using testing::TestPki;

class G2sTls : public ::testing::Test {
 protected:
  void SetUp() override {
    pki_ = std::make_unique<TestPki>(dir_ / "pki", "floor-ca");
    gateway_ = pki_->issue("gateway");
    egm_ = pki_->issue("SIM_0001");
  }
  drivers::g2s::HostConfig tls_config() {
    auto c = host_config({{"bank1-01", "SIM_0001", ""}});
    c.tls_cert_file = gateway_.cert;
    c.tls_key_file = gateway_.key;
    c.tls_ca_file = pki_->ca();
    c.log = [this](const std::string& line) {
      std::lock_guard<std::mutex> l(m_);
      log_ += line + "\n";
    };
    return c;
  }
  void start_host(drivers::g2s::HostConfig c) {
    runner_ = std::make_unique<HostRunner>(std::move(c));
    ASSERT_FALSE(runner_->start_error()) << log();
  }
  // A TLS simulator machine with `cert` (client and server), trusting `trusts`; the test
  // controls it presenting `control_cert`, trusting `control_ca`.
  void start_sim(const CertFiles& cert, const std::string& trusts, const std::string& control_ca,
                 const CertFiles& control_cert) {
    egm_port_ = testing::free_port();
    auto args = Sim::args("https://127.0.0.1:" + std::to_string(runner_->port()) + "/G2S",
                          {"--tls-cert", cert.cert, "--tls-key", cert.key, "--tls-ca", trusts});
    sim_ = std::make_unique<G2sSim>(
        G2sSim::Machines{{"SIM_0001", egm_port_}}, dir_ / "sim", args,
        [control_ca, control_cert](int port, const std::string& target, const std::string& body) {
          return testing::https_post(port, target, body, control_ca, control_cert);
        });
  }
  std::string log() {
    std::lock_guard<std::mutex> l(m_);
    return log_;
  }
  bool log_has(const std::string& s) {
    return testing::wait_until([&] { return log().find(s) != std::string::npos; });
  }
  RecordingSink& sink() { return runner_->sink(); }

  testing::TempDir dir_;
  std::unique_ptr<TestPki> pki_;
  CertFiles gateway_, egm_;
  int egm_port_ = 0;
  std::unique_ptr<HostRunner> runner_;
  std::unique_ptr<G2sSim> sim_;
  std::mutex m_;
  std::string log_;
};

TEST_F(G2sTls, MutualTlsDeliversEventsAndAcksBothWays) {
  start_host(tls_config());
  start_sim(egm_, pki_->ca(), pki_->ca(), gateway_);
  ASSERT_TRUE(testing::wait_until([&] { return runner_->status().link_up; }, std::chrono::seconds(20)))
      << sim_->control("status") << "\n" << log();
  ASSERT_TRUE(sim_->wait_status("\"subscribed\":true"));
  EXPECT_EQ(runner_->status().location, "https://127.0.0.1:" + std::to_string(egm_port_) + "/G2S");
  sim_->control("door open main\nbill 2000");
  ASSERT_TRUE(testing::wait_until([&] { return sink().count("bill.stacked") == 1; }));
  // eventAck went back over the host's HTTPS client: the EGM's queue is empty.
  ASSERT_TRUE(sim_->wait_status("\"queued\":0,\"inflight\":0,\"raised\":3,\"acked\":3"))
      << sim_->control("status");
  EXPECT_EQ(sink().count("door.opened"), 1u);
  EXPECT_EQ(runner_->counters().tls_rejected, 0u) << log();
  EXPECT_EQ(runner_->status().post_failures, 0u) << log();
}

TEST_F(G2sTls, PlainHttpAndClientsWithoutCertificateAreRefused) {
  start_host(tls_config());
  const std::string body = "<x/>";
  EXPECT_EQ(http_post(runner_->port(), "/G2S", body).status, 0);  // not TLS at all
  EXPECT_EQ(testing::https_post(runner_->port(), "/G2S", body, pki_->ca()).status, 0);  // no cert
  ASSERT_TRUE(testing::wait_until([&] { return runner_->counters().tls_rejected >= 2; }));
  EXPECT_EQ(runner_->counters().http_requests, 0u) << "a request got past the handshake";
  EXPECT_TRUE(log_has("peer did not return a certificate")) << log();
  EXPECT_TRUE(log_has("G2S TLS handshake from 127.0.0.1:")) << log();
  // With our own certificate the same request reaches the G2S layer (and is answered there).
  EXPECT_EQ(testing::https_post(runner_->port(), "/G2S", body, pki_->ca(), egm_).status, 400);
  EXPECT_TRUE(sink().events().empty());
}

TEST_F(G2sTls, EgmCertificateFromAnotherCaIsRefusedAndNothingIsStored) {
  start_host(tls_config());
  TestPki rogue(dir_ / "rogue", "rogue-ca");
  auto rogue_egm = rogue.issue("SIM_0001");
  // The rogue machine trusts the real CA (so only its own certificate is wrong).
  start_sim(rogue_egm, pki_->ca(), rogue.ca(), gateway_);
  sim_->control("door open main\nbill 2000\nhandpay 125000");
  ASSERT_TRUE(testing::wait_until([&] { return runner_->counters().tls_rejected >= 3; }))
      << sim_->control("status");
  EXPECT_TRUE(log_has("refused (no event accepted)")) << log();
  EXPECT_NE(log().find("certificate verify failed"), std::string::npos) << log();
  EXPECT_NE(sim_->control("status").find("\"state\":\"opening\""), std::string::npos);
  EXPECT_TRUE(sink().events().empty());
  EXPECT_FALSE(runner_->status().link_up);
  EXPECT_EQ(runner_->counters().http_requests, 0u);
}

// Issue 17: a certificate from the floor CA is not enough; it must name the egmId it speaks
// for. Another machine's (valid) certificate cannot report for SIM_0001.
TEST_F(G2sTls, CertificateThatDoesNotNameTheEgmIdIsRefused) {
  start_host(tls_config());
  auto other_machine = pki_->issue("SIM_0002");  // right CA, right address, other egmId
  start_sim(other_machine, pki_->ca(), pki_->ca(), gateway_);
  sim_->control("door open main\nbill 2000");
  ASSERT_TRUE(testing::wait_until([&] { return runner_->counters().peer_rejected >= 3; }))
      << sim_->control("status");
  EXPECT_TRUE(log_has("does not name egmId SIM_0001")) << log();
  EXPECT_TRUE(sink().events().empty());
  EXPECT_FALSE(runner_->status().link_up);
  EXPECT_EQ(runner_->counters().tls_rejected, 0u);  // the handshake itself was fine
}

TEST_F(G2sTls, HostVerifiesTheEgmServerCertificateNamesItsAddress) {
  start_host(tls_config());
  auto misnamed = pki_->issue("SIM_0001", "DNS:egm.elsewhere.invalid");  // right CA, wrong name
  start_sim(misnamed, pki_->ca(), pki_->ca(), gateway_);
  // The EGM's commsOnLine gets in (its client certificate is fine), but the host refuses to
  // post commsOnLineAck to a server whose certificate does not name 127.0.0.1.
  EXPECT_TRUE(log_has("failed: TLS handshake: certificate verify failed")) << log();
  EXPECT_GT(runner_->status().post_failures, 0u);
  EXPECT_FALSE(runner_->status().link_up);
  EXPECT_TRUE(sink().events().empty());
}

TEST_F(G2sTls, IncompleteOrMismatchedTlsFilesFailStart) {
  auto only_cert = tls_config();
  only_cert.tls_ca_file.clear();
  {
    HostRunner r(only_cert);
    EXPECT_EQ(r.start_error(), std::errc::invalid_argument);
  }
  EXPECT_NE(log().find("must be given together"), std::string::npos) << log();
  auto wrong_key = tls_config();
  wrong_key.tls_key_file = egm_.key;
  {
    HostRunner r(wrong_key);
    EXPECT_EQ(r.start_error(), std::errc::invalid_argument);
  }
  EXPECT_NE(log().find("key values mismatch"), std::string::npos) << log();
}

}  // namespace
}  // namespace floorgate::g2stest
