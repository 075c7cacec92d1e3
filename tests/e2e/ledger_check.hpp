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

// The simulator's priority exceptions (firmware-host/egm-sim/src/exception_queue.cpp, the SAS
// priority order): they jump the FIFO, so an EGM reports them ahead of older exceptions. The
// ledger lists entries as they were raised: a buffer overflow's 0x70 after the 25 events that
// filled the queue, though the EGM reports it before them.
inline bool is_priority_code(const std::string& hex) {
  static const std::set<std::string> codes = {"0x57", "0x67", "0x68", "0x3f", "0x6a", "0x6b", "0x6f",
                                              "0x56", "0x69", "0x6c", "0x6d", "0x8f", "0x70"};
  return codes.count(hex) > 0;
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
    // FIFO exceptions arrive in the order they were raised: the ledger's must be a subsequence
    // of what was delivered. A priority one jumps the queue, so it only ever arrives earlier:
    // it needs a delivery of its own code after the one its previous occurrence took, and
    // before the delivery of the next FIFO exception raised after it.
    constexpr std::size_t kNone = static_cast<std::size_t>(-1);
    std::vector<std::string> fifo_expected;
    std::vector<std::size_t> fifo_before;  // per ledger entry: FIFO entries raised before it
    for (const auto& c : expected) {
      fifo_before.push_back(fifo_expected.size());
      if (!is_priority_code(c)) fifo_expected.push_back(c);
    }
    std::vector<std::size_t> fifo_match(fifo_expected.size(), kNone);
    std::vector<bool> used(delivered.size(), false);
    std::size_t i = 0;
    for (std::size_t d = 0; d < delivered.size(); ++d) {
      if (is_priority_code(delivered[d])) continue;
      if (i < fifo_expected.size() && delivered[d] == fifo_expected[i]) {
        fifo_match[i++] = d;
        used[d] = true;
      }
    }
    std::size_t priority_missing = 0;
    std::string first_priority_missing;
    std::map<std::string, std::size_t> next_from;  // per priority code: first delivery still free
    for (std::size_t k = 0; k < expected.size(); ++k) {
      const std::string& c = expected[k];
      if (!is_priority_code(c)) continue;
      const std::size_t f = fifo_before[k];
      const std::size_t bound =
          f < fifo_expected.size() && fifo_match[f] != kNone ? fifo_match[f] : delivered.size();
      std::size_t d = next_from[c];
      while (d < bound && (used[d] || delivered[d] != c)) ++d;
      if (d < bound) {
        used[d] = true;
        next_from[c] = d + 1;
      } else {
        ++priority_missing;
        if (first_priority_missing.empty()) first_priority_missing = c;
      }
    }
    for (std::size_t d = 0; d < delivered.size(); ++d) out.extras += used[d] ? 0 : 1;
    out.acked += expected.size();
    if (i < fifo_expected.size() || priority_missing > 0) {
      out.missing += fifo_expected.size() - i + priority_missing;
      if (i < fifo_expected.size()) {
        detail << egm << ": first missing ledger code " << fifo_expected[i] << " (#" << i
               << " of " << fifo_expected.size() << " in FIFO order, delivered "
               << delivered.size() << "); ";
      }
      if (priority_missing > 0) {
        detail << egm << ": " << priority_missing << " priority exception(s) not delivered, first "
               << first_priority_missing << "; ";
      }
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
