// Benchmark program for group `recon` (issue 20): a floor with money traffic through the real
// daemon for RECON_SECONDS (default 600), then quiet, then one skim per category kind on three
// machines. Prints one JSON line per figure:
//   recon.false_mismatches                 reconciliation.mismatch over the clean run (target 0)
//   recon.detected_skims                   skims reported once for their EGM and category
//                                          (target = recon.injected_skims)
//   recon.injected_skims
//   recon.windows                          settled windows compared (meters.reconciled)
//   sas.money_events_with_amount_ratio     ledger money records that reached slot-mgmt with
//                                          their amount and identifier / all (target 1)
//   recon.money_records                    how many there were
#include <cstdio>
#include <cstdlib>

#include "money_run.hpp"

int main() {
  using namespace floorgate::testing;
  const char* secs = std::getenv("RECON_SECONDS");
  const long seconds = secs ? std::strtol(secs, nullptr, 10) : 600;
  const char* rate = std::getenv("RECON_RATE");
  Floor floor(money_floor_options(rate ? std::strtod(rate, nullptr) : 2.0));
  floor.start_all();
  const std::vector<Skim> skims = {{1, "e1", "bills", "40"},
                                   {3, "e3", "tickets_out", "12.50"},
                                   {6, "e6", "games", "3"}};
  MoneyRun r = run_money_floor(floor, 0, std::chrono::seconds(seconds), skims);
  floor.stop_all();
  if (!r.error.empty()) std::fprintf(stderr, "recon: %s\n", r.error.c_str());
  for (const auto& m : r.missing) std::fprintf(stderr, "recon: missing %s\n", m.c_str());
  auto line = [](const char* name, double v, const char* unit) {
    std::printf("{\"bench\":\"%s\",\"value\":%.6g,\"unit\":\"%s\"}\n", name, v, unit);
  };
  line("recon.false_mismatches", static_cast<double>(r.false_mismatches), "mismatches");
  line("recon.detected_skims", static_cast<double>(r.detected_skims), "skims");
  line("recon.injected_skims", static_cast<double>(skims.size()), "skims");
  line("recon.extra_mismatches", static_cast<double>(r.extra_mismatches), "mismatches");
  line("recon.windows", static_cast<double>(r.windows), "windows");
  line("recon.money_records", static_cast<double>(r.money_records), "records");
  line("sas.money_events_with_amount_ratio",
       r.money_records ? static_cast<double>(r.money_with_amount) / static_cast<double>(r.money_records) : 0,
       "ratio");
  return r.error.empty() ? 0 : 1;
}
