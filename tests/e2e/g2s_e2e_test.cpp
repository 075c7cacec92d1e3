// End to end with G2S: Mosquitto, the SAS simulator (pty + TCP machines), the G2S simulator
// (two network EGMs), the floorgate daemon with a `driver: g2s` bus beside its SAS buses, and
// three acknowledging consumers, all real processes. The G2S simulator's ledger files are the
// truth for its machines, the SAS simulator's ledger for the serial ones.
#include <gtest/gtest.h>

#include <thread>

#include "floor_fixture.hpp"
#include "g2s_sim.hpp"
#include "ledger_check.hpp"
#include "test_pki.hpp"

namespace floorgate::testing {
namespace {

using namespace std::chrono_literals;

// What the gateway must make of each G2S code the scenario raises: the type names the SAS
// driver uses for the same happenings (drivers/src/sas/tables.cpp), classes as mapped in
// drivers/src/g2s/event_map.cpp.
struct Expected {
  std::string type, cls;
};
const std::map<std::string, Expected> kG2sCodes = {
    {"G2S_CBE307", {"door.opened", "security"}},     {"G2S_CBE308", {"door.closed", "security"}},
    {"G2S_CBE303", {"door.opened", "security"}},     {"G2S_CBE304", {"door.closed", "security"}},
    {"G2S_NAE116", {"bill.escrowed", "operational"}}, {"G2S_NAE114", {"bill.stacked", "financial"}},
    {"G2S_NAE105", {"bill.stacker_full", "fault"}},   {"G2S_JPE101", {"handpay.pending", "financial"}},
    {"G2S_JPE104", {"handpay.reset", "financial"}},   {"G2S_CBE324", {"power.lost", "fault"}},
    {"G2S_CBE325", {"power.applied", "operational"}}};

// The Floor fixture's consumer routes by class (empty = every class).
const std::map<std::string, std::set<std::string>> kRoutes = {
    {"slot-mgmt", {"financial", "security"}}, {"maintenance", {"fault", "security"}}, {"analytics", {}}};

// One consumer line with the G2S details the ledger check needs.
struct Got {
  Received r;
  std::string code, event_dt, meter_info_type;
  std::int64_t event_id = 0;
  boost::json::object attrs;
};

std::vector<Got> with_attrs(const std::vector<Received>& rs) {
  std::vector<Got> out;
  for (const auto& r : rs) {
    Got g{r, {}, {}, {}, 0, {}};
    auto v = boost::json::parse(r.payload);
    if (auto* a = v.as_object().if_contains("attrs"); a && a->is_object()) {
      g.attrs = a->as_object();
      auto str = [&](const char* k) {
        auto* x = g.attrs.if_contains(k);
        return x && x->is_string() ? std::string(x->as_string()) : std::string();
      };
      g.code = str("code");
      g.event_dt = str("event_dt");
      g.meter_info_type = str("meter_info_type");
      if (auto* id = g.attrs.if_contains("event_id"); id && id->is_int64()) g.event_id = id->as_int64();
    }
    out.push_back(std::move(g));
  }
  return out;
}

// The daemon with two G2S machines (g1, g2) on a `driver: g2s` bus next to the fixture's SAS
// buses; the G2S simulator keeps its state (queues, ledgers) in <floor dir>/g2s. With `tls`,
// the bus and the machines speak HTTPS with mutual TLS (a throwaway PKI made here).
class G2sFloor {
 public:
  explicit G2sFloor(bool tls = false) : tls_(tls), floor_(options()) {
    floor_.start_all();
    std::vector<std::string> args = {"--host-url", scheme() + "://" + host_ip() + ":" +
                                                       std::to_string(host_port_) + "/G2S",
                                     "--resend-ms", "400", "--retry-ms", "150", "--heartbeat-ms", "150"};
    G2sSim::Poster poster;
    if (tls_) {
      args.insert(args.end(), {"--tls-cert", egm_cert_.cert, "--tls-key", egm_cert_.key,
                               "--tls-ca", pki_->ca()});
      poster = [ca = pki_->ca(), me = host_cert_](int port, const std::string& t, const std::string& b) {
        return https_post(port, t, b, ca, me);
      };
    }
    sim_ = std::make_unique<G2sSim>(
        G2sSim::Machines{{"SIM_G1", egm_ports_[0]}, {"SIM_G2", egm_ports_[1]}}, floor_.dir() / "g2s",
        args, poster);
    for (std::size_t i = 0; i < sim_->size(); ++i) wait_online(i);
  }

  Floor& floor() { return floor_; }
  int host_port() const { return host_port_; }
  G2sSim& sim() { return *sim_; }
  const std::map<std::string, std::string>& egm_of() const { return egm_of_; }

  void wait_online(std::size_t i) {
    if (!sim_->wait_status("\"state\":\"online\",\"subscribed\":true", i, 30s)) {
      throw std::runtime_error("G2S machine " + sim_->egm_id(i) + " not online: " +
                               sim_->control("status", i) + "\n" + floor_.daemon_log());
    }
  }
  // A number from machine i's status JSON, e.g. "comms_online" (handshakes completed).
  long status_number(std::size_t i, const std::string& key) {
    auto st = sim_->control("status", i);
    auto p = st.find("\"" + key + "\":");
    return p == std::string::npos ? -1 : std::atol(st.c_str() + p + key.size() + 3);
  }
  std::vector<long> handshakes() {
    std::vector<long> v;
    for (std::size_t i = 0; i < sim_->size(); ++i) v.push_back(status_number(i, "comms_online"));
    return v;
  }
  // Waits until every machine completed a new handshake since `before` (a machine does not
  // notice a restarted gateway until its next POST is refused) and is online again.
  void wait_relinked(const std::vector<long>& before) {
    for (std::size_t i = 0; i < sim_->size(); ++i) {
      if (!wait_until([&] { return status_number(i, "comms_online") > before[i]; }, 30s)) {
        throw std::runtime_error("G2S machine " + sim_->egm_id(i) + " did not relink: " +
                                 sim_->control("status", i) + "\n" + floor_.daemon_log());
      }
      wait_online(i);
    }
  }
  // Runs the control commands on every G2S machine.
  void on_all(const std::string& commands) {
    for (std::size_t i = 0; i < sim_->size(); ++i) {
      EXPECT_EQ(sim_->control(commands, i), "ok") << commands;
    }
  }
  // True once no G2S machine holds an unacknowledged event or end-of-day report.
  bool drained() {
    for (std::size_t i = 0; i < sim_->size(); ++i) {
      auto st = sim_->control("status", i);
      if (st.find("\"queued\":0,\"inflight\":0") == std::string::npos ||
          st.find("\"eod_pending\":false") == std::string::npos) {
        return false;
      }
    }
    return true;
  }

 private:
  std::string scheme() const { return tls_ ? "https" : "http"; }
  // Where the g2s bus listens (`bind`): 127.0.0.2 proves the key reaches the socket (nothing
  // answers on 127.0.0.1); the TLS certificates name 127.0.0.1.
  std::string host_ip() const { return tls_ ? "127.0.0.1" : "127.0.0.2"; }
  FloorOptions options() {
    std::ostringstream y;
    y << "  - id: g2s0\n    driver: g2s\n    bind: " << host_ip() << "\n    listen_port: "
      << host_port_ << "\n";
    if (tls_) {
      pki_ = std::make_unique<TestPki>(pki_dir_.path(), "floor-ca");
      host_cert_ = pki_->issue("gateway");
      // One simulator plays both machines: its certificate names both egmIds (the host
      // accepts a request for an egmId only with a certificate that names it).
      egm_cert_ = pki_->issue("SIM_G1", "IP:127.0.0.1,DNS:SIM_G1,DNS:SIM_G2");
      y << "    tls_cert_file: " << host_cert_.cert << "\n    tls_key_file: " << host_cert_.key
        << "\n    tls_ca_file: " << pki_->ca() << "\n";
    }
    y << "    egms:\n";
    int n = 0;
    for (const auto& [egm_id, egm] : egm_of_) {
      y << "      - {id: " << egm << ", g2s_egm_id: " << egm_id << ", url: " << scheme()
        << "://127.0.0.1:" << egm_ports_[n++] << "/G2S}\n";
    }
    FloorOptions o;
    o.extra_buses = y.str();
    return o;
  }

  bool tls_;
  TempDir pki_dir_;
  std::unique_ptr<TestPki> pki_;
  CertFiles host_cert_, egm_cert_;
  int host_port_ = free_port();
  int egm_ports_[2] = {free_port(), free_port()};
  std::map<std::string, std::string> egm_of_ = {{"SIM_G1", "g1"}, {"SIM_G2", "g2"}};
  Floor floor_;
  std::unique_ptr<G2sSim> sim_;
};

// Every G2S ledger event reached `consumer` when its route selects the event's class: once per
// (egm, eventId, eventDateTime) key, under one seq, as the expected type. "" when all is well.
std::string check_g2s_ledger(G2sFloor& f, const std::string& consumer) {
  std::ostringstream problems;
  const auto& classes = kRoutes.at(consumer);
  auto got = with_attrs(f.floor().received(consumer));
  std::map<std::uint64_t, std::string> payload_of_seq;
  std::map<std::tuple<std::string, std::int64_t, std::string>, std::set<std::uint64_t>> seqs_of_key;
  for (const auto& g : got) {
    auto [it, fresh] = payload_of_seq.emplace(g.r.seq, g.r.payload);
    if (!fresh && it->second != g.r.payload) problems << "seq " << g.r.seq << " with two contents; ";
    if (!classes.empty() && !classes.count(g.r.cls)) problems << "unrouted " << g.r.type << "; ";
    if (g.event_id > 0) seqs_of_key[{g.r.egm, g.event_id, g.event_dt}].insert(g.r.seq);
  }
  for (std::size_t i = 0; i < f.sim().size(); ++i) {
    const std::string& egm = f.egm_of().at(f.sim().egm_id(i));
    for (const auto& l : f.sim().ledger(i)) {
      auto want = kG2sCodes.find(l.code);
      if (want == kG2sCodes.end()) {
        problems << "scenario raised unexpected " << l.code << "; ";
        continue;
      }
      if (!classes.empty() && !classes.count(want->second.cls)) continue;
      auto key = std::make_tuple(egm, l.event_id, l.event_dt);
      auto it = seqs_of_key.find(key);
      if (it == seqs_of_key.end()) {
        problems << consumer << " misses " << egm << " event " << l.event_id << " " << l.code << "; ";
      } else if (it->second.size() != 1) {
        problems << egm << " event " << l.event_id << " stored " << it->second.size() << " times; ";
      }
    }
  }
  for (const auto& g : got) {
    if (g.event_id <= 0 || !g.code.starts_with("G2S_")) continue;
    auto want = kG2sCodes.find(g.code);
    if (want == kG2sCodes.end() || want->second.type != g.r.type || want->second.cls != g.r.cls) {
      problems << g.code << " arrived as " << g.r.type << "/" << g.r.cls << "; ";
    }
  }
  return problems.str();
}

// Types that reached analytics from one EGM (link and egm.* housekeeping left out).
// type -> the classes it arrived with, for one EGM, as the analytics consumer (every route) saw it.
std::map<std::string, std::set<std::string>> types_of(G2sFloor& f, const std::string& egm) {
  std::map<std::string, std::set<std::string>> out;
  for (const auto& r : f.floor().received("analytics")) {
    if (r.egm == egm && !r.type.starts_with("link.") && !r.type.starts_with("egm.")) out[r.type].insert(r.cls);
  }
  return out;
}

TEST(G2sE2E, ScenarioReachesEveryRoutedConsumerWithSasTypeNamesAcrossADaemonKill) {
  G2sFloor f;
  EXPECT_NE(f.floor().daemon_log().find("G2S host listening on 127.0.0.2:" +
                                        std::to_string(f.host_port())),
            std::string::npos);
  EXPECT_FALSE(port_open(f.host_port())) << "bind: 127.0.0.2 must not listen on 127.0.0.1";
  // Burst 1: doors, bills, stacker full, handpay on SAS machine e1 and both G2S machines.
  // (Each SAS command waits until the gateway took what it raised: SAS reports priority
  // exceptions such as 51 ahead of older ones, and the ledger comparison wants each EGM's
  // events in the order raised.)
  for (const char* c : {"door 1 open", "door 1 close", "bill 1 20", "inject 1 27",
                        "handpay 1 1250.00", "inject 1 52"}) {
    ASSERT_TRUE(f.floor().sim().ok(c)) << c;
    ASSERT_TRUE(wait_handed_over(f.floor().sim())) << c;
  }
  std::vector<long> acked_before, failures_before;
  for (std::size_t i = 0; i < f.sim().size(); ++i) acked_before.push_back(f.status_number(i, "acked"));
  f.on_all("door open main\ndoor close main\nbill 2000\nbill 10000\nstacker-full\n"
           "handpay 125000\nhandpay-reset");
  // kill -9 while the EGMs are still handing that over (one event per round trip): some of it
  // committed and acknowledged, some committed with the eventAck lost, some never received.
  // Killed once every machine had one acknowledged (or, on a fast run, all of it).
  ASSERT_TRUE(wait_until([&] {
    for (std::size_t i = 0; i < f.sim().size(); ++i) {
      if (f.status_number(i, "acked") <= acked_before[i] && f.status_number(i, "queued") != 0) return false;
    }
    return true;
  }, 30s, 5ms));
  auto before = f.handshakes();
  for (std::size_t i = 0; i < f.sim().size(); ++i) failures_before.push_back(f.status_number(i, "post_failures"));
  f.floor().kill_daemon(SIGKILL);
  f.on_all("door open logic\ndoor close logic");  // queued on the EGMs while the gateway is down
  // The machines found the gateway gone (a post failed) before it comes back.
  ASSERT_TRUE(wait_until([&] {
    for (std::size_t i = 0; i < f.sim().size(); ++i) {
      if (f.status_number(i, "post_failures") <= failures_before[i]) return false;
    }
    return true;
  }, 30s, 20ms)) << f.sim().control("status", 0) << "\n" << f.sim().control("status", 1);
  f.floor().start_daemon();
  f.wait_relinked(before);

  // Burst 2: power cycle (EGM restart), one more bill, end-of-day meters.
  before = f.handshakes();
  f.on_all("power-cycle");
  ASSERT_TRUE(f.floor().sim().ok("power-cycle 1"));
  f.wait_relinked(before);
  f.on_all("bill 500\nbill 700\neod");

  // The same happenings carry the same type names from both protocols.
  const std::set<std::string> scenario = {"door.opened", "door.closed",     "bill.stacked",
                                          "bill.stacker_full", "handpay.pending", "handpay.reset",
                                          "power.lost",  "power.applied",   "meters.snapshot"};
  std::map<std::string, std::string> problems;
  bool settled = wait_until(
      [&] {
        if (!f.drained()) return false;
        // SAS e1's meter snapshot is read on the machine's own schedule: wait for it too.
        for (const std::string egm : {"g1", "g2", "e1"}) {
          const auto got = types_of(f, egm);
          for (const auto& t : scenario) {
            problems["analytics types"] = got.count(t) ? "" : egm + " never sent " + t;
            if (!got.count(t)) return false;
          }
        }
        for (const auto& route : kRoutes) {
          problems[route.first] = check_g2s_ledger(f, route.first);
          if (!problems[route.first].empty()) return false;
        }
        return true;
      },
      40s);
  for (const auto& [consumer, p] : problems) EXPECT_EQ(p, "") << consumer;
  ASSERT_TRUE(settled) << f.sim().control("status", 0) << "\n" << f.sim().control("status", 1)
                       << "\n(dir " << f.floor().dir().path() << ")";

  // ... and the same class, so a class-routed consumer cannot tell the protocols apart.
  const auto sas_types = types_of(f, "e1");
  for (const std::string egm : {"g1", "g2", "e1"}) {
    auto got = types_of(f, egm);
    for (const auto& t : scenario) {
      ASSERT_TRUE(got.count(t)) << egm << " never sent " << t;
      ASSERT_TRUE(sas_types.count(t)) << "SAS e1 never sent " << t;
      EXPECT_EQ(got.at(t), sas_types.at(t)) << egm << " " << t << ": class differs from SAS";
      EXPECT_EQ(got.at(t).size(), 1u) << egm << " " << t << " arrived with several classes";
    }
  }
  // Money resent after the kill and the power cycle raises no false alarm (each new association
  // starts a new baseline; docs/reconciliation.md, G2S machines), and the two bills after the
  // power cycle close a window on each G2S machine.
  for (const std::string egm : {"g1", "g2", "e1"}) {
    EXPECT_EQ(types_of(f, egm).count("reconciliation.mismatch"), 0u) << egm;
  }
  for (const std::string egm : {"g1", "g2"}) {
    EXPECT_TRUE(types_of(f, egm).count("meters.reconciled")) << egm << ": no window closed";
  }
  // End-of-day meters from each G2S machine: exact currency-in over both bursts, in millicents
  // ($20 + $100 + $5 + $7).
  for (const std::string egm : {"g1", "g2"}) {
    bool eod = false;
    for (const auto& g : with_attrs(f.floor().received("analytics"))) {
      if (g.r.egm != egm || g.meter_info_type != "G2S_onEOD") continue;
      eod = true;
      EXPECT_EQ(g.r.type, "meters.snapshot");
      EXPECT_EQ(boost::json::serialize(g.attrs.at("meters").as_object().at("G2S_currencyInAmt")),
                "13200000");
    }
    EXPECT_TRUE(eod) << egm << ": no end-of-day meters";
  }
  // The SAS machines lost nothing either (their re-reports after the kill are allowed extras).
  auto sas = wait_until([&] {
    auto ledger = f.floor().sim().ledger();
    return ledger && compare_ledger(*ledger, f.floor().received("analytics"),
                                    f.floor().address_to_egm()).missing == 0;
  }, 20s);
  EXPECT_TRUE(sas);
  auto cmp = compare_ledger(*f.floor().sim().ledger(), f.floor().received("analytics"),
                            f.floor().address_to_egm());
  EXPECT_EQ(cmp.missing, 0u) << cmp.detail;
  EXPECT_EQ(cmp.conflicting_duplicates, 0u);
  EXPECT_TRUE(f.floor().daemon().running());
}

// The daemon's g2s bus with tls_cert_file/tls_key_file/tls_ca_file: HTTPS both ways with
// client certificates, events still reach the consumers.
TEST(G2sE2E, MutualTlsBusDeliversThroughTheDaemon) {
  G2sFloor f(true);
  EXPECT_NE(f.floor().daemon_log().find("G2S host listening on 127.0.0.1:"), std::string::npos);
  EXPECT_NE(f.floor().daemon_log().find("(HTTPS, mutual TLS)"), std::string::npos)
      << f.floor().daemon_log();
  f.on_all("door open main\nbill 2000\nhandpay 125000");
  ASSERT_TRUE(wait_until([&] {
    if (!f.drained()) return false;
    for (const auto& route : kRoutes) {
      if (!check_g2s_ledger(f, route.first).empty()) return false;
    }
    return true;
  }, 30s)) << check_g2s_ledger(f, "analytics") << "\n" << f.sim().control("status", 0);
  for (const std::string egm : {"g1", "g2"}) {
    auto got = types_of(f, egm);
    for (const char* t : {"door.opened", "bill.stacked", "handpay.pending"}) {
      EXPECT_TRUE(got.count(t)) << egm << " never sent " << t;
    }
  }
  EXPECT_EQ(f.floor().daemon_log().find("TLS handshake from"), std::string::npos)
      << "no handshake was refused:\n" << f.floor().daemon_log();
}

}  // namespace
}  // namespace floorgate::testing
