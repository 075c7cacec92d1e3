// The SAS engine fuzz target's properties (drivers/fuzz/sas_engine_fuzz.cpp) on generated inputs,
// in every CI run: two fake machines whose bills, games, handpays, tickets (printed and
// redeemed), AFT transfers (in-house, debit and out), machine-paid progressive wins and legacy
// bonuses move their meters as they queue their exceptions; reply delays within the 20 ms a
// machine has, store failures that clear. A clean input must reconcile (no
// reconciliation.mismatch, a settled window, every bill and game reported once, every
// handpay's, ticket's, transfer's, progressive win's and bonus's amount reported, every cent
// compared with the meters in a settled window); a mixed one, with
// slices of a hostile bus and meters moved without their events, must keep the engine polling
// without a busy loop and its events strict JSON. A broken property aborts with what broke (the fuzz target's message) after "input N" on stdout;
// `sas_engine_property_tests --write-inputs DIR` writes the inputs as a libFuzzer seed corpus.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

// One input in the fuzz target's format: a mode byte (even: clean), then steps of a time byte,
// an action byte and the action's argument (sas_engine_fuzz.cpp, LLVMFuzzerTestOneInput).
std::vector<std::uint8_t> generated_input(unsigned index, bool clean) {
  std::mt19937 rnd(index * 2 + (clean ? 0 : 1));
  auto pick = [&](unsigned n) { return static_cast<std::uint8_t>(rnd() % n); };
  std::vector<std::uint8_t> in{static_cast<std::uint8_t>(clean ? 0 : 1)};
  const unsigned steps = 100 + 50 * (index % 10);
  for (unsigned i = 0; i < steps; ++i) {
    // Time: 1-63 ms; one step in sixteen fails the store, one in sixteen clears it again.
    std::uint8_t t = static_cast<std::uint8_t>(1 + pick(63));
    const unsigned store = pick(16);
    if (store == 0) t |= 0xC0;
    if (store == 1) t |= 0x80;
    static constexpr std::uint8_t kActions[] = {0, 1, 2, 3, 4, 5, 6, 7};
    const std::uint8_t action = kActions[pick(8)];
    const std::uint8_t answered_by = clean ? static_cast<std::uint8_t>(1 + pick(3)) : pick(4);
    in.push_back(t);
    in.push_back(static_cast<std::uint8_t>((pick(2) << 5) | (action << 2) | answered_by));
    if (action == 1 || action == 3 || action == 4 || action == 6 || action == 7) {
      in.push_back(pick(256));
    }
    if (action == 5) {
      in.push_back(pick(256));
      in.push_back(pick(256));
      in.push_back(pick(256));
    }
  }
  return in;
}

constexpr unsigned kInputs = 20;

void run_all(bool clean) {
  for (unsigned i = 0; i < kInputs; ++i) {
    const auto in = generated_input(i, clean);
    std::printf("input %u (%s, %zu bytes)\n", i, clean ? "clean" : "mixed", in.size());
    std::fflush(stdout);
    EXPECT_EQ(LLVMFuzzerTestOneInput(in.data(), in.size()), 0);
  }
}

TEST(SasEngineProperties, CleanMoneyReconcilesAndIsReportedOnce) { run_all(true); }

TEST(SasEngineProperties, AHostileBusNeverStopsOrSpinsThePollLoop) { run_all(false); }

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--write-inputs") == 0) {
    std::filesystem::create_directories(argv[2]);
    for (unsigned i = 0; i < kInputs; ++i) {
      for (bool clean : {true, false}) {
        const auto in = generated_input(i, clean);
        std::ofstream f(std::filesystem::path(argv[2]) /
                            ((clean ? "clean-" : "mixed-") + std::to_string(i)),
                        std::ios::binary);
        f.write(reinterpret_cast<const char*>(in.data()), static_cast<std::streamsize>(in.size()));
      }
    }
    return 0;
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
