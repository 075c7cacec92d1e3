#pragma once
// Compares the simulator's ledger with what a consumer received: every exception the EGM saw
// implied-ACKed must have reached the consumer, per EGM in order. Extra events are allowed only
// as SAS re-reports (the EGM re-sends an exception whose ACK a killed gateway never sent).

#include <algorithm>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "floor_fixture.hpp"

namespace floorgate::testing {

struct LedgerComparison {
  std::size_t acked = 0;     // acked ledger entries considered
  std::size_t missing = 0;   // acked entries with no delivered event
  std::size_t extras = 0;    // delivered exception events beyond the ledger (re-reports)
  std::size_t conflicting_duplicates = 0;  // same seq delivered with different content
  std::string detail;
};

inline std::string code_hex(int code) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02x", code);
  return buf;
}

inline LedgerComparison compare_ledger(const std::vector<LedgerEntry>& ledger,
                                       const std::vector<Received>& got,
                                       const std::map<int, std::string>& egm_of_address) {
  LedgerComparison out;
  std::map<std::uint64_t, const Received*> by_seq;
  for (const auto& r : got) {
    auto [it, fresh] = by_seq.emplace(r.seq, &r);
    if (!fresh && it->second->payload != r.payload) ++out.conflicting_duplicates;
  }
  std::ostringstream detail;
  for (const auto& [address, egm] : egm_of_address) {
    std::vector<std::string> expected;
    for (const auto& e : ledger) {
      if (e.address == address && e.acked && !e.dropped) expected.push_back(code_hex(e.code));
    }
    std::vector<std::string> delivered;
    for (const auto& [seq, r] : by_seq) {
      if (r->egm == egm && !r->code.empty()) delivered.push_back(r->code);
    }
    std::size_t i = 0;
    for (const auto& c : delivered) {
      if (i < expected.size() && c == expected[i]) {
        ++i;
      } else {
        ++out.extras;
      }
    }
    out.acked += expected.size();
    if (i < expected.size()) {
      out.missing += expected.size() - i;
      detail << egm << ": first missing ledger code " << expected[i] << " (#" << i << " of "
             << expected.size() << ", delivered " << delivered.size() << "); ";
      auto list = [&](const std::vector<std::string>& v) {
        for (std::size_t k = 0; k < v.size() && k < 40; ++k) detail << (k ? " " : "") << v[k];
      };
      detail << "acked by the EGM: ";
      list(expected);
      detail << "; delivered in seq order: ";
      list(delivered);
      detail << "; ";
    }
  }
  out.detail = detail.str();
  return out;
}

// Waits until every acked ledger entry reached `consumer` and nothing waits in an EGM's
// queue; returns the last comparison.
inline LedgerComparison wait_for_ledger(Floor& floor, const std::string& consumer,
                                        std::chrono::seconds timeout = std::chrono::seconds(60)) {
  LedgerComparison cmp;
  wait_until(
      [&] {
        auto ledger = floor.sim().ledger();
        if (!ledger) return false;
        bool pending = std::any_of(ledger->begin(), ledger->end(),
                                   [](const LedgerEntry& e) { return !e.acked && !e.dropped; });
        cmp = compare_ledger(*ledger, floor.received(consumer), floor.address_to_egm());
        return !pending && cmp.missing == 0 && cmp.acked > 0;
      },
      timeout);
  return cmp;
}

}  // namespace floorgate::testing
