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

bool route_selects(const RouteConfig& route, std::string_view egm, std::string_view cls,
                   std::string_view type) {
  auto any_or = [](const std::vector<std::string>& list, auto&& match) {
    if (list.empty()) return true;
    for (const auto& item : list) {
      if (match(item)) return true;
    }
    return false;
  };
  const bool egm_ok = any_or(route.egms, [&](const std::string& e) { return e == egm; });
  const bool cls_ok = any_or(route.classes, [&](const std::string& c) { return c == cls; });
  const bool type_ok = any_or(route.types, [&](const std::string& t) {
    if (t == "*") return true;
    if (t.ends_with(".*")) {
      const std::string_view prefix(t.data(), t.size() - 1);  // keeps the dot
      return type.starts_with(prefix);
    }
    return t == type;
  });
  return egm_ok && cls_ok && type_ok;
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
