#include "sas_codec.hpp"

#include <ctime>

namespace floorgate::sim {

std::uint16_t crc16_kermit(std::span<const std::uint8_t> data) {
  std::uint16_t crc = 0;
  for (std::uint8_t b : data) {
    crc ^= b;
    for (int i = 0; i < 8; ++i) {
      crc = (crc & 1U) ? static_cast<std::uint16_t>((crc >> 1) ^ 0x8408U)
                       : static_cast<std::uint16_t>(crc >> 1);
    }
  }
  return crc;
}

void append_crc(Bytes& frame) {
  std::uint16_t crc = crc16_kermit(frame);
  frame.push_back(static_cast<std::uint8_t>(crc & 0xFFU));
  frame.push_back(static_cast<std::uint8_t>(crc >> 8));
}

bool crc_ok(std::span<const std::uint8_t> frame) {
  if (frame.size() < 3) return false;
  std::uint16_t crc = crc16_kermit(frame.first(frame.size() - 2));
  return frame[frame.size() - 2] == (crc & 0xFFU) && frame[frame.size() - 1] == (crc >> 8);
}

void append_bcd(Bytes& out, std::uint64_t value, std::size_t size) {
  std::size_t start = out.size();
  out.resize(start + size, 0);
  for (std::size_t i = 0; i < size; ++i) {
    std::uint8_t lo = static_cast<std::uint8_t>(value % 10);
    value /= 10;
    std::uint8_t hi = static_cast<std::uint8_t>(value % 10);
    value /= 10;
    out[start + size - 1 - i] = static_cast<std::uint8_t>((hi << 4) | lo);
  }
}

std::optional<std::uint64_t> parse_bcd(std::span<const std::uint8_t> bcd) {
  std::uint64_t v = 0;
  for (std::uint8_t b : bcd) {
    std::uint8_t hi = b >> 4, lo = b & 0x0FU;
    if (hi > 9 || lo > 9) return std::nullopt;
    v = v * 100 + hi * 10U + lo;
  }
  return v;
}

void EscapedDecoder::feed(std::span<const std::uint8_t> in, std::vector<WireByte>& out) {
  for (std::uint8_t b : in) {
    switch (state_) {
      case State::kNormal:
        if (b == 0xFF) {
          state_ = State::kSawFf;
        } else {
          out.push_back({b, false});
        }
        break;
      case State::kSawFf:
        if (b == 0xFF) {
          out.push_back({0xFF, false});
          state_ = State::kNormal;
        } else if (b == 0x00) {
          state_ = State::kSawFf00;
        } else {
          // Not a valid PARMRK sequence: keep the FF as data and resynchronise on `b`.
          out.push_back({0xFF, false});
          state_ = State::kNormal;
          if (b != 0xFF) out.push_back({b, false});
        }
        break;
      case State::kSawFf00:
        out.push_back({b, true});
        state_ = State::kNormal;
        break;
    }
  }
}

void escape_append(Bytes& out, std::uint8_t value, bool wakeup) {
  if (wakeup) {
    out.insert(out.end(), {0xFF, 0x00, value});
  } else if (value == 0xFF) {
    out.insert(out.end(), {0xFF, 0xFF});
  } else {
    out.push_back(value);
  }
}

Bytes escape_response(std::span<const std::uint8_t> data) {
  Bytes out;
  out.reserve(data.size() + 4);
  for (std::uint8_t b : data) escape_append(out, b, false);
  return out;
}

}  // namespace floorgate::sim

namespace floorgate::sim {

Bytes response_start(std::uint8_t addr, std::uint8_t cmd) {
  Bytes f;
  f.reserve(80);
  f.push_back(addr);
  f.push_back(cmd);
  return f;
}

void append_sas_datetime(Bytes& out, std::int64_t unix_ms) {
  std::time_t t = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  localtime_r(&t, &tm);
  append_bcd(out, static_cast<std::uint64_t>(tm.tm_mon + 1), 1);
  append_bcd(out, static_cast<std::uint64_t>(tm.tm_mday), 1);
  append_bcd(out, static_cast<std::uint64_t>(tm.tm_year + 1900), 2);
  append_bcd(out, static_cast<std::uint64_t>(tm.tm_hour), 1);
  append_bcd(out, static_cast<std::uint64_t>(tm.tm_min), 1);
  append_bcd(out, static_cast<std::uint64_t>(tm.tm_sec), 1);
}

}  // namespace floorgate::sim
