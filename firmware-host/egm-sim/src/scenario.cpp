// Scenario loader. yaml-cpp throws on syntax errors; everything is caught here and turned into
// "file:line:col: sentence" (start-up only, never on the event loop).
#include "scenario.hpp"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <set>

#include "amounts.hpp"

namespace floorgate::sim {
namespace {

// A semantic error at a node.
struct ScenarioError {
  YAML::Mark mark;
  std::string message;
};

[[noreturn]] void fail(const YAML::Node& n, const std::string& msg) {
  throw ScenarioError{n.Mark(), msg};
}

std::string scalar(const YAML::Node& n, const std::string& what) {
  if (!n.IsScalar()) fail(n, what + " must be a scalar");
  return n.Scalar();
}

std::uint64_t number(const YAML::Node& n, const std::string& what, std::uint64_t max) {
  std::string s = scalar(n, what);
  const char* b = s.data();
  const char* e = s.data() + s.size();
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    b += 2;
    base = 16;
  }
  std::uint64_t v = 0;
  auto r = std::from_chars(b, e, v, base);
  if (b == e || r.ec != std::errc{} || r.ptr != e || v > max) {
    fail(n, what + " must be a number up to " + std::to_string(max));
  }
  return v;
}

// "2s", "2.5s", "+3s", "1500ms", "1m", or a bare number of seconds.
std::int64_t duration_ms(const YAML::Node& n) {
  std::string s = scalar(n, "at");
  if (!s.empty() && s[0] == '+') s.erase(0, 1);
  double mult = 1000;
  if (s.size() > 2 && s.compare(s.size() - 2, 2, "ms") == 0) {
    mult = 1;
    s.resize(s.size() - 2);
  } else if (!s.empty() && s.back() == 's') {
    s.pop_back();
  } else if (!s.empty() && s.back() == 'm') {
    mult = 60000;
    s.pop_back();
  }
  try {
    std::size_t used = 0;
    double v = std::stod(s, &used);
    if (used != s.size() || v < 0) throw std::invalid_argument("x");
    return static_cast<std::int64_t>(v * mult);
  } catch (const std::exception&) {
    fail(n, "at must be a time like 2s, 1500ms or +3s");
  }
}

const std::map<std::string, std::uint8_t>& meter_names() {
  static const std::map<std::string, std::uint8_t> names = {
      {"coin_in", 0x00},        {"coin_out", 0x01},      {"jackpot", 0x02},
      {"cancelled_credits", 0x04}, {"games_played", 0x05}, {"games_won", 0x06},
      {"games_lost", 0x07},     {"bill_credits", 0x0B},  {"current_credits", 0x0C},
      {"total_won", 0x22},      {"total_hand_paid", 0x23}, {"total_drop", 0x24}};
  return names;
}

MachineConfig machine(const YAML::Node& n, const MachineConfig& proto) {
  if (!n.IsMap()) fail(n, "a machine must be a map with at least 'address'");
  MachineConfig m = proto;
  if (!n["address"]) fail(n, "machine without 'address'");
  for (const auto& kv : n) {
    std::string key = kv.first.Scalar();
    const YAML::Node& v = kv.second;
    if (key == "address") {
      m.address = static_cast<std::uint8_t>(number(v, "address", 127));
      if (m.address == 0) fail(v, "address must be 1..127");
    } else if (key == "denomination") {
      m.denomination = static_cast<std::uint8_t>(number(v, "denomination", 0x1A));
      if (m.denomination == 0) fail(v, "denomination must be a Table C-4 code 1..0x1A");
    } else if (key == "serial") {
      m.serial = scalar(v, "serial");
      if (m.serial.size() > 40) fail(v, "serial is at most 40 characters");
    } else if (key == "version") {
      m.version = scalar(v, "version");
      if (m.version.size() != 3) fail(v, "version must be 3 characters, e.g. \"602\"");
    } else if (key == "queue") {
      m.queue_capacity = number(v, "queue", 10000);
      if (m.queue_capacity == 0) fail(v, "queue must be at least 1");
    } else if (key == "overflow") {
      std::string s = scalar(v, "overflow");
      if (s != "oldest" && s != "newest") fail(v, "overflow must be oldest or newest");
      m.overflow = s == "oldest" ? OverflowPolicy::kDropOldest : OverflowPolicy::kDropNewest;
    } else if (key == "rte") {
      if (!v.IsScalar() || (v.Scalar() != "true" && v.Scalar() != "false")) {
        fail(v, "rte must be true or false");
      }
      m.rte = v.Scalar() == "true";
    } else if (key == "meters") {
      if (!v.IsMap()) fail(v, "meters must be a map of name or hex code to value");
      for (const auto& mv : v) {
        std::string name = mv.first.Scalar();
        auto it = meter_names().find(name);
        std::optional<std::uint8_t> code =
            it != meter_names().end() ? std::optional<std::uint8_t>(it->second)
                                      : parse_hex_byte(name);
        if (!code) fail(mv.first, "unknown meter '" + name + "' (a name or a 2F hex code)");
        m.meters[*code] = number(mv.second, "meter value", 9'999'999'999ULL);
      }
    } else if (key == "lacks") {
      if (!v.IsSequence()) fail(v, "lacks must be a list of long polls, e.g. [0x6F, 0xAF]");
      for (const auto& lp : v) {
        m.lacks.insert(static_cast<std::uint8_t>(number(lp, "long poll", 0xFF)));
      }
    } else {
      fail(kv.first, "unknown machine key '" + key + "'");
    }
  }
  return m;
}

BusConfig bus(const YAML::Node& n, const MachineConfig& proto, bool sync_default) {
  if (!n.IsMap()) fail(n, "a bus must be a map with 'pty' or 'tcp' and 'machines'");
  BusConfig b;
  b.sync_required = sync_default;
  b.kind.clear();
  for (const auto& kv : n) {
    std::string key = kv.first.Scalar();
    if (key == "pty" || key == "tcp") {
      if (!b.kind.empty()) fail(kv.first, "a bus has exactly one of 'pty' or 'tcp'");
      b.kind = key;
      b.target = scalar(kv.second, key);
    } else if (key == "sync_required" || key == "chirp") {
      bool v = kv.second.IsScalar() && kv.second.Scalar() == "true";
      if (!kv.second.IsScalar() || (!v && kv.second.Scalar() != "false")) {
        fail(kv.second, key + " must be true or false");
      }
      (key == "chirp" ? b.chirp : b.sync_required) = v;
    } else if (key == "machines") {
      if (!kv.second.IsSequence()) fail(kv.second, "machines must be a list");
      std::set<int> seen;
      for (const auto& m : kv.second) {
        b.machines.push_back(machine(m, proto));
        if (!seen.insert(b.machines.back().address).second) fail(m, "duplicate address");
      }
    } else {
      fail(kv.first, "unknown bus key '" + key + "'");
    }
  }
  if (b.kind.empty()) fail(n, "bus needs 'pty: PATH' or 'tcp: HOST:PORT'");
  if (b.machines.empty()) fail(n, "bus needs at least one machine");
  return b;
}

void load(const YAML::Node& root, Options& opt) {
  if (!root.IsMap()) fail(root, "a scenario is a map with 'buses' (and 'timeline', 'rate')");
  MachineConfig proto;
  bool sync_default = false;
  if (root["sync_required"]) sync_default = root["sync_required"].as<std::string>() == "true";
  for (const auto& kv : root) {
    std::string key = kv.first.Scalar();
    const YAML::Node& v = kv.second;
    if (key == "buses") {
      if (!v.IsSequence()) fail(v, "buses must be a list");
      for (const auto& b : v) opt.sim.buses.push_back(bus(b, proto, sync_default));
    } else if (key == "timeline") {
      if (!v.IsSequence()) fail(v, "timeline must be a list of {at, do}");
      for (const auto& e : v) {
        if (!e.IsMap() || !e["at"] || !e["do"]) fail(e, "timeline entry needs 'at' and 'do'");
        opt.sim.timeline.push_back(TimelineEntry{duration_ms(e["at"]), scalar(e["do"], "do")});
      }
    } else if (key == "rate") {
      double r = 0;
      try {
        r = v.as<double>();
      } catch (const YAML::Exception&) {
        fail(v, "rate must be events/s per machine");
      }
      if (r < 0 || r > 1000) fail(v, "rate must be 0..1000 events/s per machine");
      if (!opt.rate_set) opt.sim.rate = r;
    } else if (key == "seed") {
      std::uint64_t s = number(v, "seed", ~0ULL >> 12);
      if (!opt.seed_set) opt.sim.seed = s;
    } else if (key == "money") {
      if (!v.IsScalar() || (v.Scalar() != "true" && v.Scalar() != "false")) {
        fail(v, "money must be true or false");
      }
      opt.sim.money = opt.sim.money || v.Scalar() == "true";
    } else if (key != "sync_required") {
      fail(kv.first, "unknown key '" + key + "'");
    }
  }
}

}  // namespace

bool load_scenario(const std::string& path, Options& opt, std::string& error) {
  auto where = [&path](const YAML::Mark& m) {
    return path + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1) + ": ";
  };
  try {
    load(YAML::LoadFile(path), opt);
  } catch (const ScenarioError& e) {
    error = where(e.mark) + e.message;
    return false;
  } catch (const YAML::BadFile&) {
    error = path + ":1:1: cannot read the file";
    return false;
  } catch (const YAML::Exception& e) {
    error = where(e.mark) + e.msg;
    return false;
  }
  return true;
}

bool validate_config(const SimConfig& cfg, std::string& error) {
  if (cfg.buses.empty()) {
    error = "nothing to simulate: give --pty PATH or --tcp HOST:PORT (or --scenario FILE)";
    return false;
  }
  for (const BusConfig& b : cfg.buses) {
    if (b.target.empty()) {
      error = "bus without a " + b.kind + " target";
      return false;
    }
    std::set<int> seen;
    for (const MachineConfig& m : b.machines) {
      if (!seen.insert(m.address).second && !cfg.shared_addresses) {
        error = "address " + std::to_string(m.address) + " appears twice on " + b.target +
                " (--shared-address to simulate that wiring fault)";
        return false;
      }
    }
  }
  return true;
}

}  // namespace floorgate::sim
