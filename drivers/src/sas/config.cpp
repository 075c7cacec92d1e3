#include "floorgate/drivers/sas/config.hpp"

#include "floorgate/core/limits.hpp"

#include <set>

namespace floorgate::drivers::sas {
namespace limits = core::limits;

std::optional<BusConfig::Link> parse_link(const std::string& s) {
  if (s == "uart") return BusConfig::Link::uart;
  if (s == "pty") return BusConfig::Link::pty;
  if (s == "tcp") return BusConfig::Link::tcp;
  return std::nullopt;
}

std::optional<Timing> timing_preset(std::string_view name) {
  using std::chrono::milliseconds;
  Timing t;
  if (name == "default") return t;
  if (name == "slow") {  // machines that take long to answer (nCompass reads up to 200 ms)
    t.reply_timeout = milliseconds(200);
    t.inter_byte = milliseconds(10);
    return t;
  }
  if (name == "usb-serial") {  // 16 ms adapter latency timers split replies into late chunks
    t.reply_timeout = milliseconds(100);
    t.inter_byte = milliseconds(20);
    return t;
  }
  if (name == "device-server") {  // network plus the server's packetisation
    t.reply_timeout = milliseconds(150);
    t.inter_byte = milliseconds(25);
    return t;
  }
  if (name == "interblock") {  // a quiet gap before each poll, fillers to an unused address
    t.poll_gap = milliseconds(3);
    t.filler = Timing::Filler::unused_address;
    return t;
  }
  return std::nullopt;
}

std::vector<std::string_view> timing_preset_names() {
  return {"default", "slow", "usb-serial", "device-server", "interblock"};
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
    if (e.poll_period.count() < limits::kSasPollPeriodMinMs ||
        e.poll_period.count() > limits::kSasPollPeriodMaxMs) {
      return "EGM " + e.id + ": poll_period must be " + std::to_string(limits::kSasPollPeriodMinMs) +
             ".." + std::to_string(limits::kSasPollPeriodMaxMs) + " ms";
    }
    if (e.meter_codes.size() > 40) return "EGM " + e.id + ": at most 40 meter codes";
    if (e.timing.reply_timeout.count() < 0 ||
        e.timing.reply_timeout.count() > limits::kSasReplyTimeoutMaxMs ||
        e.timing.inter_byte.count() < 0 || e.timing.inter_byte.count() > limits::kSasInterByteMaxMs ||
        e.timing.poll_gap.count() < 0 || e.timing.poll_gap.count() > limits::kSasPollGapMaxMs) {
      return "EGM " + e.id + ": timing out of range (reply 0..1000, inter-byte 0..100, gap 0..100 ms)";
    }
  }
  return {};
}

}  // namespace floorgate::drivers::sas
