#pragma once
// Shared pieces of the fault suite: a health-topic recorder (mosquitto_sub on <root>/health),
// the settle-and-compare step every case ends with (the simulator has no command to stop its
// random traffic, so the comparison works on ledger snapshots while traffic runs), and the short/long duration switch
// (FLOORGATE_FAULT_LONG=1 runs the full outage durations; the default keeps CI short).

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "floor_fixture.hpp"
#include "ledger_check.hpp"

namespace floorgate::testing {

// True when FLOORGATE_FAULT_LONG=1: full durations from the issue (minutes per case).
inline bool fault_long() {
  const char* v = std::getenv("FLOORGATE_FAULT_LONG");
  return v && std::string(v) == "1";
}

// Picks the short (CI) or the long (FLOORGATE_FAULT_LONG=1) duration.
inline std::chrono::seconds fault_duration(std::chrono::seconds short_d,
                                           std::chrono::seconds long_d) {
  return fault_long() ? long_d : short_d;
}

// Holds a fault until the machines have raised `n` more exceptions (8x as many with
// FLOORGATE_FAULT_LONG=1): the events that must survive it. The fault's length is a count of
// what happened during it, not a stretch of wall time.
inline bool hold_fault_for_events(Floor& floor, std::size_t n,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(300)) {
  return wait_raised(floor, fault_long() ? n * 8 : n, timeout);
}

// Records every message on <root>/health into a file (one JSON object per line) with the
// mosquitto_sub client; restart() after a broker restart if the client gave up.
class HealthWatch {
 public:
  HealthWatch(const Floor& floor, int port) : floor_(floor), port_(port) { start(); }

  void start() {
    proc_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{"mosquitto_sub", "-h", "127.0.0.1", "-p", std::to_string(port_),
                                 "-u", "monitor", "-P", floor_.password_of("monitor"),
                                 "-t", floor_.root() + "/health", "-q", "0"},
        path(), "");
  }
  // Starts a new client unless the current one is still running.
  void ensure_running() {
    if (!proc_ || !proc_->running()) start();
  }
  std::string path() const { return (floor_.dir() / "health.jsonl").string(); }

  // Every health message received so far, parsed.
  std::vector<boost::json::object> messages() const {
    std::vector<boost::json::object> out;
    std::istringstream in(Floor::read(path()));
    for (std::string line; std::getline(in, line);) {
      boost::system::error_code ec;
      auto v = boost::json::parse(line, ec);
      if (!ec && v.is_object()) out.push_back(v.as_object());
    }
    return out;
  }

  // Waits until some health message satisfies pred; returns it.
  template <class Pred>
  std::optional<boost::json::object> wait_for(Pred pred,
                                              std::chrono::seconds timeout = std::chrono::seconds(30)) {
    std::optional<boost::json::object> hit;
    wait_until(
        [&] {
          for (auto& m : messages()) {
            if (pred(m)) {
              hit = m;
              return true;
            }
          }
          return false;
        },
        timeout, std::chrono::milliseconds(200));  // re-reading the health file is not free
    return hit;
  }

 private:
  const Floor& floor_;
  int port_;
  std::unique_ptr<ChildProcess> proc_;
};

// Reads a number from a JSON object path like {"broker","connects"}; 0 when absent.
inline std::int64_t json_int(const boost::json::object& o, std::initializer_list<const char*> path) {
  const boost::json::value* v = nullptr;
  const boost::json::object* cur = &o;
  for (const char* k : path) {
    if (!cur || !cur->contains(k)) return 0;
    v = &cur->at(k);
    cur = v->is_object() ? &v->as_object() : nullptr;
  }
  if (!v) return 0;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<std::int64_t>(v->as_uint64());
  if (v->is_double()) return static_cast<std::int64_t>(v->as_double());
  if (v->is_bool()) return v->as_bool() ? 1 : 0;
  return 0;
}

// The consumer entry named `name` in a health message, if present.
inline std::optional<boost::json::object> health_consumer(const boost::json::object& h,
                                                          const std::string& name) {
  if (!h.contains("consumers") || !h.at("consumers").is_array()) return std::nullopt;
  for (const auto& c : h.at("consumers").as_array()) {
    if (c.is_object() && c.as_object().contains("name") &&
        c.as_object().at("name").as_string() == name) {
      return c.as_object();
    }
  }
  return std::nullopt;
}

// One event line of fg-test-consumer's output, with the fields the fault cases look at.
struct Got {
  std::uint64_t epoch = 0, seq = 0;
  std::string egm, type, cls, code, payload;
  std::int64_t ts_gw_ms = 0, rx_ms = 0;
};

// Every event line `consumer` wrote so far.
inline std::vector<Got> read_got(const Floor& floor, const std::string& consumer) {
  std::vector<Got> out;
  std::istringstream in(Floor::read(floor.dir() / (consumer + ".jsonl")));
  for (std::string line; std::getline(in, line);) {
    boost::system::error_code ec;
    auto v = boost::json::parse(line, ec);
    if (ec || !v.is_object() || !v.as_object().contains("msg")) continue;
    auto m = v.as_object().at("msg").as_object();
    auto str = [&](const char* k) {
      return m.contains(k) && m.at(k).is_string() ? std::string(m.at(k).as_string().c_str())
                                                  : std::string();
    };
    Got g;
    g.epoch = static_cast<std::uint64_t>(json_int(m, {"epoch"}));
    g.seq = static_cast<std::uint64_t>(json_int(m, {"seq"}));
    g.egm = str("egm");
    g.type = str("type");
    g.cls = str("class");
    g.ts_gw_ms = json_int(m, {"ts_gw_ms"});
    g.rx_ms = json_int(v.as_object(), {"rx_ms"});
    if (m.contains("attrs") && m.at("attrs").is_object() &&
        m.at("attrs").as_object().contains("code") &&
        m.at("attrs").as_object().at("code").is_string()) {
      g.code = m.at("attrs").as_object().at("code").as_string().c_str();
    }
    m.erase("replay");
    g.payload = boost::json::serialize(m);
    out.push_back(std::move(g));
  }
  return out;
}

// Ledger vs received while traffic may still run: for every EGM and exception code, the acked
// (not dropped) ledger entries must be matched by as many delivered events with that code.
// Counted per code, not in ledger order: a SAS EGM may report an exception (0x70 overflow,
// priority codes) in another order than it raised them. Delivered events beyond the ledger
// count are extras (SAS re-reports after a crash, or newer traffic than the snapshot).
inline LedgerComparison compare_live(const std::vector<LedgerEntry>& ledger,
                                     const std::vector<Got>& got,
                                     const std::map<int, std::string>& egm_of_address) {
  LedgerComparison out;
  std::map<std::pair<std::uint64_t, std::uint64_t>, const Got*> by_id;
  for (const auto& g : got) {
    auto [it, fresh] = by_id.emplace(std::make_pair(g.epoch, g.seq), &g);
    if (!fresh && it->second->payload != g.payload) ++out.conflicting_duplicates;
  }
  std::ostringstream detail;
  for (const auto& [address, egm] : egm_of_address) {
    std::map<std::string, std::int64_t> balance;  // delivered - expected, per code
    std::size_t expected = 0;
    for (const auto& e : ledger) {
      if (e.address == address && e.acked && !e.dropped) {
        --balance[code_hex(e.code)];
        ++expected;
      }
    }
    for (const auto& [id, g] : by_id) {
      if (g->egm == egm && !g->code.empty()) ++balance[g->code];
    }
    out.acked += expected;
    for (const auto& [code, b] : balance) {
      if (b < 0) {
        out.missing += static_cast<std::size_t>(-b);
        detail << egm << ": " << -b << " x " << code << " missing; ";
      }
    }
  }
  out.detail = detail.str();
  return out;
}

// Extras (re-reports) are only meaningful once traffic stopped; with traffic running the
// snapshot is older than the file. This counts delivered exception events per EGM and code
// beyond the ledger, on a ledger taken after the file was read.
inline std::size_t count_extras(const std::vector<LedgerEntry>& ledger, const std::vector<Got>& got,
                                const std::map<int, std::string>& egm_of_address) {
  std::set<std::pair<std::uint64_t, std::uint64_t>> seen;
  std::size_t extras = 0;
  for (const auto& [address, egm] : egm_of_address) {
    std::map<std::string, std::int64_t> balance;
    for (const auto& e : ledger) {
      // Dropped entries count too: the EGM may have reported one before its queue overflowed.
      if (e.address == address) --balance[code_hex(e.code)];
    }
    for (const auto& g : got) {
      if (g.egm == egm && !g.code.empty() && seen.insert({g.epoch, g.seq}).second) {
        ++balance[g.code];
      }
    }
    for (const auto& [code, b] : balance) extras += b > 0 ? static_cast<std::size_t>(b) : 0;
  }
  return extras;
}

// Takes ledger snapshots until every acked entry of one (from index `ledger_from` on) reached
// `consumer` (its lines from `received_from` on) and at least `min_acked` entries are acked;
// traffic may keep running meanwhile.
inline LedgerComparison settle_and_compare(Floor& floor, const std::string& consumer,
                                           std::chrono::seconds timeout = std::chrono::seconds(90),
                                           std::size_t ledger_from = 0,
                                           std::size_t received_from = 0,
                                           std::size_t min_acked = 1) {
  LedgerComparison cmp;
  wait_until(
      [&] {
        auto ledger = floor.sim().ledger();
        if (!ledger) return false;
        std::vector<LedgerEntry> l(
            ledger->begin() + static_cast<std::ptrdiff_t>(std::min(ledger_from, ledger->size())),
            ledger->end());
        auto got = read_got(floor, consumer);
        std::vector<Got> g(
            got.begin() + static_cast<std::ptrdiff_t>(std::min(received_from, got.size())),
            got.end());
        cmp = compare_live(l, g, floor.address_to_egm());
        if (cmp.missing != 0 || cmp.acked < std::max<std::size_t>(min_acked, 1)) return false;
        auto after = floor.sim().ledger();
        if (!after) return false;
        std::vector<LedgerEntry> la(
            after->begin() + static_cast<std::ptrdiff_t>(std::min(ledger_from, after->size())),
            after->end());
        cmp.extras = count_extras(la, g, floor.address_to_egm());
        return true;
      },
      timeout,
      std::chrono::milliseconds(1500));  // reading the ledger and the consumer's file is heavy
  return cmp;
}

// The common verdict: nothing lost, duplicates identical, no SAS re-reports without a crash
// (max_extras), daemon still running.
inline void expect_no_loss(Floor& floor, const LedgerComparison& cmp, std::size_t min_acked,
                           std::size_t max_extras = 0) {
  EXPECT_GE(cmp.acked, min_acked);
  EXPECT_EQ(cmp.missing, 0u) << cmp.detail;
  EXPECT_EQ(cmp.conflicting_duplicates, 0u) << "a re-delivered seq must carry the same event";
  EXPECT_LE(cmp.extras, max_extras);
  EXPECT_TRUE(floor.daemon().running()) << floor.daemon_log();
  ::testing::Test::RecordProperty("acked", static_cast<int>(cmp.acked));
  ::testing::Test::RecordProperty("extras", static_cast<int>(cmp.extras));
}

}  // namespace floorgate::testing
