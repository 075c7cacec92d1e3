#pragma once
// A whole floor on one machine for end-to-end and fault tests: a real Mosquitto broker, the
// EGM simulator (a pty bus with machines 1-3 and a TCP bus with machines 5-6), the floorgate
// daemon with a test configuration, and three acknowledging consumers (fg-test-consumer).

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <fstream>
#include <functional>
#include <map>
#include <atomic>
#include <memory>
#include <random>
#include <thread>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "mosquitto_broker.hpp"
#include "sim_control.hpp"
#include "test_process.hpp"

namespace floorgate::testing {

// One event line written by fg-test-consumer.
struct Received {
  std::uint64_t seq = 0;
  std::string egm, type, cls, code;  // code: attrs.code ("0x11") for exception events
  std::uint64_t egm_seq = 0;
  bool replay = false;
  std::string payload;               // the message as received (duplicate comparison)
  std::int64_t rx_ms = 0;            // when the consumer got it (its wall clock)
  std::int64_t ts_gw_ms = 0;         // when the gateway stored it
};

// The event lines of an fg-test-consumer output file; with `topic_prefix`, only messages on
// topics that start with it (one gateway's stream when the consumer follows several).
inline std::vector<Received> parse_received(const std::string& text,
                                            std::string_view topic_prefix = {}) {
  std::vector<Received> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    boost::system::error_code ec;
    auto v = boost::json::parse(line, ec);
    if (ec || !v.is_object()) continue;
    if (!topic_prefix.empty()) {
      const auto* t = v.as_object().if_contains("topic");
      if (!t || !t->is_string() || !t->as_string().starts_with(topic_prefix)) continue;
    }
    auto& m = v.as_object().at("msg").as_object();
    Received r;
    r.seq = m.at("seq").to_number<std::uint64_t>();
    r.egm = m.at("egm").as_string().c_str();
    r.type = m.at("type").as_string().c_str();
    r.cls = m.at("class").as_string().c_str();
    r.egm_seq = m.at("egm_seq").to_number<std::uint64_t>();
    r.replay = m.contains("replay") && m.at("replay").is_bool() && m.at("replay").as_bool();
    if (m.contains("attrs") && m.at("attrs").is_object() &&
        m.at("attrs").as_object().contains("code") &&
        m.at("attrs").as_object().at("code").is_string()) {
      r.code = m.at("attrs").as_object().at("code").as_string().c_str();
    }
    if (const auto* rx = v.as_object().if_contains("rx_ms"); rx && rx->is_number()) {
      r.rx_ms = rx->to_number<std::int64_t>();
    }
    if (const auto* ts = m.if_contains("ts_gw_ms"); ts && ts->is_number()) {
      r.ts_gw_ms = ts->to_number<std::int64_t>();
    }
    auto copy = m;
    copy.erase("replay");
    r.payload = boost::json::serialize(copy);
    out.push_back(std::move(r));
  }
  return out;
}

struct FloorOptions {
  double rate = 0;            // simulator random traffic, events/s per machine
  bool web = false;           // serve the web page (on a free port)
  std::string extra_sim_args;
  std::string extra_buses;    // more `buses:` list items (YAML, 2-space indented), e.g. g2s
  std::string egm_keys;       // extra keys in every SAS EGM's flow map, e.g. ", meter_period_s: 10"
  // Consumers the test runs itself (e.g. floorgate-consume): not started as fg-test-consumer;
  // before_daemon runs once the broker is up, before the daemon starts.
  std::set<std::string> own_consumers;
  std::function<void(class Floor&)> before_daemon;
};

class Floor {
 public:
  using Options = FloorOptions;
  Floor() = default;
  explicit Floor(Options o) : opt_(std::move(o)) {}
  ~Floor() { stop_all(); }

  const TempDir& dir() const { return dir_; }
  MosquittoBroker& broker() { return *broker_; }
  SimControl& sim() { return *sim_ctl_; }
  std::string root() const { return "floor/v1/test/e2e"; }
  std::string config_path() const { return (dir_ / "floorgate.yaml").string(); }
  int web_port() const { return web_port_; }
  std::map<int, std::string> address_to_egm() const {
    return {{1, "e1"}, {2, "e2"}, {3, "e3"}, {5, "e5"}, {6, "e6"}};
  }

  // The broker runs as the product ships it: no anonymous clients, one account per party
  // with the ACL `floorgate --mqtt-acl` writes for this configuration.
  void start_all() {
    broker_port_ = free_port();
    start_sim();
    write_config(config_yaml());
    make_broker_accounts();
    broker_ = std::make_unique<MosquittoBroker>(read(mqtt_dir() / "mosquitto-auth.conf"),
                                                broker_port_);
    for (const auto& c : {"slot-mgmt", "maintenance", "analytics"})
      if (!opt_.own_consumers.count(c)) start_consumer(c);
    // Subscribed before the gateway publishes: a consumer that came in late would see a later
    // seq first and its cumulative ack would cover what it never got (on a loaded machine).
    for (const auto& c : {"slot-mgmt", "maintenance", "analytics"}) {
      if (opt_.own_consumers.count(c)) continue;
      if (!wait_until([&] { return read(dir_ / (std::string(c) + ".err")).find("subscribed") !=
                                   std::string::npos; },
                      std::chrono::seconds(30))) {
        throw std::runtime_error(std::string("consumer ") + c + " did not subscribe");
      }
    }
    if (opt_.before_daemon) opt_.before_daemon(*this);
    start_daemon();
    // Traffic starts once the daemon runs: begun with the simulator, a machine's 25-deep
    // queue could overflow during a slow start-up (broker accounts, sanitizer start) before
    // its first poll, and the machine would drop an event no gateway ever saw.
    if (opt_.rate > 0 && !sim_ctl_->ok("rate " + std::to_string(opt_.rate))) {
      throw std::runtime_error("simulator refused its traffic rate");
    }
  }

  // Broker accounts (passwords in mqtt_dir()/<user>.password).
  std::filesystem::path mqtt_dir() const { return dir_ / "mqtt"; }
  std::string password_of(const std::string& user) const {
    auto pw = read(mqtt_dir() / (user + ".password"));
    while (!pw.empty() && (pw.back() == '\n' || pw.back() == '\r')) pw.pop_back();
    return pw;
  }
  int broker_port() const { return broker_port_; }

  // The next <root>/health message as the monitor account reads it (empty when none came).
  boost::json::object latest_health() const {
    const auto out = dir_ / "health-one.json";
    std::error_code ec_rm;
    std::filesystem::remove(out, ec_rm);  // the output file is appended to: one message per call
    ChildProcess sub({"mosquitto_sub", "-h", "127.0.0.1", "-p", std::to_string(broker_port_),
                      "-u", "monitor", "-P", password_of("monitor"), "-t", root() + "/health",
                      "-C", "1", "-W", "5"},
                     out.string(), "");
    sub.wait();
    boost::system::error_code ec;
    auto v = boost::json::parse(read(out), ec);
    return !ec && v.is_object() ? v.as_object() : boost::json::object{};
  }

  void make_broker_accounts() {
    // The gateway's own password comes first (its configuration names the file); the command
    // makes the consumers' and the monitor's.
    std::filesystem::create_directories(mqtt_dir());
    std::ofstream(mqtt_dir() / "e2e-gw.password") << "gw-" << std::random_device{}() << "\n";
    ChildProcess acl({build_path("firmware-host/floorgate/floorgate"), "--mqtt-acl", config_path(),
                      "--out", mqtt_dir().string()},
                     (dir_ / "mqtt-acl.log").string(), (dir_ / "mqtt-acl.log").string());
    if (acl.wait() != 0) {
      throw std::runtime_error("floorgate --mqtt-acl failed: " + read(dir_ / "mqtt-acl.log"));
    }
  }

  void start_sim() {
    tcp_port_ = free_port();
    std::vector<std::string> args = {build_path("firmware-host/egm-sim/floorgate-egm-sim"),
                                     "--pty", (dir_ / "bus0").string(), "--egm", "1", "--egm", "2",
                                     "--egm", "3", "--tcp", "127.0.0.1:" + std::to_string(tcp_port_),
                                     "--egm", "5", "--egm", "6", "--control",
                                     (dir_ / "sim.sock").string(), "--seed", "7"};
    std::istringstream extra(opt_.extra_sim_args);
    for (std::string w; extra >> w;) args.push_back(w);
    sim_ = std::make_unique<ChildProcess>(args, (dir_ / "sim.log").string(),
                                          (dir_ / "sim.log").string());
    sim_ctl_ = std::make_unique<SimControl>((dir_ / "sim.sock").string());
    if (!wait_until([&] { return sim_ctl_->ok("status"); })) {
      throw std::runtime_error("simulator did not start: " + read(dir_ / "sim.log"));
    }
  }

  std::string config_yaml(const std::string& extra_bus_egms = {}) {
    web_port_ = web_port_ ? web_port_ : free_port();
    std::ostringstream y;
    y << "gateway: {id: e2e, site: test}\n"
      << "logging: {level: info}\n"
      << "store: {path: " << (dir_ / "floorgate.db").string() << "}\n"
      << "mqtt: {host: 127.0.0.1, port: " << broker_port_ << ", health_period_s: 1, username: e2e-gw, "
      << "password_file: " << (mqtt_dir() / "e2e-gw.password").string() << "}\n"
      << "consumers:\n"
      << "  - {name: slot-mgmt, route: {classes: [financial, security]}, ack_timeout_s: 3}\n"
      << "  - {name: maintenance, route: {classes: [fault, security]}, ack_timeout_s: 3}\n"
      << "  - {name: analytics, required: false, ack_timeout_s: 3}\n"
      << "buses:\n"
      << "  - id: bus0\n    driver: sas-serial\n    link: pty\n    port: " << (dir_ / "bus0").string()
      << "\n    egms:\n"
      << "      - {id: e1, address: 1, poll_period_ms: 40" << opt_.egm_keys << "}\n"
      << "      - {id: e2, address: 2, poll_period_ms: 40" << opt_.egm_keys << "}\n"
      << "      - {id: e3, address: 3, poll_period_ms: 40" << opt_.egm_keys << "}\n"
      << extra_bus_egms
      << "  - id: bus1\n    driver: sas-tcp\n    endpoint: 127.0.0.1:" << tcp_port_ << "\n    egms:\n"
      << "      - {id: e5, address: 5, poll_period_ms: 40" << opt_.egm_keys << "}\n"
      << "      - {id: e6, address: 6, poll_period_ms: 40" << opt_.egm_keys << "}\n"
      << opt_.extra_buses
      << "web:\n  enabled: " << (opt_.web ? "true" : "false") << "\n  port: " << web_port_ << "\n";
    if (opt_.web) {
      // Test accounts, password "floorgate" (the demo's hash): a technician and a viewer.
      const char* hash =
          "\"pbkdf2-sha256$100000$Zmxvb3JnYXRlLWRlbW8tcw==$PRDEgClxwstsCKPwC+ETBp5CNBnNqVT3rVFrUUZo41I=\"";
      y << "  users:\n    - {name: tech, role: technician, password_hash: " << hash << "}\n"
        << "    - {name: view, role: viewer, password_hash: " << hash << "}\n";
    }
    return y.str();
  }

  void write_config(const std::string& yaml) {
    std::ofstream(config_path()) << yaml;
  }

  void start_consumer(const std::string& name, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> args{build_path("tests/tools/fg-test-consumer"), "--port",
                                  std::to_string(broker_->port()), "--root", root(), "--consumer",
                                  name, "--out", (dir_ / (name + ".jsonl")).string(),
                                  "--username", name, "--password-file",
                                  (mqtt_dir() / (name + ".password")).string()};
    args.insert(args.end(), extra.begin(), extra.end());
    consumers_[name] = std::make_unique<ChildProcess>(args, "", (dir_ / (name + ".err")).string());
  }

  // Takes a consumer offline (SIGTERM, its output file is kept; start_consumer brings it back).
  void stop_consumer(const std::string& name, int sig = SIGTERM) {
    auto it = consumers_.find(name);
    if (it == consumers_.end()) return;
    it->second->kill(sig);
    it->second->wait();
    consumers_.erase(it);
  }

  void start_daemon() {
    daemon_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{build_path("firmware-host/floorgate/floorgate"), "--config",
                                 config_path()},
        (dir_ / "floorgate.log").string(), (dir_ / "floorgate.log").string());
    if (!wait_until([&] { return ready_count() > readies_; }, std::chrono::seconds(20))) {
      throw std::runtime_error("floorgate did not become ready: " + read(dir_ / "floorgate.log"));
    }
    readies_ = ready_count();
  }
  ChildProcess& daemon() { return *daemon_; }
  void kill_daemon(int sig = SIGKILL) {
    daemon_->kill(sig);
    daemon_->wait();
  }

  // Every event line a consumer wrote so far.
  std::vector<Received> received(const std::string& consumer) const {
    return parse_received(read(dir_ / (consumer + ".jsonl")));
  }

  void stop_all() {
    stop_traffic();
    if (daemon_) kill_daemon(SIGTERM);
    for (auto& [n, c] : consumers_) c->kill(SIGTERM), c->wait();
    if (sim_) sim_->kill(SIGTERM), sim_->wait();
    consumers_.clear();
    daemon_.reset();
    sim_.reset();
  }

  // Background traffic through the control socket (a finite, stoppable workload): one
  // random floor event roughly every `period` across the machines, until stop_traffic().
  void start_traffic(std::chrono::milliseconds period) {
    traffic_on_ = true;
    traffic_ = std::thread([this, period] {
      SimControl ctl((dir_ / "sim.sock").string());
      const char* kinds[] = {"door %d open", "door %d close", "bill %d 20", "game %d 100 40",
                             "inject %d 28", "bill %d 5"};
      const int addrs[] = {1, 2, 3, 5, 6};
      unsigned n = 0;
      while (traffic_on_) {
        char cmd[64];
        std::snprintf(cmd, sizeof cmd, kinds[n % 6], addrs[(n / 6 + n) % 5]);
        ctl.command(cmd);
        ++n;
        std::this_thread::sleep_for(period);
      }
    });
  }
  void stop_traffic() {
    traffic_on_ = false;
    if (traffic_.joinable()) traffic_.join();
  }

  static std::string read(const std::filesystem::path& p) {
    std::ifstream in(p);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  std::string daemon_log() const { return read(dir_ / "floorgate.log"); }

 private:
  std::size_t ready_count() const {
    auto log = read(dir_ / "floorgate.log");
    std::size_t n = 0;
    for (auto p = log.find("floorgate ready"); p != std::string::npos;
         p = log.find("floorgate ready", p + 1)) {
      ++n;
    }
    return n;
  }

  Options opt_;
  TempDir dir_;
  std::unique_ptr<MosquittoBroker> broker_;
  int broker_port_ = 0;
  std::unique_ptr<ChildProcess> sim_;
  std::unique_ptr<SimControl> sim_ctl_;
  std::unique_ptr<ChildProcess> daemon_;
  std::map<std::string, std::unique_ptr<ChildProcess>> consumers_;
  int tcp_port_ = 0;
  int web_port_ = 0;
  std::size_t readies_ = 0;
  std::atomic<bool> traffic_on_{false};
  std::thread traffic_;
};

// Waits until `consumer` has received `more` events beyond what it has now: the floor is
// flowing end to end (the state a scenario starts its fault from, or waits for after one).
inline bool wait_flowing(const Floor& floor, const std::string& consumer = "analytics",
                         std::size_t more = 5,
                         std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
  const std::size_t base = floor.received(consumer).size();
  return wait_until([&] { return floor.received(consumer).size() >= base + more; }, timeout,
                    std::chrono::milliseconds(200));
}

// Waits until the gateway has acknowledged (implied ACK after its commit) `n` more of the
// machines' exceptions: it is up, polling and committing.
inline bool wait_acked(Floor& floor, std::size_t n,
                       std::chrono::milliseconds timeout = std::chrono::seconds(120)) {
  auto acked = [&] {
    auto l = floor.sim().ledger();
    std::size_t k = 0;
    if (l) for (const auto& e : *l) k += e.acked ? 1 : 0;
    return k;
  };
  const std::size_t base = acked();
  return wait_until([&] { return acked() >= base + n; }, timeout, std::chrono::milliseconds(100));
}

// Waits until the machines have raised `n` more exceptions (the simulator's ledger grew).
inline bool wait_raised(Floor& floor, std::size_t n,
                        std::chrono::milliseconds timeout = std::chrono::seconds(120)) {
  auto size = [&] {
    auto l = floor.sim().ledger();
    return l ? l->size() : std::size_t{0};
  };
  const std::size_t base = size();
  return wait_until([&] { return size() >= base + n; }, timeout, std::chrono::milliseconds(100));
}

// Waits until every exception the machines raised so far was taken by the gateway (implied
// ACK) or dropped by the machine. Scripted scenarios call it between commands instead of a
// fixed spacing: SAS hands priority exceptions out ahead of older ones, and a ledger compared
// in raise order wants each command's exceptions to queue behind nothing.
inline bool wait_handed_over(SimControl& sim,
                             std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
  return wait_until(
      [&] {
        auto l = sim.ledger();
        if (!l) return false;
        for (const auto& e : *l) {
          if (!e.acked && !e.dropped) return false;
        }
        return true;
      },
      timeout, std::chrono::milliseconds(10));
}

}  // namespace floorgate::testing
