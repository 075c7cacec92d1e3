// Small value helpers declared in config.hpp.

#include <fstream>

#include "floorgate/config/config.hpp"
#include "floorgate/core/limits.hpp"

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
  return {core::limits::kSasDefaultMeterCodes.begin(), core::limits::kSasDefaultMeterCodes.end()};
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
