// Scenario files: what a valid file builds, and file:line:col errors for invalid ones.
#include <gtest/gtest.h>

#include <fstream>

#include "scenario.hpp"
#include "test_process.hpp"

using namespace floorgate::sim;

namespace {

struct Loaded {
  bool ok;
  Options opt;
  std::string error;
};

Loaded load(const std::string& text) {
  floorgate::testing::TempDir dir;
  std::string path = (dir / "s.yaml").string();
  std::ofstream(path) << text;
  Loaded l;
  l.ok = load_scenario(path, l.opt, l.error);
  if (!l.error.empty()) l.error = l.error.substr(path.size());  // keep ":line:col: ..."
  return l;
}

}  // namespace

TEST(SimScenario, BuildsBusesMachinesMetersAndTimeline) {
  Loaded l = load(
      "seed: 11\n"
      "rate: 0.5\n"
      "buses:\n"
      "  - pty: /tmp/a\n"
      "    sync_required: true\n"
      "    machines:\n"
      "      - address: 3\n"
      "        denomination: 0x06\n"
      "        serial: \"ABC123\"\n"
      "        queue: 10\n"
      "        overflow: newest\n"
      "        meters: {coin_in: 100, \"0C\": 7}\n"
      "  - tcp: 127.0.0.1:7000\n"
      "    machines: [{address: 1}, {address: 2}]\n"
      "timeline:\n"
      "  - {at: +2s, do: door 3 open}\n"
      "  - {at: 1500ms, do: bill 3 20}\n"
      "  - {at: 1m, do: power-cycle 3}\n");
  ASSERT_TRUE(l.ok) << l.error;
  const SimConfig& c = l.opt.sim;
  EXPECT_EQ(c.seed, 11U);
  EXPECT_EQ(c.rate, 0.5);
  ASSERT_EQ(c.buses.size(), 2U);
  EXPECT_TRUE(c.buses[0].sync_required);
  const MachineConfig& m = c.buses[0].machines.at(0);
  EXPECT_EQ(m.address, 3);
  EXPECT_EQ(m.denomination, 0x06);
  EXPECT_EQ(m.serial, "ABC123");
  EXPECT_EQ(m.queue_capacity, 10U);
  EXPECT_EQ(m.overflow, OverflowPolicy::kDropNewest);
  EXPECT_EQ(m.meters.at(0x00), 100U);
  EXPECT_EQ(m.meters.at(0x0C), 7U);
  EXPECT_EQ(c.buses[1].kind, "tcp");
  EXPECT_EQ(c.buses[1].machines.size(), 2U);
  ASSERT_EQ(c.timeline.size(), 3U);
  EXPECT_EQ(c.timeline[0].at_ms, 2000);
  EXPECT_EQ(c.timeline[1].at_ms, 1500);
  EXPECT_EQ(c.timeline[2].at_ms, 60000);
  EXPECT_EQ(c.timeline[1].command, "bill 3 20");
  std::string err;
  EXPECT_TRUE(validate_config(c, err)) << err;
}

TEST(SimScenario, ErrorsCarryLineAndColumn) {
  EXPECT_EQ(load("buses:\n  - pty: /a\n    machines: [{address: 1}, {address: 1}]\n").error,
            ":3:30: duplicate address");
  EXPECT_EQ(load("buses:\n  - pty: /a\n    colour: red\n    machines: [{address: 1}]\n").error,
            ":3:5: unknown bus key 'colour'");
  EXPECT_EQ(load("buses:\n  - machines: [{address: 1}]\n").error,
            ":2:5: bus needs 'pty: PATH' or 'tcp: HOST:PORT'");
  EXPECT_EQ(load("buses: []\ntimeline:\n  - {at: soon, do: door 1 open}\n").error,
            ":3:10: at must be a time like 2s, 1500ms or +3s");
  EXPECT_EQ(load("buses:\n  - pty: /a\n    machines:\n      - {address: 1, meters: {bogus: 1}}\n")
                .error,
            ":4:31: unknown meter 'bogus' (a name or a 2F hex code)");
  Loaded syntax = load("buses: [\n");
  EXPECT_FALSE(syntax.ok);
  EXPECT_EQ(syntax.error.rfind(":", 0), 0U);
  Loaded missing;
  EXPECT_FALSE(load_scenario("/nonexistent/s.yaml", missing.opt, missing.error));
  EXPECT_EQ(missing.error, "/nonexistent/s.yaml:1:1: cannot read the file");
}

TEST(SimScenario, ShippedExampleIsValid) {
  Options opt;
  std::string err;
  ASSERT_TRUE(load_scenario(FLOORGATE_SOURCE_DIR "/firmware-host/egm-sim/examples/floor.yaml", opt,
                            err))
      << err;
  EXPECT_EQ(opt.sim.buses.size(), 2U);
  EXPECT_TRUE(validate_config(opt.sim, err)) << err;
}
