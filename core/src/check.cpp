#include "floorgate/core/check.hpp"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

namespace floorgate::core {
namespace {

std::atomic<CheckReporter> g_reporter{nullptr};
std::atomic<std::uint64_t> g_failures{0};
std::mutex g_report_mu;  // guards the per-site "reported" flags

void report_to_stderr(std::string_view what, const CheckSite& where) {
  std::fprintf(stderr, "floorgate: invariant failed at %s:%d (%s): %.*s\n", where.file,
               where.line, where.function, static_cast<int>(what.size()), what.data());
}

}  // namespace

void set_check_reporter(CheckReporter reporter) { g_reporter.store(reporter); }

std::uint64_t check_failures() { return g_failures.load(std::memory_order_relaxed); }

void check_failed(std::string_view what, bool* reported, const CheckSite& where) {
  g_failures.fetch_add(1, std::memory_order_relaxed);
  bool first = false;
  {
    std::lock_guard lk(g_report_mu);
    first = !*reported;
    *reported = true;
  }
#ifdef FLOORGATE_CHECK_ABORT
  first = true;
#endif
  if (first) {
    auto reporter = g_reporter.load();
    (reporter ? reporter : report_to_stderr)(what, where);
  }
#ifdef FLOORGATE_CHECK_ABORT
  std::abort();
#endif
}

}  // namespace floorgate::core
