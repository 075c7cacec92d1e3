#include "ledger.hpp"

#include <cstdio>

namespace floorgate::sim {

std::uint64_t Ledger::record(int bus, std::uint8_t address, std::uint8_t code,
                             std::int64_t unix_ms) {
  LedgerEntry e;
  e.bus = bus;
  e.address = address;
  e.code = code;
  e.seq = entries_.size() + 1;
  e.raised_at = unix_ms;
  entries_.push_back(e);
  return e.seq;
}

void Ledger::mark_acked(std::uint64_t seq, std::int64_t unix_ms) {
  if (seq == 0 || seq > entries_.size()) return;
  LedgerEntry& e = entries_[seq - 1];
  if (e.acked) return;
  e.acked = true;
  e.acked_at = unix_ms;
}

void Ledger::set_money(std::uint64_t seq, std::uint64_t cents, std::string ident) {
  if (seq == 0 || seq > entries_.size()) return;
  entries_[seq - 1].amount_cents = cents;
  entries_[seq - 1].ident = std::move(ident);
}

void Ledger::mark_dropped(std::uint64_t seq) {
  if (seq == 0 || seq > entries_.size()) return;
  entries_[seq - 1].dropped = true;
}

const LedgerEntry* Ledger::find(std::uint64_t seq) const {
  if (seq == 0 || seq > entries_.size()) return nullptr;
  return &entries_[seq - 1];
}

std::string Ledger::to_json(const LedgerEntry& e) {
  char buf[384];
  char money[128] = "";
  if (e.amount_cents) {
    // Identifiers are digits and [A-Za-z0-9-] only (the simulator makes them): no escaping.
    std::snprintf(money, sizeof money, ",\"amount_cents\":%llu,\"ident\":\"%s\"",
                  static_cast<unsigned long long>(*e.amount_cents), e.ident.c_str());
  }
  char acked_at[32];
  if (e.acked) {
    std::snprintf(acked_at, sizeof acked_at, "%lld", static_cast<long long>(e.acked_at));
  } else {
    std::snprintf(acked_at, sizeof acked_at, "null");
  }
  std::snprintf(buf, sizeof buf,
                "{\"address\":%u,\"code\":\"%02X\",\"seq\":%llu,\"raised_at\":%lld,"
                "\"acked\":%s,\"acked_at\":%s%s%s}",
                static_cast<unsigned>(e.address), static_cast<unsigned>(e.code),
                static_cast<unsigned long long>(e.seq), static_cast<long long>(e.raised_at),
                e.acked ? "true" : "false", acked_at, e.dropped ? ",\"dropped\":true" : "", money);
  return buf;
}

}  // namespace floorgate::sim
