#pragma once
// The engine harness (sas_fake_egm.hpp) for GoogleTest tests: every harness checks, as it goes
// away, that its engine never busy-waited (a timer that sent nothing and left the engine due
// again at once: on the daemon's loop that timer fires back to back). Include this instead of
// sas_fake_egm.hpp in a test file.

#include <gtest/gtest.h>

#include "sas_fake_egm.hpp"

namespace floorgate::drivers::sas::testing {

inline const bool kHarnessChecksSpins = [] {
  Harness::at_end = [](const Harness& h) {
    EXPECT_EQ(h.spins, 0u) << "the engine was due again at once after a timer that sent "
                              "nothing (a busy loop on the daemon's event loop)";
  };
  return true;
}();

}  // namespace floorgate::drivers::sas::testing
