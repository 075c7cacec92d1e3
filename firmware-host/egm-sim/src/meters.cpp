#include "meters.hpp"

namespace floorgate::sim {

Meters::Meters() {
  for (std::uint8_t c : {meter::kCoinIn, meter::kCoinOut, meter::kJackpot,
                         meter::kHandPaidCancelled, meter::kCancelledCredits, meter::kGamesPlayed,
                         meter::kGamesWon, meter::kGamesLost, meter::kBillCredits,
                         meter::kCurrentCredits, meter::kTotalWon, meter::kTotalHandPaid,
                         meter::kTotalDrop, meter::kGamesSincePower, meter::kGamesSinceDoor,
                         meter::kBillsInStacker, meter::kStackerValue}) {
    values_[c] = 0;
  }
  for (std::uint8_t c = meter::kBills1; c <= 0x4B; ++c) values_[c] = 0;
  // Tickets (cents and counts), machine-paid progressive and bonus, AFT in and out.
  for (std::uint8_t c : {0x0D, 0x0E, 0x0F, 0x10, 0x11, 0x12, 0x13, 0x14, 0x1D, 0x1E}) values_[c] = 0;
  for (std::uint8_t c = 0xA0; c <= 0xA7; ++c) values_[c] = 0;
  for (std::uint8_t c = 0xB8; c <= 0xBD; ++c) values_[c] = 0;
}

std::size_t Meters::size_of(std::uint8_t code) {
  if (code >= 0x0D && code <= 0x10) return 5;
  if (code >= 0xA0 && code <= 0xBC && code % 2 == 0) return 5;  // AFT cents (sas-money.md §7)
  switch (code) {
    case 0x80: case 0x82: case 0x84: case 0x86: case 0x88:
    case 0x8C: case 0x8E: case 0x90: case 0x92: case 0x8A:
      return 5;
    default:
      return 4;
  }
}

std::uint64_t Meters::get(std::uint8_t code) const {
  auto it = values_.find(code);
  return it == values_.end() ? 0 : it->second;
}

void Meters::add(std::uint8_t code, std::uint64_t delta) {
  auto it = values_.find(code);
  if (it != values_.end()) it->second += delta;
}

void Meters::sub(std::uint8_t code, std::uint64_t delta) {
  auto it = values_.find(code);
  if (it != values_.end()) it->second = it->second > delta ? it->second - delta : 0;
}

void Meters::zero_all() {
  for (auto& [code, value] : values_) value = 0;
}

}  // namespace floorgate::sim
