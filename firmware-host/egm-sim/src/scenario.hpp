#pragma once
// Scenario files (YAML): buses, machines, a timeline of control commands and random traffic.
// Errors come back as "file:line:col: sentence". Start-up only (yaml-cpp may throw inside).

#include <string>

#include "options.hpp"

namespace floorgate::sim {

// Loads `path` into `opt.sim` (adds buses; rate/seed unless given on the command line).
bool load_scenario(const std::string& path, Options& opt, std::string& error);

// Checks the final configuration: at least one bus, addresses unique per bus, targets set.
bool validate_config(const SimConfig& cfg, std::string& error);

}  // namespace floorgate::sim
