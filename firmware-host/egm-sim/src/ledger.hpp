#pragma once
// The ledger: every exception the simulated machines raised, with whether and when the host
// implied-ACKed it. Tests compare it with what reached the store and MQTT. Loop thread only.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace floorgate::sim {

// One raised exception.
struct LedgerEntry {
  int bus = 0;                  // bus index (0-based)
  std::uint8_t address = 0;     // SAS address of the machine
  std::uint8_t code = 0;        // exception code
  std::uint64_t seq = 0;        // simulator-wide, 1-based, strictly increasing
  std::int64_t raised_at = 0;   // Unix ms
  bool acked = false;           // implied-ACKed by the host
  std::int64_t acked_at = 0;    // Unix ms, valid when acked
  bool dropped = false;         // lost in an exception-queue overflow (0x70 raised)
  // Money exceptions: the amount in cents and the identifier the host must report with it
  // (validation number, AFT transaction id), when the exception carries money.
  std::optional<std::uint64_t> amount_cents;
  std::string ident;
};

// Append-only record of raised exceptions.
class Ledger {
 public:
  // Records a new raised exception and returns its seq.
  std::uint64_t record(int bus, std::uint8_t address, std::uint8_t code, std::int64_t unix_ms);
  // Marks `seq` as implied-ACKed at `unix_ms` (first ACK wins).
  void mark_acked(std::uint64_t seq, std::int64_t unix_ms);
  // Records the amount (cents) and identifier of money exception `seq`.
  void set_money(std::uint64_t seq, std::uint64_t cents, std::string ident);
  // Marks `seq` as dropped by a queue overflow.
  void mark_dropped(std::uint64_t seq);
  // All entries, in seq order.
  const std::vector<LedgerEntry>& entries() const { return entries_; }
  // Entry by seq, or nullptr.
  const LedgerEntry* find(std::uint64_t seq) const;
  // One JSON line (no newline) in the control-socket format.
  static std::string to_json(const LedgerEntry& e);

 private:
  std::vector<LedgerEntry> entries_;
};

}  // namespace floorgate::sim
