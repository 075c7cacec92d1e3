#pragma once
// SAS wire helpers owned by the simulator (independent of the driver's): CRC-16/KERMIT, packed
// BCD, and the escaped-link marking (FF 00 X = X with wakeup bit, FF FF = data 0xFF).
// Pure functions and a tiny stateful decoder; no I/O. Any thread (no shared state).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace floorgate::sim {

using Bytes = std::vector<std::uint8_t>;

// CRC-16/KERMIT (reflected 0x1021, init 0, no xorout) over `data`.
std::uint16_t crc16_kermit(std::span<const std::uint8_t> data);

// Appends the CRC of everything in `frame` so far, low byte first.
void append_crc(Bytes& frame);

// True when the last two bytes of `frame` are the CRC (lo, hi) of the bytes before them.
bool crc_ok(std::span<const std::uint8_t> frame);

// Appends `value` as big-endian packed BCD of `size` bytes, rolling over mod 10^(2*size).
void append_bcd(Bytes& out, std::uint64_t value, std::size_t size);

// `addr cmd`, with room reserved for a long-poll answer (initializer-list vectors plus
// insert() trip GCC 12's -Warray-bounds at -O3).
Bytes response_start(std::uint8_t addr, std::uint8_t cmd);

// Appends a SAS date and time (MMDDYYYY HHMMSS, 7 BCD bytes) of `unix_ms` in local time.
void append_sas_datetime(Bytes& out, std::int64_t unix_ms);

// Decodes big-endian packed BCD; nullopt if any nibble is above 9.
std::optional<std::uint64_t> parse_bcd(std::span<const std::uint8_t> bcd);

// One byte as seen on a 9-bit SAS wire.
struct WireByte {
  std::uint8_t value;  // the 8 data bits
  bool wakeup;         // the 9th (wakeup) bit
};

// Turns an escaped byte stream into wire bytes; keeps state across calls (splits anywhere).
class EscapedDecoder {
 public:
  // Decodes `in` and appends the resulting wire bytes to `out`.
  void feed(std::span<const std::uint8_t> in, std::vector<WireByte>& out);

 private:
  enum class State { kNormal, kSawFf, kSawFf00 };
  State state_ = State::kNormal;
};

// Appends one wire byte in escaped form (FF 00 X with wakeup, FF FF for data 0xFF).
void escape_append(Bytes& out, std::uint8_t value, bool wakeup);

// Escapes a whole response (no wakeup bits, as an EGM sends).
Bytes escape_response(std::span<const std::uint8_t> data);

}  // namespace floorgate::sim
