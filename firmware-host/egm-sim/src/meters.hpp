#pragma once
// A machine's meters keyed by SAS Table C-7 (LP 2F) codes, with their BCD sizes. Values are
// kept unbounded and rolled over mod 10^(2*size) when encoded. Loop thread only.

#include <cstddef>
#include <cstdint>
#include <map>

namespace floorgate::sim {

// Table C-7 codes the simulator maintains.
namespace meter {
inline constexpr std::uint8_t kCoinIn = 0x00;
inline constexpr std::uint8_t kCoinOut = 0x01;
inline constexpr std::uint8_t kJackpot = 0x02;
inline constexpr std::uint8_t kHandPaidCancelled = 0x03;
inline constexpr std::uint8_t kCancelledCredits = 0x04;
inline constexpr std::uint8_t kGamesPlayed = 0x05;
inline constexpr std::uint8_t kGamesWon = 0x06;
inline constexpr std::uint8_t kGamesLost = 0x07;
inline constexpr std::uint8_t kBillCredits = 0x0B;
inline constexpr std::uint8_t kCurrentCredits = 0x0C;
inline constexpr std::uint8_t kTotalWon = 0x22;
inline constexpr std::uint8_t kTotalHandPaid = 0x23;
inline constexpr std::uint8_t kTotalDrop = 0x24;
inline constexpr std::uint8_t kGamesSincePower = 0x25;
inline constexpr std::uint8_t kGamesSinceDoor = 0x26;
inline constexpr std::uint8_t kBillsInStacker = 0x3E;
inline constexpr std::uint8_t kStackerValue = 0x3F;
inline constexpr std::uint8_t kBills1 = 0x40;
inline constexpr std::uint8_t kTicketInCents = 0x0D;    // SAS cashable ticket in (cents)
inline constexpr std::uint8_t kTicketOutCents = 0x0E;   // SAS cashable ticket out (cents)
inline constexpr std::uint8_t kTicketInCount = 0x11;
inline constexpr std::uint8_t kTicketOutCount = 0x12;
inline constexpr std::uint8_t kMachinePaidProgressive = 0x1D;  // credits
inline constexpr std::uint8_t kMachinePaidBonus = 0x1E;        // external bonus, credits
inline constexpr std::uint8_t kAftInCashableCents = 0xA0;   // in-house to EGM (A1 = count)
inline constexpr std::uint8_t kAftInDebitCents = 0xA6;      // debit to EGM (A7 = count)
inline constexpr std::uint8_t kAftOutCashableCents = 0xB8;  // in-house to host (B9 = count)  // 0x40..0x4B: bill counts per denomination
}  // namespace meter

// Meter values by code.
class Meters {
 public:
  // Creates the standard supported set, all zero.
  Meters();
  // BCD size in bytes implied by a 2F code (5 for the cents meters, else 4).
  static std::size_t size_of(std::uint8_t code);
  // True when the machine keeps this meter (2F omits the others).
  bool supported(std::uint8_t code) const { return values_.count(code) != 0; }
  // Current value (0 if unsupported).
  std::uint64_t get(std::uint8_t code) const;
  // Sets a value (also makes the code supported).
  void set(std::uint8_t code, std::uint64_t value) { values_[code] = value; }
  // Adds to a supported meter.
  void add(std::uint8_t code, std::uint64_t delta);
  // Subtracts, clamping at zero (current credits).
  void sub(std::uint8_t code, std::uint64_t delta);
  // RAM clear: every meter back to zero.
  void zero_all();
  // All meters.
  const std::map<std::uint8_t, std::uint64_t>& all() const { return values_; }

 private:
  std::map<std::uint8_t, std::uint64_t> values_;
};

}  // namespace floorgate::sim
