// Small value helpers declared in config.hpp.

#include <fstream>

#include "floorgate/config/config.hpp"

namespace floorgate::config {

std::string_view to_string(LogLevel v) {
  switch (v) {
    case LogLevel::trace: return "trace";
    case LogLevel::debug: return "debug";
    case LogLevel::info: return "info";
    case LogLevel::warn: return "warn";
    case LogLevel::error: return "error";
  }
  return "info";
}

std::string_view to_string(Driver v) {
  switch (v) {
    case Driver::sas_serial: return "sas-serial";
    case Driver::sas_tcp: return "sas-tcp";
    case Driver::g2s: return "g2s";
  }
  return "sas-serial";
}

std::string_view to_string(LinkKind v) { return v == LinkKind::pty ? "pty" : "uart"; }

std::string_view to_string(WebRole v) { return v == WebRole::technician ? "technician" : "viewer"; }

std::string ConfigError::to_string() const {
  return file + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message;
}

std::vector<std::uint16_t> default_meter_codes() {
  // Coin in/out, jackpot, hand-paid and total cancelled credits, games played/won, bills,
  // current credits, total drop (SAS Table C-7).
  return {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0B, 0x0C, 0x24};
}

std::optional<std::string> read_secret_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::string line;
  std::getline(in, line);
  if (in.bad()) return std::nullopt;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return line;
}

}  // namespace floorgate::config
