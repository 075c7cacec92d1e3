#pragma once
// Integration-test support: the real floorgate-egm-sim as a child process, its control socket
// and ledger, a recording EventSink, and a comparison of the sink with the ledger.

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "floorgate/drivers/event.hpp"
#include "floorgate/drivers/sas/bus.hpp"
#include <boost/asio/executor_work_guard.hpp>
#include <gtest/gtest.h>

#include "money_check.hpp"
#include "test_process.hpp"

namespace floorgate::drivers::sas::testing {

namespace fs = std::filesystem;
using floorgate::testing::build_path;
using floorgate::testing::ChildProcess;
using floorgate::testing::TempDir;
using floorgate::testing::wait_until;

inline std::string sim_binary() {
  return build_path("firmware-host/egm-sim/floorgate-egm-sim");
}

// One ledger line of the simulator.
struct LedgerEntry {
  int address = 0;
  int code = 0;
  std::uint64_t seq = 0;
  bool acked = false;
  std::int64_t acked_at = 0;
  bool dropped = false;
};

// Field extraction from the simulator's flat JSON lines (no JSON library in drivers).
inline std::string json_field(const std::string& line, const std::string& key) {
  return floorgate::testing::flat_json_field(line, key);
}

// The simulator child process with its control socket.
class Sim {
 public:
  Sim(const TempDir& dir, std::vector<std::string> args) : dir_(dir) {
    control_ = (dir / "sim.sock").string();
    args.insert(args.begin(), sim_binary());
    args.push_back("--control");
    args.push_back(control_);
    log_ = (dir / "sim.log").string();
    proc_.start(args, log_, log_);
    ready_ = wait_until([this] {
      std::ifstream in(log_);
      std::string all((std::istreambuf_iterator<char>(in)), {});
      return all.find("ready") != std::string::npos;
    });
  }
  bool ready() const { return ready_; }
  std::string log() const {
    std::ifstream in(log_);
    return std::string((std::istreambuf_iterator<char>(in)), {});
  }

  // Sends one control command; returns the answer lines (ledger: until {"end":true}).
  std::vector<std::string> control(const std::string& cmd) {
    std::vector<std::string> out;
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", control_.c_str());
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd);
      return out;
    }
    std::string line = cmd + "\n";
    (void)!::write(fd, line.data(), line.size());
    bool multi = cmd == "ledger";
    std::string buf;
    char tmp[4096];
    for (;;) {
      auto n = ::read(fd, tmp, sizeof tmp);
      if (n <= 0) break;
      buf.append(tmp, static_cast<std::size_t>(n));
      std::size_t pos;
      bool done = false;
      while ((pos = buf.find('\n')) != std::string::npos) {
        std::string l = buf.substr(0, pos);
        buf.erase(0, pos + 1);
        out.push_back(l);
        if (!multi || l.find("\"end\"") != std::string::npos) done = true;
      }
      if (done) break;
    }
    ::close(fd);
    return out;
  }

  std::vector<LedgerEntry> ledger() {
    std::vector<LedgerEntry> out;
    for (const auto& l : control("ledger")) {
      if (l.find("\"seq\"") == std::string::npos) continue;
      LedgerEntry e;
      e.address = std::stoi(json_field(l, "address"));
      e.code = std::stoi(json_field(l, "code"), nullptr, 16);
      e.seq = std::stoull(json_field(l, "seq"));
      e.acked = json_field(l, "acked") == "true";
      std::string at = json_field(l, "acked_at");
      e.acked_at = (at.empty() || at == "null") ? 0 : std::stoll(at);
      e.dropped = json_field(l, "dropped") == "true";
      out.push_back(e);
    }
    return out;
  }

  void kill() { proc_.kill(SIGKILL); proc_.wait(); }

 private:
  const TempDir& dir_;
  ChildProcess proc_;
  std::string control_, log_;
  bool ready_ = false;
};

// Records every event and confirms it durable on the next loop turn.
class RecordingSink : public EventSink {
 public:
  explicit RecordingSink(boost::asio::io_context& io) : io_(io) {}
  void submit(Event ev, DurableHandler h) override {
    events.push_back(ev);
    if (hold) {
      held.push_back(std::move(h));
      return;
    }
    boost::asio::post(io_, [h = std::move(h), s = events.size()] { h({}, s); });
  }
  // Exception codes reported per address (EGM ids are "egm-<addr>"), in order.
  std::map<int, std::vector<int>> codes() const {
    std::map<int, std::vector<int>> out;
    for (const auto& e : events) {
      if (e.type == "meters.snapshot" || e.source.rfind("sas:0x", 0) != 0) continue;
      int addr = std::stoi(e.egm.substr(e.egm.find('-') + 1));
      out[addr].push_back(std::stoi(e.source.substr(6), nullptr, 16));
    }
    return out;
  }
  std::size_t count(const std::string& type) const {
    std::size_t n = 0;
    for (const auto& e : events) n += e.type == type;
    return n;
  }
  std::vector<Event> events;
  std::vector<DurableHandler> held;
  bool hold = false;

 private:
  boost::asio::io_context& io_;
};

inline EgmConfig egm_cfg(int addr) {
  EgmConfig e;
  e.id = "egm-" + std::to_string(addr);
  e.address = static_cast<std::uint8_t>(addr);
  return e;
}

// Acked ledger entries per address in the order the EGM reported them (acked_at, then seq).
inline std::map<int, std::vector<int>> acked_codes(const std::vector<LedgerEntry>& ledger) {
  std::map<int, std::vector<LedgerEntry>> by;
  for (const auto& e : ledger) {
    if (e.acked && !e.dropped) by[e.address].push_back(e);
  }
  std::map<int, std::vector<int>> out;
  for (auto& [addr, v] : by) {
    std::stable_sort(v.begin(), v.end(), [](const LedgerEntry& a, const LedgerEntry& b) {
      return a.acked_at < b.acked_at;
    });
    for (const auto& e : v) out[addr].push_back(e.code);
  }
  return out;
}

namespace asio = boost::asio;

struct Rig {
  asio::io_context io{1};
  asio::executor_work_guard<asio::io_context::executor_type> guard{io.get_executor()};
  RecordingSink sink{io};
  std::vector<std::unique_ptr<Bus>> buses;

  void add(BusConfig::Link link, std::string port, std::vector<int> addrs,
           const std::function<void(BusConfig&)>& tweak = {}) {
    BusConfig cfg;
    cfg.link = link;
    cfg.port = std::move(port);
    for (int a : addrs) cfg.egms.push_back(egm_cfg(a));
    if (tweak) tweak(cfg);
    buses.push_back(std::make_unique<Bus>(io.get_executor(), cfg, sink));
  }
  void start() {
    for (auto& b : buses) b->start();
  }
  void stop() {
    for (auto& b : buses) b->stop();
    io.poll();
  }
  void run_for(std::chrono::milliseconds d) { io.run_for(d); }
  bool run_until(const std::function<bool()>& pred, std::chrono::milliseconds timeout) {
    auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      if (pred()) return true;
      io.run_for(std::chrono::milliseconds(100));
    }
    return pred();
  }
  std::vector<EgmStatus> status() const {
    std::vector<EgmStatus> out;
    for (const auto& b : buses) {
      for (auto& s : b->status()) out.push_back(s);
    }
    return out;
  }
  bool all_up() const {
    for (const auto& s : status()) {
      if (!s.link_up || s.serial.empty()) return false;
    }
    return true;
  }
};

inline bool all_acked(Sim& sim) {
  for (const auto& e : sim.ledger()) {
    if (!e.acked && !e.dropped) return false;
  }
  return true;
}

// The sink saw exactly what the ledger shows as implied-ACKed, per EGM and in report order;
// at most one more (durable but not yet acknowledged when polling stopped).
inline void expect_sink_matches_ledger(const RecordingSink& sink, const std::vector<LedgerEntry>& ledger) {
  auto sink_codes = sink.codes();
  auto acked = acked_codes(ledger);
  for (const auto& [addr, want] : acked) {
    auto got = sink_codes[addr];
    ASSERT_GE(got.size(), want.size()) << "address " << addr << " lost events";
    EXPECT_LE(got.size(), want.size() + 1) << "address " << addr << " has duplicates";
    std::vector<int> prefix(got.begin(), got.begin() + static_cast<std::ptrdiff_t>(want.size()));
    EXPECT_EQ(prefix, want) << "address " << addr;
  }
  for (const auto& [addr, got] : sink_codes) {
    if (!acked.count(addr)) {
      EXPECT_LE(got.size(), 1u) << "address " << addr;
    }
  }
}

inline const floorgate::drivers::Event* find_event(const RecordingSink& s, const std::string& type) {
  for (const auto& e : s.events) {
    if (e.type == type) return &e;
  }
  return nullptr;
}

}  // namespace floorgate::drivers::sas::testing
