#pragma once
// Ranges the configuration loader and the drivers both check, from one place: a value the
// loader accepts is never refused by a driver, and the other way round.

#include <array>
#include <cstdint>

namespace floorgate::core::limits {

// SAS: time between polls to one EGM (SAS asks for 40 ms at least; beyond 200 ms a machine's
// exception queue fills in bursts and machines may report a link loss).
inline constexpr std::int64_t kSasPollPeriodMinMs = 40;
inline constexpr std::int64_t kSasPollPeriodMaxMs = 200;
// SAS timing overrides per EGM (milliseconds).
inline constexpr std::int64_t kSasReplyTimeoutMinMs = 10;
inline constexpr std::int64_t kSasReplyTimeoutMaxMs = 1000;
inline constexpr std::int64_t kSasInterByteMinMs = 2;
inline constexpr std::int64_t kSasInterByteMaxMs = 100;
inline constexpr std::int64_t kSasPollGapMaxMs = 100;

// SAS meters read when an EGM's configuration names none: the accounting set the
// reconciliation needs (docs/reconciliation.md; Table C-7 codes, sas.md §11.3, sas-money.md §7):
// coin in/out, jackpot, hand-paid cancelled and cancelled credits, games played/won, credits
// from bills, current credits, total drop; SAS ticket in/out cashable and restricted (cents);
// total hand-paid credits; machine-paid progressive and external bonus wins (credits); AFT
// in-house and debit to the machine, in-house to the host (cents); bill counts for $1, $5,
// $10, $20, $50, $100.
inline constexpr std::array<std::uint8_t, 30> kSasDefaultMeterCodes = {
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0B, 0x0C, 0x24, 0x0D, 0x0E, 0x0F, 0x10,
    0x23, 0x1D, 0x1E, 0xA0, 0xA2, 0xA4, 0xA6, 0xB8, 0xBA, 0xBC, 0x40, 0x42, 0x43, 0x44,
    0x46, 0x47};

}  // namespace floorgate::core::limits
