#pragma once
// Request framing per long-poll command (sas.md §6.3): how many bytes a poll has and whether
// it carries a CRC, so the bus knows where a frame ends. Pure; any thread.

#include <cstddef>
#include <cstdint>
#include <optional>

namespace floorgate::sim {

// Shape of one long-poll request.
struct LpShape {
  std::size_t length = 2;  // total bytes incl. CRC (fixed forms); 0 for variable length
  bool has_crc = false;    // false for type R
  bool variable = false;   // type M: total = 3 + byte[2] + 2
};

// The request shape of `cmd`, or nullopt for a command the simulator does not know.
std::optional<LpShape> lp_shape(std::uint8_t cmd);

}  // namespace floorgate::sim
