#include "floorgate/drivers/sas/codec.hpp"

#include <algorithm>
#include <array>

namespace floorgate::drivers::sas {
namespace {

// Reflected CRC-16/CCITT (0x8408) table, built at compile time.
constexpr std::array<std::uint16_t, 256> make_crc_table() {
  std::array<std::uint16_t, 256> t{};
  for (unsigned i = 0; i < 256; ++i) {
    std::uint16_t c = static_cast<std::uint16_t>(i);
    for (int k = 0; k < 8; ++k) c = (c & 1) ? static_cast<std::uint16_t>((c >> 1) ^ 0x8408) : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr auto kCrcTable = make_crc_table();

using R = LpType;
using F = RespForm;
// Long polls this driver sends or may see answered; request/response sizes per the reference.
constexpr LpInfo kLpTable[] = {
    {0x01, R::s, F::ack, 0},      {0x02, R::s, F::ack, 0},      {0x06, R::s, F::ack, 0},
    {0x07, R::s, F::ack, 0},      {0x0E, R::s, F::ack, 0},      {0x0F, R::r, F::fixed, 28},
    {0x10, R::r, F::fixed, 8},    {0x11, R::r, F::fixed, 8},    {0x12, R::r, F::fixed, 8},
    {0x13, R::r, F::fixed, 8},    {0x14, R::r, F::fixed, 8},    {0x15, R::r, F::fixed, 8},
    {0x16, R::r, F::fixed, 8},    {0x17, R::r, F::fixed, 8},    {0x18, R::r, F::fixed, 8},
    {0x19, R::r, F::fixed, 24},   {0x1A, R::r, F::fixed, 8},    {0x1B, R::r, F::fixed, 24},
    {0x1C, R::r, F::fixed, 36},   {0x1E, R::r, F::fixed, 28},   {0x1F, R::r, F::fixed, 24},
    {0x20, R::r, F::fixed, 8},    {0x21, R::s, F::fixed, 6},    {0x2F, R::m, F::variable, 2},
    {0x3D, R::r, F::fixed, 13},
    {0x46, R::r, F::fixed, 8},    {0x48, R::r, F::fixed, 10},   {0x4D, R::s, F::fixed, 35},
    {0x54, R::r, F::variable, 2}, {0x6F, R::m, F::variable, 2}, {0x70, R::r, F::variable, 2},
    {0x71, R::s, F::variable, 2}, {0x72, R::s, F::variable, 2}, {0x7E, R::r, F::fixed, 11},
    {0x7F, R::s, F::ack, 0},      {0x84, R::r, F::fixed, 11},   {0x85, R::r, F::fixed, 11},
    {0x90, R::r, F::fixed, 14},   {0x94, R::s, F::fixed, 5},    {0xAF, R::m, F::variable, 2},
};

}  // namespace

std::uint16_t crc16_kermit(std::span<const std::uint8_t> bytes, std::uint16_t crc) {
  for (std::uint8_t b : bytes) crc = static_cast<std::uint16_t>((crc >> 8) ^ kCrcTable[(crc ^ b) & 0xFF]);
  return crc;
}

void append_crc(std::vector<std::uint8_t>& frame) {
  std::uint16_t c = crc16_kermit(frame);
  frame.push_back(static_cast<std::uint8_t>(c & 0xFF));
  frame.push_back(static_cast<std::uint8_t>(c >> 8));
}

bool crc_ok(std::span<const std::uint8_t> f) {
  if (f.size() < 3) return false;
  std::uint16_t c = crc16_kermit(f.first(f.size() - 2));
  return f[f.size() - 2] == (c & 0xFF) && f[f.size() - 1] == (c >> 8);
}

std::optional<std::uint64_t> decode_bcd(std::span<const std::uint8_t> bytes) {
  std::uint64_t v = 0;
  for (std::uint8_t b : bytes) {
    unsigned hi = b >> 4, lo = b & 0x0F;
    if (hi > 9 || lo > 9) return std::nullopt;
    v = v * 100 + hi * 10 + lo;
  }
  return v;
}

std::vector<std::uint8_t> encode_bcd(std::uint64_t value, std::size_t size) {
  std::vector<std::uint8_t> out(size, 0);
  for (std::size_t i = size; i-- > 0;) {
    unsigned lo = value % 10;
    value /= 10;
    unsigned hi = value % 10;
    value /= 10;
    out[i] = static_cast<std::uint8_t>((hi << 4) | lo);
  }
  return out;
}

const LpInfo* lookup_lp(std::uint8_t cmd) {
  auto it = std::lower_bound(std::begin(kLpTable), std::end(kLpTable), cmd,
                             [](const LpInfo& e, std::uint8_t c) { return e.cmd < c; });
  return (it != std::end(kLpTable) && it->cmd == cmd) ? &*it : nullptr;
}

std::vector<std::uint8_t> build_lp(std::uint8_t address, std::uint8_t cmd,
                                   std::span<const std::uint8_t> data) {
  std::vector<std::uint8_t> f;
  f.reserve(data.size() + 4);
  f.push_back(address);
  f.push_back(cmd);
  const LpInfo* info = lookup_lp(cmd);
  if (info && info->type == LpType::r && data.empty()) return f;
  for (std::uint8_t b : data) f.push_back(b);  // (insert() trips a GCC 12 -Warray-bounds bug)
  append_crc(f);
  return f;
}

std::vector<std::uint8_t> build_lp2f(std::uint8_t address, std::span<const std::uint8_t> codes) {
  std::size_t n = std::min<std::size_t>(codes.size(), 10);
  std::vector<std::uint8_t> f;
  f.reserve(n + 7);
  for (std::uint8_t b : {address, std::uint8_t{0x2F}, static_cast<std::uint8_t>(2 + n),
                         std::uint8_t{0x00}, std::uint8_t{0x00}}) {
    f.push_back(b);
  }
  for (std::size_t i = 0; i < n; ++i) f.push_back(codes[i]);
  append_crc(f);
  return f;
}

std::size_t meter_size_2f(std::uint8_t code) {
  if (code >= 0x0D && code <= 0x10) return 5;
  if (code >= 0xA0 && code <= 0xBC && code % 2 == 0) return 5;  // AFT cents (sas-money.md §7)
  switch (code) {
    case 0x80: case 0x82: case 0x84: case 0x86: case 0x88:
    case 0x8C: case 0x8E: case 0x90: case 0x92: case 0x8A:
      return 5;
    default:
      return 4;
  }
}

std::vector<std::uint8_t> build_lp6f(std::uint8_t address, std::span<const std::uint8_t> codes) {
  std::size_t n = std::min<std::size_t>(codes.size(), 12);
  std::vector<std::uint8_t> f;
  f.reserve(2 * n + 7);
  for (std::uint8_t b : {address, std::uint8_t{0x6F}, static_cast<std::uint8_t>(2 + 2 * n),
                         std::uint8_t{0x00}, std::uint8_t{0x00}}) {
    f.push_back(b);
  }
  for (std::size_t i = 0; i < n; ++i) {
    f.push_back(codes[i]);  // 2-byte codes, little-endian
    f.push_back(0x00);
  }
  append_crc(f);
  return f;
}

std::size_t rte_data_len(std::uint8_t code) {
  switch (code) {
    case 0x7E: return 8;
    case 0x7F: return 4;
    case 0x4F: return 6;
    case 0x88: return 2;
    case 0x8C: return 2;
    case 0x8A: return 4;
    case 0x8B: return 1;
    case 0x7C: return 10;
    default: return 0;
  }
}

std::optional<RxSymbol> RxDecoder::push(std::uint8_t raw) {
  switch (state_) {
    case 0:
      if (raw == 0xFF) {
        state_ = 1;
        return std::nullopt;
      }
      return RxSymbol{raw, false};
    case 1:
      if (raw == 0xFF) {
        state_ = 0;
        return RxSymbol{0xFF, false};
      }
      if (raw == 0x00) {
        state_ = 2;
        return std::nullopt;
      }
      // Not a valid PARMRK sequence: deliver the byte as data (the lone FF is lost).
      state_ = 0;
      return RxSymbol{raw, false};
    default:
      state_ = 0;
      return RxSymbol{raw, true};
  }
}

namespace {

ParseResult done(FrameKind k, std::size_t len) {
  return {ParseStatus::complete, k, ParseError::none, len};
}
ParseResult fail(ParseError e) { return {ParseStatus::error, FrameKind::data, e, 0}; }
constexpr ParseResult kMore{};

// Complete once `total` bytes are there; checks the CRC over them.
ParseResult with_crc(std::span<const std::uint8_t> buf, std::size_t total, FrameKind k) {
  if (buf.size() < total) return kMore;
  if (!crc_ok(buf.first(total))) return fail(ParseError::bad_crc);
  return done(k, total);
}

ParseResult parse_rte(std::span<const std::uint8_t> buf) {
  if (buf.size() < 3) return kMore;
  return with_crc(buf, 3 + rte_data_len(buf[2]) + 2, FrameKind::rte_event);
}

}  // namespace

ParseResult parse_response(const Expectation& exp, std::span<const std::uint8_t> buf, bool gap) {
  if (buf.empty()) return kMore;
  const std::uint8_t a = exp.address;
  if (exp.general_poll) {
    // In RTE mode a plain exception byte is still accepted (00 = nothing pending).
    if (buf[0] != a) return done(FrameKind::exception, 1);
    // A byte equal to the address starts `addr FF code .. CRC` in RTE mode, or is an exception
    // code (0x11 from address 0x11). It is the code only if nothing follows it within the
    // inter-byte time, in either mode we believe the EGM is in: one left in RTE mode by an
    // earlier host sends frames while we believe RTE off, and one we believe in RTE mode sends
    // plain codes until it has ACKed LP 0E (or for good, if it ignores it).
    if (buf.size() < 2) return gap ? done(FrameKind::exception, 1) : kMore;
    // An LP 21 answer computed in the background arrives as the reply to a later GP.
    if (buf[1] == 0x21) return with_crc(buf, 6, FrameKind::data);
    if (buf[1] == 0xFF) return parse_rte(buf);
    return exp.rte ? fail(ParseError::bad_command) : done(FrameKind::exception, 1);
  }
  if (buf[0] == (a | 0x80)) return done(FrameKind::nack, 1);
  if (buf[0] != a) return fail(ParseError::bad_address);
  const LpInfo* info = lookup_lp(exp.cmd);
  const RespForm form = info ? info->form : RespForm::ack;
  // A lone address is an ACK only at the inter-byte gap: an EGM in RTE mode (even one we
  // believe is not, left so by an earlier host) may follow it with `FF code .. CRC`, and an
  // event cut short here would be taken as delivered by the EGM.
  if (buf.size() == 1) return gap ? done(FrameKind::ack, 1) : kMore;
  if (buf[1] == 0x00) return done(FrameKind::busy, 2);
  // An RTE event instead of the answer (no long poll uses command FF, so accept it always:
  // an EGM keeps RTE on across a host restart).
  if (buf[1] == 0xFF) return parse_rte(buf);
  if (form == RespForm::ack) return done(FrameKind::ack, 1);
  if (buf[1] != exp.cmd) return fail(ParseError::bad_command);
  if (form == RespForm::fixed) return with_crc(buf, info->resp_len, FrameKind::data);
  if (form == RespForm::variable) {
    if (buf.size() <= info->resp_len) return kMore;
    return with_crc(buf, std::size_t{info->resp_len} + 1 + buf[info->resp_len] + 2, FrameKind::data);
  }
  return fail(ParseError::bad_length);
}

}  // namespace floorgate::drivers::sas
