#pragma once
// Strict parsers for control-command and scenario arguments. Pure; any thread.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace floorgate::sim {

// Decimal unsigned integer (digits only, < 2^53).
std::optional<std::uint64_t> parse_uint(std::string_view s);
// Hex byte, with or without 0x ("11", "0x7A").
std::optional<std::uint8_t> parse_hex_byte(std::string_view s);
// Money in dollars to cents: "20", "$20", "1250.00", "1,250.5".
std::optional<std::uint64_t> parse_money_cents(std::string_view s);
// A probability 0..1 ("0.25", "1").
std::optional<double> parse_rate(std::string_view s);

// Concatenates strings by appending (chained operator+ on temporaries trips GCC 12's
// -Wrestrict false positive at -O3).
template <class... Parts>
std::string str_cat(const Parts&... parts) {
  std::string out;
  (out.append(std::string_view(parts)), ...);
  return out;
}

}  // namespace floorgate::sim
