#pragma once
// The whole simulated floor of one process: buses, the ledger, the scenario timeline, random
// floor traffic and the text commands of the control socket. Sans-I/O; loop thread only.

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "bus.hpp"
#include "clock.hpp"
#include "ledger.hpp"

namespace floorgate::sim {

// One scheduled control command of a scenario (`at` ms after start).
struct TimelineEntry {
  std::int64_t at_ms = 0;  // offset from simulator start
  std::string command;     // a control-socket command line, e.g. "bill 1 20"
};

// Everything the program was asked to simulate.
struct SimConfig {
  std::vector<BusConfig> buses;          // one per pty / TCP link
  double rate = 0;                       // random events/s per machine (0 = none)
  std::uint64_t seed = 1;                // seeds all randomness
  std::vector<TimelineEntry> timeline;   // scenario timeline, any order
  std::string control_path;              // Unix socket path ("" = none)
  bool shared_addresses = false;         // allow two machines at one address (a wiring fault)
  bool money = false;                    // random traffic includes money actions
};

// The simulated floor.
class Simulator {
 public:
  Simulator(const SimConfig& cfg, const Clock& clock);
  // Buses, in configuration order.
  const std::vector<std::unique_ptr<Bus>>& buses() const { return buses_; }
  // Runs one control command; returns one or more JSON lines, each ending in '\n'.
  std::string execute(std::string_view line);
  // Timeline, random traffic, chirps and power-ups due now. Call every ~20 ms.
  void tick();
  // The ledger of raised exceptions.
  const Ledger& ledger() const { return ledger_; }

 private:
  struct Target {
    Bus* bus = nullptr;
    Egm* egm = nullptr;
  };
  Target resolve(std::string_view addr);
  std::string cmd_machine(const std::string& verb, Target t, const std::vector<std::string>& a);
  std::string cmd_fault(Target t, const std::vector<std::string>& a);
  std::string cmd_status();
  std::string cmd_money(const std::string& verb, Egm& egm, const std::vector<std::string>& a);
  void random_event(Egm& egm);
  void random_money(Egm& egm);

  const Clock& clock_;
  std::mt19937_64 rng_;
  Ledger ledger_;
  std::vector<std::unique_ptr<Bus>> buses_;
  std::vector<TimelineEntry> timeline_;
  std::size_t next_timeline_ = 0;
  std::int64_t start_ms_;
  double rate_;
  bool money_;
  std::vector<std::int64_t> next_random_ms_;
};

}  // namespace floorgate::sim
