// Fault suite: the gateway (g2s-test-gateway, a Host with a fsync'ed journal as its store) is
// killed between the commit and the eventAck, and kept down while the EGM queues a backlog.
#include <gtest/gtest.h>

#include <fstream>

#include "harness.hpp"

namespace floorgate::g2stest {
namespace {

struct Journal {
  std::vector<std::string> lines;
  explicit Journal(const std::string& path) {
    std::ifstream f(path);
    std::string l;
    while (std::getline(f, l)) lines.push_back(l);
  }
  std::vector<std::int64_t> ids(const std::string& type) const {
    std::vector<std::int64_t> v;
    for (auto& l : lines) {
      if (l.find("\"type\":\"" + type + "\"") == std::string::npos) continue;
      if (auto k = drivers::g2s::seen_key_from_attrs(l)) v.push_back(k->event_id);
    }
    return v;
  }
  std::size_t count(const std::string& type) const { return ids(type).size(); }
};

class G2sCrash : public ::testing::Test {
 protected:
  void start_gateway(const std::string& crash_on = "") {
    gw_ = std::make_unique<testing::ChildProcess>();
    std::vector<std::string> argv = {testing::build_path("tests/g2s/g2s-test-gateway"), "--port",
                                     std::to_string(gw_port_), "--egm", "bank1-01=SIM_0001",
                                     "--journal", journal_, "--keepalive-s", "1"};
    if (!crash_on.empty()) {
      argv.push_back("--crash-on");
      argv.push_back(crash_on);
    }
    gw_->start(argv, (dir_ / "gw.out").string(), (dir_ / "gw.err").string());
    ASSERT_TRUE(testing::wait_until([&] { return testing::port_open(gw_port_); }));
  }
  void start_sim() {
    sim_ = std::make_unique<Sim>(gw_port_, std::vector<std::pair<std::string, int>>{{"SIM_0001", egm_port_}},
                                 dir_.path().string());
    ASSERT_TRUE(sim_->wait_status("\"subscribed\":true"));
  }
  Journal journal() const { return Journal(journal_); }

  testing::TempDir dir_;
  int gw_port_ = testing::free_port();
  int egm_port_ = testing::free_port();
  std::string journal_ = (dir_ / "journal.jsonl").string();
  std::unique_ptr<testing::ChildProcess> gw_;
  std::unique_ptr<Sim> sim_;
};

TEST_F(G2sCrash, KilledBetweenCommitAndEventAckResendIsDeduped) {
  // Die right after committing the door event (by type: link.up and the first meter read may
  // come before it in either order).
  start_gateway("door.opened");
  start_sim();
  sim_->control("door open main");
  ASSERT_GE(gw_->wait(std::chrono::seconds(20)), 0) << "gateway did not die";
  EXPECT_EQ(journal().count("door.opened"), 1u);
  EXPECT_NE(sim_->control("status").find("\"acked\":0"), std::string::npos);  // no eventAck went out
  start_gateway();  // the EGM resends after MSX003 + re-handshake
  ASSERT_TRUE(sim_->wait_status("\"queued\":0,\"inflight\":0"));
  EXPECT_NE(sim_->control("status").find("\"acked\":1"), std::string::npos);
  EXPECT_EQ(journal().count("door.opened"), 1u) << "the resent event was stored twice";
}

TEST_F(G2sCrash, KilledBetweenEndOfDayCommitAndMeterInfoAckIsStoredOnce) {
  start_gateway("G2S_onEOD");
  start_sim();
  sim_->control("eod");
  ASSERT_GE(gw_->wait(std::chrono::seconds(20)), 0) << "gateway did not die";
  auto eod_lines = [&] {
    std::size_t n = 0;
    for (auto& l : journal().lines) n += l.find("\"meter_info_type\":\"G2S_onEOD\"") != std::string::npos;
    return n;
  };
  ASSERT_EQ(eod_lines(), 1u);
  EXPECT_NE(sim_->control("status").find("\"eod_pending\":true"), std::string::npos);  // not acked
  start_gateway();  // the EGM re-sends the same end-of-day meterInfo until meterInfoAck
  ASSERT_TRUE(sim_->wait_status("\"eod_pending\":false", 0, std::chrono::seconds(30)))
      << sim_->control("status");
  EXPECT_NE(sim_->control("status").find("\"eod_acked\":1"), std::string::npos);
  EXPECT_EQ(eod_lines(), 1u) << "the re-sent end-of-day meters were stored twice";
}

TEST_F(G2sCrash, GatewayDownBacklogArrivesInOrderWithoutLossOrDuplicates) {
  start_gateway();
  start_sim();
  sim_->control("event G2S_CBE309 5");
  ASSERT_TRUE(sim_->wait_status("\"queued\":0,\"inflight\":0"));
  gw_->kill(SIGKILL);
  gw_->wait();
  sim_->control("event G2S_CBE309 40\nbill 100");
  // The EGM keeps all 42 queued while it retries against a dead host.
  EXPECT_TRUE(testing::wait_until([&] {
    return sim_->control("status").find("\"queued\":42") != std::string::npos;
  }, std::chrono::seconds(10), std::chrono::milliseconds(50))) << sim_->control("status");
  start_gateway();
  ASSERT_TRUE(sim_->wait_status("\"queued\":0,\"inflight\":0", 0, std::chrono::seconds(60)));
  auto ids = journal().ids("tilt.general");
  ASSERT_EQ(ids.size(), 45u);
  for (std::size_t i = 1; i < ids.size(); ++i) EXPECT_LT(ids[i - 1], ids[i]) << "out of order at " << i;
  EXPECT_EQ(journal().count("bill.stacked"), 1u);
  // The ledger (what the EGM raised) matches what was stored, one for one.
  std::ifstream ledger(dir_ / "SIM_0001.ledger.jsonl");
  std::size_t raised = 0;
  for (std::string l; std::getline(ledger, l);) ++raised;
  std::size_t stored = 0;
  for (auto& l : journal().lines) stored += drivers::g2s::seen_key_from_attrs(l).has_value();
  EXPECT_EQ(raised, stored);
}

}  // namespace
}  // namespace floorgate::g2stest
