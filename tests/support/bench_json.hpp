#pragma once
// Prints one benchmark figure as the JSON line tests/bench/run promises:
// {"bench":"<group>.<figure>","value":<number>,"unit":"<unit>"}
#include <cstdio>
#include <string_view>

namespace floorgate::testing {
inline void print_figure(std::string_view name, double value, std::string_view unit) {
  std::printf("{\"bench\":\"%.*s\",\"value\":%.6g,\"unit\":\"%.*s\"}\n",
              static_cast<int>(name.size()), name.data(), value,
              static_cast<int>(unit.size()), unit.data());
  std::fflush(stdout);
}
}  // namespace floorgate::testing
