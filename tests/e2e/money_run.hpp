#pragma once
// A floor with money traffic (issue 20), shared by the end-to-end test and the `recon` bench:
// random traffic with money actions until a target, then quiet; every money record of the
// simulator's ledger must reach slot-mgmt with its amount and identifier, the clean run must
// reconcile without a mismatch, and each skim must be found exactly once.

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "floor_fixture.hpp"
#include "money_check.hpp"

namespace floorgate::testing {

struct Skim {
  int address = 0;
  std::string egm;        // its EGM id
  std::string category;   // simulator category = reconciliation category, see below
  std::string amount;     // dollars (games: a count)
};

struct MoneyRun {
  std::size_t money_records = 0;      // acked money entries of the ledger
  std::size_t money_with_amount = 0;  // ... that reached slot-mgmt with amount and identifier
  std::vector<std::string> missing;   // the others
  std::size_t false_mismatches = 0;   // reconciliation.mismatch before any skim
  std::size_t detected_skims = 0;     // skims reported once, for their EGM and category
  std::size_t extra_mismatches = 0;   // mismatches after the skims that match no skim
  std::size_t windows = 0;            // meters.reconciled seen by slot-mgmt
  std::string error;                  // a wait that ran out, in words
};

// Options for a Floor with money traffic and 10 s meter periods.
inline FloorOptions money_floor_options(double rate) {
  FloorOptions o;
  o.rate = rate;
  o.extra_sim_args = "--money";
  o.egm_keys = ", meter_period_s: 10";
  return o;
}

namespace money_detail {

inline std::size_t count_of(const std::vector<Received>& got, const std::string& egm,
                            const std::string& type) {
  std::size_t n = 0;
  std::set<std::uint64_t> seen;
  for (const auto& r : got) {
    if (r.egm == egm && r.type == type && seen.insert(r.seq).second) ++n;
  }
  return n;
}

inline std::string reconciliation_category(const std::string& sim_category) {
  if (sim_category == "bills") return "bills_in";
  return sim_category;  // tickets_in, tickets_out, aft_in, aft_out, handpaid, games, progressives, bonuses
}

}  // namespace money_detail

// Runs money traffic until `money_target` money records are in the ledger (or `traffic_for`
// passed, for the bench's fixed window when money_target is 0), then quiet, then the skims.
inline MoneyRun run_money_floor(Floor& floor, std::size_t money_target,
                                std::chrono::seconds traffic_for, const std::vector<Skim>& skims) {
  using namespace std::chrono_literals;
  MoneyRun out;
  auto& sim = floor.sim();
  auto records = [&] { return money_records(sim.command("ledger")); };
  if (money_target > 0) {
    if (!wait_until([&] { return records().size() >= money_target; }, traffic_for, 250ms)) {
      out.error = "money traffic did not reach " + std::to_string(money_target) + " records";
    }
  } else {
    // A measurement window (the bench): traffic for a fixed time is the workload itself.
    const auto end = std::chrono::steady_clock::now() + traffic_for;
    wait_until([&] { return std::chrono::steady_clock::now() >= end; }, traffic_for + 5s, 250ms);
  }
  sim.ok("rate 0");
  const auto egms = floor.address_to_egm();
  // Quiet: every exception acked, then one more settled window per EGM (it covers the end of
  // the traffic).
  auto all_acked = [&] {
    for (const auto& l : sim.command("ledger")) {
      if (l.find("\"seq\"") != std::string::npos && flat_json_field(l, "acked") != "true" &&
          flat_json_field(l, "dropped") != "true") {
        return false;
      }
    }
    return true;
  };
  if (!wait_until(all_acked, 60s, 250ms)) out.error = "the ledger did not drain";
  std::map<std::string, std::size_t> base;
  auto got = floor.received("slot-mgmt");
  for (const auto& [a, egm] : egms) base[egm] = money_detail::count_of(got, egm, "meters.reconciled");
  auto windows_after = [&](const std::map<std::string, std::size_t>& from, std::size_t n) {
    auto g = floor.received("slot-mgmt");
    for (const auto& [egm, b] : from) {
      if (money_detail::count_of(g, egm, "meters.reconciled") < b + n) return false;
    }
    return true;
  };
  if (!wait_until([&] { return windows_after(base, 1); }, 90s, 250ms)) {
    out.error = "no settled reconciliation window after the traffic";
  }
  got = floor.received("slot-mgmt");
  for (const auto& [a, egm] : egms) out.false_mismatches += money_detail::count_of(got, egm, "reconciliation.mismatch");
  // Money: every acked record reached slot-mgmt with its amount and identifier.
  auto recs = records();
  out.money_records = recs.size();
  std::vector<MoneyEvent> events;
  std::map<std::string, int> address_of;
  for (const auto& [a, egm] : egms) address_of[egm] = a;
  std::set<std::uint64_t> seen;
  for (const auto& r : got) {
    if (!seen.insert(r.seq).second) continue;
    auto it = address_of.find(r.egm);
    if (it != address_of.end()) events.push_back({it->second, r.type, r.payload});
  }
  out.missing = unmatched_money(recs, events);
  out.money_with_amount = recs.size() - out.missing.size();
  // Skims: each one mismatch for its EGM and category; two settled windows after them.
  if (!skims.empty()) {
    std::map<std::string, std::size_t> before;
    for (const auto& [a, egm] : egms) before[egm] = money_detail::count_of(got, egm, "meters.reconciled");
    const std::size_t mismatches_before = out.false_mismatches;
    for (const auto& s : skims) {
      sim.ok("skim " + std::to_string(s.address) + " " + s.category + " " + s.amount);
    }
    if (!wait_until([&] { return windows_after(before, 2); }, 120s, 250ms)) {
      out.error = "no two settled windows after the skims";
    }
    got = floor.received("slot-mgmt");
    std::set<std::uint64_t> counted;
    std::size_t total = 0;
    std::map<std::pair<std::string, std::string>, std::size_t> per;
    for (const auto& r : got) {
      if (r.type != "reconciliation.mismatch" || !counted.insert(r.seq).second) continue;
      ++total;
      per[{r.egm, flat_json_field(r.payload, "category")}]++;
    }
    std::size_t matched = 0;
    for (const auto& s : skims) {
      if (per[{s.egm, money_detail::reconciliation_category(s.category)}] == 1) ++out.detected_skims, ++matched;
    }
    out.extra_mismatches = total - mismatches_before - matched;
  }
  got = floor.received("slot-mgmt");
  for (const auto& [a, egm] : egms) out.windows += money_detail::count_of(got, egm, "meters.reconciled");
  return out;
}

}  // namespace floorgate::testing
