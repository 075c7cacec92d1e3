// Egm: the long-poll answers (sas.md §11-§13). Every builder returns the unescaped response
// including its CRC; an empty result means "no answer" (unsupported).
#include <ctime>

#include "egm.hpp"

namespace floorgate::sim {
namespace {

void append_zeros(Bytes& out, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) out.push_back(0x00);
}

void append_ascii(Bytes& out, const std::string& s, std::size_t width) {
  for (std::size_t i = 0; i < width; ++i) {
    out.push_back(static_cast<std::uint8_t>(i < s.size() ? s[i] : '0'));
  }
}

}  // namespace

std::optional<Bytes> Egm::long_poll(std::span<const std::uint8_t> frame) {
  std::uint8_t cmd = frame[1];
  pending_ = Pending::kNone;
  pending_id_ = 0;
  pending_commit_ = nullptr;
  if (rte_) {
    // With an event pending, Monaco answers any addressed long poll with the event instead.
    if (const QueuedEvent* ev = queue_.front()) {
      pending_ = Pending::kException;
      pending_id_ = ev->seq;
      return event_frame(ev);
    }
  }
  if (cfg_.lacks.count(cmd) != 0) return std::nullopt;  // not supported: silence
  Bytes ans = long_poll_answer(cmd, frame);
  if (ans.empty()) return std::nullopt;
  return ans;
}

Bytes Egm::long_poll_answer(std::uint8_t cmd, std::span<const std::uint8_t> frame) {
  using namespace meter;
  switch (cmd) {
    case 0x01: play_enabled_ = false; return ack();
    case 0x02: play_enabled_ = true; return ack();
    case 0x0E:
      if (frame[2] > 1) return nack();
      rte_ = frame[2] == 1;
      return ack();
    case 0x0F:
      return meter_frame(cmd, {kCancelledCredits, kCoinIn, kCoinOut, kTotalDrop, kJackpot,
                               kGamesPlayed});
    case 0x10: return meter_frame(cmd, {kCancelledCredits});
    case 0x11: return meter_frame(cmd, {kCoinIn});
    case 0x12: return meter_frame(cmd, {kCoinOut});
    case 0x13: return meter_frame(cmd, {kTotalDrop});
    case 0x14: return meter_frame(cmd, {kJackpot});
    case 0x15: return meter_frame(cmd, {kGamesPlayed});
    case 0x16: return meter_frame(cmd, {kGamesWon});
    case 0x17: return meter_frame(cmd, {kGamesLost});
    case 0x18: {
      Bytes f = response_start(cfg_.address, cmd);
      append_bcd(f, meters_.get(kGamesSincePower), 2);
      append_bcd(f, meters_.get(kGamesSinceDoor), 2);
      append_crc(f);
      return f;
    }
    case 0x19: return meter_frame(cmd, {kCoinIn, kCoinOut, kTotalDrop, kJackpot, kGamesPlayed});
    case 0x1A: return meter_frame(cmd, {kCurrentCredits});
    case 0x1B: return lp_1b();
    case 0x1C: return lp_1c();
    case 0x1E: return lp_1e();
    case 0x1F: return lp_1f();
    case 0x20: {
      Bytes f = response_start(cfg_.address, cmd);
      append_bcd(f, bill_dollars_, 4);
      append_crc(f);
      return f;
    }
    case 0x2F: return lp_2f(frame);
    case 0x6F: case 0xAF: return lp_6f(frame);
    case 0x48: return lp_48();
    case 0x54: return lp_54();
    case 0x7E: return lp_7e();
    case 0x7F: return lp_7f(frame);
    case 0x94: return lp_94();
    case 0x21: return lp_21(frame);
    case 0x3D: return lp_3d();
    case 0x4D: return lp_4d(frame);
    case 0x70: return lp_70();
    case 0x71: return lp_71(frame);
    case 0x72: return lp_72(frame);
    case 0x84: case 0x85: return lp_84_85(cmd);
    case 0x90: return lp_90();
    case 0x46: return meter_frame(cmd, {kBillCredits});
    default: return {};
  }
}

// ROM signature: ACK now, the signature on a GP once "computed" (sas-money.md §10).
Bytes Egm::lp_21(std::span<const std::uint8_t> frame) {
  Bytes data;
  data.reserve(2 + cfg_.program.size());
  data.push_back(frame[2]);
  data.push_back(frame[3]);
  for (char c : cfg_.program) data.push_back(static_cast<std::uint8_t>(c));
  const std::uint16_t sig = crc16_kermit(data);
  rom_answer_ = response_start(cfg_.address, 0x21);
  rom_answer_.push_back(static_cast<std::uint8_t>(sig & 0xFFU));
  rom_answer_.push_back(static_cast<std::uint8_t>(sig >> 8));
  append_crc(rom_answer_);
  rom_ready_at_ = clock_.steady_ms() + cfg_.rom_ms;
  return ack();
}

Bytes Egm::meter_frame(std::uint8_t cmd, std::initializer_list<std::uint8_t> codes) {
  Bytes f = response_start(cfg_.address, cmd);
  for (std::uint8_t c : codes) append_bcd(f, meters_.get(c), 4);
  append_crc(f);
  return f;
}

Bytes Egm::lp_1b() {
  Bytes f = response_start(cfg_.address, 0x1B);
  if (handpays_.empty()) {
    append_zeros(f, 20);
  } else {
    const HandpayRecord& h = handpays_.front();
    pending_ = Pending::kHandpay;
    pending_id_ = h.id;
    f.push_back(0x00);  // progressive group
    f.push_back(h.level);
    append_bcd(f, h.amount, 5);
    append_bcd(f, 0, 2);  // partial pay
    f.push_back(0x00);    // reset ID: standard key-off only
    append_zeros(f, 10);
  }
  append_crc(f);
  return f;
}

Bytes Egm::lp_1c() {
  using namespace meter;
  Bytes f = response_start(cfg_.address, 0x1C);
  for (std::uint8_t c : {kCoinIn, kCoinOut, kTotalDrop, kJackpot, kGamesPlayed, kGamesWon}) {
    append_bcd(f, meters_.get(c), 4);
  }
  append_bcd(f, slot_door_opens_, 4);
  append_bcd(f, power_resets_, 4);
  append_crc(f);
  return f;
}

Bytes Egm::lp_1e() {
  Bytes f = response_start(cfg_.address, 0x1E);
  for (std::uint8_t c : {0x40, 0x42, 0x43, 0x44, 0x46, 0x47}) {  // $1 $5 $10 $20 $50 $100
    append_bcd(f, meters_.get(c), 4);
  }
  append_crc(f);
  return f;
}

Bytes Egm::lp_1f() {
  Bytes f = response_start(cfg_.address, 0x1F);
  append_ascii(f, cfg_.game_id, 2);
  append_ascii(f, "000", 3);
  f.push_back(cfg_.denomination);
  f.push_back(0xFF);  // max bet > 255
  f.push_back(0x00);  // progressive group
  f.push_back(0x00);  // game options, little-endian
  f.push_back(0x00);
  append_ascii(f, cfg_.paytable, 6);
  append_ascii(f, cfg_.base_pct, 4);
  append_crc(f);
  return f;
}

Bytes Egm::lp_2f(std::span<const std::uint8_t> frame) {
  std::uint8_t len = frame[2];
  if (len < 3 || len > 12 || frame.size() != 3U + len + 2U) return nack();
  auto game = parse_bcd(frame.subspan(3, 2));
  if (!game) return nack();
  Bytes body;
  body.push_back(frame[3]);
  body.push_back(frame[4]);
  if (*game == 0) {
    for (std::size_t i = 5; i < 3U + len; ++i) {
      std::uint8_t code = frame[i];
      if (!meters_.supported(code)) continue;  // unsupported codes are omitted
      body.push_back(code);
      append_bcd(body, meters_.get(code), Meters::size_of(code));
    }
  }
  Bytes f = response_start(cfg_.address, 0x2F);
  f.push_back(static_cast<std::uint8_t>(body.size()));
  for (std::uint8_t b : body) f.push_back(b);
  append_crc(f);
  return f;
}

Bytes Egm::lp_6f(std::span<const std::uint8_t> frame) {
  // addr 6F LEN GAME(2 BCD) {CODE(2, LE)}... CRC -> {CODE(2, LE) SIZE VALUE(SIZE BCD)}...
  std::uint8_t len = frame[2];
  if (len < 4 || len % 2 != 0 || frame.size() != 3U + len + 2U) return nack();
  auto game = parse_bcd(frame.subspan(3, 2));
  if (!game) return nack();
  Bytes body;
  body.reserve(128);
  body.push_back(frame[3]);
  body.push_back(frame[4]);
  for (std::size_t i = 5; *game == 0 && i + 1 < 3U + len; i += 2) {
    std::uint16_t code = static_cast<std::uint16_t>(frame[i] | (frame[i + 1] << 8));
    if (code > 0xFF || !meters_.supported(static_cast<std::uint8_t>(code))) continue;
    std::size_t size = Meters::size_of(static_cast<std::uint8_t>(code));
    body.push_back(frame[i]);
    body.push_back(frame[i + 1]);
    body.push_back(static_cast<std::uint8_t>(size));
    append_bcd(body, meters_.get(static_cast<std::uint8_t>(code)), size);
  }
  if (body.size() > 0xFF) return nack();
  Bytes f = response_start(cfg_.address, frame[1]);
  f.push_back(static_cast<std::uint8_t>(body.size()));
  for (std::uint8_t b : body) f.push_back(b);
  append_crc(f);
  return f;
}

Bytes Egm::lp_48() {
  Bytes f = response_start(cfg_.address, 0x48);
  f.push_back(last_bill_count_ == 0 ? std::uint8_t{0} : std::uint8_t{0x37});
  f.push_back(last_bill_denom_);
  append_bcd(f, last_bill_count_, 4);
  append_crc(f);
  return f;
}

Bytes Egm::lp_54() {
  Bytes f = response_start(cfg_.address, 0x54);
  std::string serial = cfg_.serial.substr(0, 40);
  f.push_back(static_cast<std::uint8_t>(3 + serial.size()));
  append_ascii(f, cfg_.version, 3);
  append_ascii(f, serial, serial.size());
  append_crc(f);
  return f;
}

// LP 7E/7F carry the machine's local date and time.
Bytes Egm::lp_7e() {
  Bytes f = response_start(cfg_.address, 0x7E);
  append_sas_datetime(f, clock_.unix_ms() + clock_offset_ms_);
  append_crc(f);
  return f;
}

Bytes Egm::lp_7f(std::span<const std::uint8_t> frame) {
  if (frame.size() < 11) return {};
  auto field = [&](std::size_t at, std::size_t n) {
    int v = 0;
    for (std::size_t i = at; i < at + n; ++i) v = v * 100 + (frame[i] >> 4) * 10 + (frame[i] & 0x0F);
    return v;
  };
  std::tm tm{};
  tm.tm_mon = field(2, 1) - 1;
  tm.tm_mday = field(3, 1);
  tm.tm_year = field(4, 2) - 1900;
  tm.tm_hour = field(6, 1);
  tm.tm_min = field(7, 1);
  tm.tm_sec = field(8, 1);
  tm.tm_isdst = -1;
  std::time_t t = std::mktime(&tm);
  if (t == static_cast<std::time_t>(-1) || tm.tm_mday == 0) return {};
  clock_offset_ms_ = static_cast<std::int64_t>(t) * 1000 - clock_.unix_ms();
  return ack();
}

Bytes Egm::lp_94() {
  std::uint8_t code = 0x02;  // not in handpay
  if (handpays_awaiting_reset_ > 0) {
    --handpays_awaiting_reset_;
    code = 0x00;
    raise(0x52);
  }
  Bytes f = response_start(cfg_.address, 0x94);
  f.push_back(code);
  append_crc(f);
  return f;
}

}  // namespace floorgate::sim
