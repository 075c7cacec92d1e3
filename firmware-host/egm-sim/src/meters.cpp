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
}

std::size_t Meters::size_of(std::uint8_t code) {
  if (code >= 0x0D && code <= 0x10) return 5;
  switch (code) {
    case 0x80: case 0x82: case 0x84: case 0x86: case 0x88:
    case 0x8C: case 0x8E: case 0x90: case 0x92:
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
