#include "floorgate/drivers/sas/config.hpp"

#include <set>

namespace floorgate::drivers::sas {

std::optional<BusConfig::Link> parse_link(const std::string& s) {
  if (s == "uart") return BusConfig::Link::uart;
  if (s == "pty") return BusConfig::Link::pty;
  if (s == "tcp") return BusConfig::Link::tcp;
  return std::nullopt;
}

std::string validate(const BusConfig& cfg) {
  if (cfg.port.empty()) return "the bus has no port (device path or host:port)";
  if (cfg.link == BusConfig::Link::tcp && cfg.port.rfind(':') == std::string::npos) {
    return "a tcp bus port must be host:port, got '" + cfg.port + "'";
  }
  if (cfg.egms.empty()) return "the bus on " + cfg.port + " has no EGMs";
  if (cfg.link_down_after < 1) return "link_down_after must be at least 1";
  std::set<int> addresses;
  for (const auto& e : cfg.egms) {
    if (e.id.empty()) return "an EGM on " + cfg.port + " has no id";
    if (e.address < 1 || e.address > 127) {
      return "EGM " + e.id + ": SAS address must be 1..127, got " + std::to_string(e.address);
    }
    if (!addresses.insert(e.address).second) {
      return "EGM " + e.id + ": address " + std::to_string(e.address) + " is used twice on " +
             cfg.port;
    }
    if (e.poll_period.count() < 40 || e.poll_period.count() > 1000) {
      return "EGM " + e.id + ": poll_period must be 40..1000 ms";
    }
    if (e.meter_codes.size() > 40) return "EGM " + e.id + ": at most 40 meter codes";
  }
  return {};
}

}  // namespace floorgate::drivers::sas
