#pragma once
// Sans-I/O SAS codec: CRC-16/KERMIT, packed BCD, the long-poll table, the receive unescaper and
// the response parser (bytes in -> frame | need-more | error). Pure functions; any thread.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace floorgate::drivers::sas {

// CRC-16/KERMIT (reflected 0x1021, init 0), as SAS transmits it: low byte first.
std::uint16_t crc16_kermit(std::span<const std::uint8_t> bytes, std::uint16_t crc = 0);
// Appends the CRC (lo, hi) of everything in `frame` to it.
void append_crc(std::vector<std::uint8_t>& frame);
// True when the last two bytes are the CRC of the rest.
bool crc_ok(std::span<const std::uint8_t> frame_with_crc);

// Packed BCD, most significant byte first; nullopt if any nibble > 9.
std::optional<std::uint64_t> decode_bcd(std::span<const std::uint8_t> bytes);
// Encodes `value` mod 10^(2*size) as `size` packed BCD bytes.
std::vector<std::uint8_t> encode_bcd(std::uint64_t value, std::size_t size);

// Long-poll types: R read (no CRC on the request), S set, M multi-byte, G global.
enum class LpType : std::uint8_t { r, s, m, g };
// How the EGM answers a long poll.
enum class RespForm : std::uint8_t { none, ack, fixed, variable };
struct LpInfo {
  std::uint8_t cmd;
  LpType type;
  RespForm form;
  std::uint8_t resp_len;   // fixed: total bytes incl. addr, cmd and CRC; variable: offset of LEN
};
// The table entry for a long-poll command, or nullptr when this driver does not know it.
const LpInfo* lookup_lp(std::uint8_t cmd);

// Builds a long poll: Type R -> `addr cmd`; others -> `addr cmd data CRC`.
std::vector<std::uint8_t> build_lp(std::uint8_t address, std::uint8_t cmd,
                                   std::span<const std::uint8_t> data = {});
// Builds an LP 2F request for game 0 and up to 10 meter codes.
std::vector<std::uint8_t> build_lp2f(std::uint8_t address, std::span<const std::uint8_t> codes);
// LP 6F (extended meters, game 0) for up to 12 one-byte codes (sent as 2-byte LE codes).
std::vector<std::uint8_t> build_lp6f(std::uint8_t address, std::span<const std::uint8_t> codes);
// Byte count of a 2F meter value with this code (5 for the cents meters, else 4).
std::size_t meter_size_2f(std::uint8_t code);
// Number of data bytes following the event code in an RTE record (`addr FF code data CRC`).
std::size_t rte_data_len(std::uint8_t code);

// Receive unescaper for the PARMRK convention (FF 00 X wakeup, FF FF data FF). Stateful across
// chunks. push() returns the number of symbols written to `out` (at most 1 per call).
struct RxSymbol {
  std::uint8_t byte;
  bool wakeup;
};
class RxDecoder {
 public:
  // Feeds one raw byte; returns a symbol when one is complete.
  std::optional<RxSymbol> push(std::uint8_t raw);
  void reset() { state_ = 0; }

 private:
  int state_ = 0;  // 0 idle, 1 after FF, 2 after FF 00
};

// What the host expects in answer to the poll it sent.
struct Expectation {
  std::uint8_t address = 1;
  bool general_poll = true;  // GP (one exception byte) vs long poll `cmd`
  std::uint8_t cmd = 0;
  bool rte = false;          // real-time event mode: `addr FF code data CRC` may answer
};

enum class ParseStatus : std::uint8_t { need_more, complete, error };
enum class FrameKind : std::uint8_t {
  exception,   // GP reply: data[0] = exception code (00 = no activity)
  rte_event,   // addr FF code data CRC
  data,        // addr cmd data CRC
  ack,         // addr
  nack,        // addr|0x80
  busy,        // addr 00
};
enum class ParseError : std::uint8_t { none, bad_address, bad_command, bad_crc, bad_length };
struct ParseResult {
  ParseStatus status = ParseStatus::need_more;
  FrameKind kind = FrameKind::exception;
  ParseError error = ParseError::none;
  std::size_t length = 0;  // bytes of `buf` the complete frame occupies
};
// Parses the bytes received so far (data bytes only, wakeup bytes removed). `gap` = the
// inter-byte deadline passed, so no more bytes belong to this frame (a lone address is an ACK).
ParseResult parse_response(const Expectation& exp, std::span<const std::uint8_t> buf,
                           bool gap = false);

}  // namespace floorgate::drivers::sas
