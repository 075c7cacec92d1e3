#include "lp_table.hpp"

namespace floorgate::sim {

std::optional<LpShape> lp_shape(std::uint8_t cmd) {
  auto type_r = LpShape{2, false, false};
  auto type_s = [](std::size_t n) { return LpShape{n, true, false}; };
  if ((cmd >= 0x0F && cmd <= 0x20) || (cmd >= 0x2A && cmd <= 0x2D) ||
      (cmd >= 0x31 && cmd <= 0x46) || cmd == 0x48 || cmd == 0x51 ||
      (cmd >= 0x54 && cmd <= 0x57) || cmd == 0x7E || cmd == 0x70 || cmd == 0x84 ||
      cmd == 0x85 || cmd == 0x90) {
    return type_r;
  }
  switch (cmd) {
    case 0x01: case 0x02: case 0x03: case 0x04: case 0x06: case 0x07: case 0x94:
      return type_s(4);
    case 0x08: return type_s(9);
    case 0x09: return type_s(7);
    case 0x0E: return type_s(5);
    case 0x21: case 0x53: case 0xA0: case 0xB5: return type_s(6);
    case 0x7F: return type_s(11);
    case 0xA8: return type_s(5);
    case 0x4D: return type_s(5);
    case 0x74: return type_s(8);
    case 0x2F: case 0x6F: case 0xAF: case 0x71: case 0x72: return LpShape{0, true, true};
    default: return std::nullopt;
  }
}

}  // namespace floorgate::sim
