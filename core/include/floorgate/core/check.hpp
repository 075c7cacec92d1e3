#pragma once
// Invariant checks (STYLE.md "Errors"): an impossible state is a bug, not an input error.
// FG_CHECK(cond, what) aborts with file:line in debug and sanitizer builds (FLOORGATE_CHECK_ABORT:
// the ci and debug presets, so every test run), and in release builds counts the failure,
// reports it once per call site through the installed reporter (the daemon logs it) and
// carries on. Never use it on input from an
// EGM, a broker, a file or a web client: those get error values.

#include <cstdint>
#include <string_view>

namespace floorgate::core {

// Where a check failed (std::source_location is not available to clang 14, the fuzz build).
struct CheckSite {
  const char* file;
  int line;
  const char* function;
};

// Called for each failed check (release: the first failure per call site). Thread-safe.
using CheckReporter = void (*)(std::string_view what, const CheckSite& where);

// Installs the reporter (nullptr: stderr). Call once at start-up, before threads start.
void set_check_reporter(CheckReporter reporter);
// Failed checks since start, all call sites (the daemon exports it as a metric).
std::uint64_t check_failures();

// The out-of-line failure path of FG_CHECK; aborts when built with FLOORGATE_CHECK_ABORT.
void check_failed(std::string_view what, bool* reported, const CheckSite& where);

}  // namespace floorgate::core

#define FG_CHECK(cond, what)                                             \
  do {                                                                   \
    if (!(cond)) [[unlikely]] {                                          \
      static bool fg_check_reported_ = false;                            \
      ::floorgate::core::check_failed((what), &fg_check_reported_,      \
                                      {__FILE__, __LINE__, __func__});   \
    }                                                                    \
  } while (0)
