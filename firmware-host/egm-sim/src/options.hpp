#pragma once
// Command line of floorgate-egm-sim and the --help text. Pure; main thread at start-up.

#include <string>
#include <vector>

#include "simulator.hpp"

namespace floorgate::sim {

// Parsed command line.
struct Options {
  SimConfig sim;          // buses from --pty/--tcp/--egm plus globals
  std::string scenario;   // --scenario FILE ("" = none)
  bool help = false;      // --help given
  bool rate_set = false;  // --rate given (overrides the scenario)
  bool seed_set = false;  // --seed given (overrides the scenario)
};

// The --help text (documents every option and control command).
std::string usage();

// Parses argv; on error returns false and a one-line message in `error`.
bool parse_options(const std::vector<std::string>& args, Options& out, std::string& error);

}  // namespace floorgate::sim
