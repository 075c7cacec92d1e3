#include "scenario.hpp"

#include <set>

namespace floorgate::sim {

bool load_scenario(const std::string& path, Options& opt, std::string& error) {
  (void)opt;
  error = path + ":1:1: scenarios are not supported yet";
  return false;
}

bool validate_config(const SimConfig& cfg, std::string& error) {
  if (cfg.buses.empty()) {
    error = "nothing to simulate: give --pty PATH or --tcp HOST:PORT (or --scenario FILE)";
    return false;
  }
  for (const BusConfig& b : cfg.buses) {
    if (b.target.empty()) {
      error = "bus without a " + b.kind + " target";
      return false;
    }
    std::set<int> seen;
    for (const MachineConfig& m : b.machines) {
      if (!seen.insert(m.address).second) {
        error = "address " + std::to_string(m.address) + " appears twice on " + b.target;
        return false;
      }
    }
  }
  return true;
}

}  // namespace floorgate::sim
