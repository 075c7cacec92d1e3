#pragma once
// Ranges the configuration loader and the drivers both check, from one place: a value the
// loader accepts is never refused by a driver, and the other way round.

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

}  // namespace floorgate::core::limits
