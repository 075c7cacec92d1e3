#pragma once
// The simulator core reads time from core::Clock: monotonic ms for timers and chirps, Unix ms
// for the ledger. Tests use core::ManualClock; the program uses core::system_clock().

#include "floorgate/core/clock.hpp"

namespace floorgate::sim {

using core::Clock;
using core::ManualClock;

}  // namespace floorgate::sim
