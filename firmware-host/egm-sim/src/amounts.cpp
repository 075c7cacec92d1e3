#include "amounts.hpp"

#include <charconv>
#include <string>

namespace floorgate::sim {

std::optional<std::uint64_t> parse_uint(std::string_view s) {
  if (s.empty() || s.size() > 15) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return v;
}

std::optional<std::uint8_t> parse_hex_byte(std::string_view s) {
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s.remove_prefix(2);
  if (s.empty() || s.size() > 2) return std::nullopt;
  unsigned v = 0;
  for (char c : s) {
    unsigned d;
    if (c >= '0' && c <= '9') {
      d = static_cast<unsigned>(c - '0');
    } else if (c >= 'a' && c <= 'f') {
      d = static_cast<unsigned>(c - 'a' + 10);
    } else if (c >= 'A' && c <= 'F') {
      d = static_cast<unsigned>(c - 'A' + 10);
    } else {
      return std::nullopt;
    }
    v = v * 16 + d;
  }
  return static_cast<std::uint8_t>(v);
}

std::optional<std::uint64_t> parse_money_cents(std::string_view s) {
  if (!s.empty() && s[0] == '$') s.remove_prefix(1);
  std::string whole, frac;
  bool dot = false;
  for (char c : s) {
    if (c == ',' && !dot) continue;
    if (c == '.' && !dot) {
      dot = true;
      continue;
    }
    if (c < '0' || c > '9') return std::nullopt;
    (dot ? frac : whole) += c;
  }
  if (whole.empty() || frac.size() > 2 || (dot && frac.empty())) return std::nullopt;
  while (frac.size() < 2) frac += '0';
  auto w = parse_uint(whole);
  if (!w || *w > 100'000'000'000ULL) return std::nullopt;
  return *w * 100 + static_cast<std::uint64_t>((frac[0] - '0') * 10 + (frac[1] - '0'));
}

std::optional<double> parse_rate(std::string_view s) {
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size() || !(v >= 0.0 && v <= 1.0)) {
    return std::nullopt;
  }
  return v;
}

}  // namespace floorgate::sim
