// The simulator's own CRC/BCD/escaping code against the published vectors (sas.md §7).
#include <gtest/gtest.h>

#include <string>

#include "amounts.hpp"
#include "exception_queue.hpp"
#include "sas_codec.hpp"

using namespace floorgate::sim;

namespace {

Bytes ascii(const std::string& s) { return Bytes(s.begin(), s.end()); }

Bytes cat(Bytes a, const Bytes& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

struct Vector {
  Bytes frame;
  std::uint8_t lo, hi;
};

}  // namespace

TEST(SimCrc, PublishedVectors) {
  Bytes hp{0x01, 0x1B, 0x00, 0x40, 0x00, 0x00, 0x12, 0x50, 0x00, 0x00, 0x00, 0x00};
  hp.insert(hp.end(), 10, 0x00);
  const std::vector<Vector> vectors = {
      {ascii("123456789"), 0x89, 0x21},
      {{0x01, 0x01}, 0x51, 0x08},
      {{0x01, 0x02}, 0xCA, 0x3A},
      {{0x01, 0x0E, 0x01}, 0x45, 0xD1},
      {{0x01, 0x0E, 0x00}, 0xCC, 0xC0},
      {{0x01, 0x94}, 0x75, 0xCB},
      {{0x01, 0x2F, 0x03, 0x00, 0x00, 0x0C}, 0xE7, 0xE1},
      {{0x01, 0x2F, 0x06, 0x00, 0x00, 0x00, 0x01, 0x02, 0x05}, 0xB3, 0x2C},
      {{0x01, 0x7F, 0x03, 0x15, 0x20, 0x24, 0x13, 0x45, 0x30}, 0xED, 0x74},
      {{0x01, 0x1A, 0x00, 0x00, 0x12, 0x34}, 0x45, 0x2D},
      {{0x01, 0x2F, 0x07, 0x00, 0x00, 0x0C, 0x00, 0x00, 0x12, 0x34}, 0x8E, 0x77},
      {{0x01, 0xFF, 0x11}, 0x14, 0xA4},
      {{0x01, 0xFF, 0x00}, 0x1C, 0xA5},
      {{0x01, 0x94, 0x00}, 0xE1, 0x24},
      {{0x01, 0x48, 0x37, 0x04, 0x00, 0x00, 0x00, 0x05}, 0xE9, 0x39},
      {cat({0x01, 0x54, 0x0B}, ascii("60212345678")), 0xCC, 0xDC},
      {hp, 0xB1, 0x59},
  };
  for (const Vector& v : vectors) {
    Bytes f = v.frame;
    append_crc(f);
    ASSERT_EQ(f.size(), v.frame.size() + 2);
    EXPECT_EQ(f[f.size() - 2], v.lo) << "frame size " << v.frame.size();
    EXPECT_EQ(f[f.size() - 1], v.hi) << "frame size " << v.frame.size();
    EXPECT_TRUE(crc_ok(f));
    f.back() ^= 1;
    EXPECT_FALSE(crc_ok(f));
  }
  EXPECT_EQ(crc16_kermit(ascii("123456789")), 0x2189);
}

TEST(SimBcd, EncodesBigEndianAndRollsOver) {
  Bytes out;
  append_bcd(out, 1234, 4);
  EXPECT_EQ(out, (Bytes{0x00, 0x00, 0x12, 0x34}));
  out.clear();
  append_bcd(out, 123'456'789, 4);  // 4 bytes hold 8 digits: rolls over mod 10^8
  EXPECT_EQ(out, (Bytes{0x23, 0x45, 0x67, 0x89}));
  out.clear();
  append_bcd(out, 9'999'999'999ULL + 2, 5);
  EXPECT_EQ(out, (Bytes{0x00, 0x00, 0x00, 0x00, 0x01}));
  EXPECT_EQ(parse_bcd(Bytes{0x12, 0x50, 0x00}), 125000U);
  EXPECT_FALSE(parse_bcd(Bytes{0x1A}).has_value());
}

TEST(SimEscaping, DecodesMarksAtEverySplitPoint) {
  const Bytes stream{0x11, 0xFF, 0x00, 0x81, 0xFF, 0xFF, 0x22, 0xFF, 0x00, 0xFF, 0x33};
  const std::vector<std::pair<int, bool>> want = {{0x11, false}, {0x81, true}, {0xFF, false},
                                                  {0x22, false}, {0xFF, true}, {0x33, false}};
  for (std::size_t split = 0; split <= stream.size(); ++split) {
    EscapedDecoder d;
    std::vector<WireByte> got;
    d.feed(std::span(stream).first(split), got);
    d.feed(std::span(stream).subspan(split), got);
    ASSERT_EQ(got.size(), want.size()) << "split " << split;
    for (std::size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(got[i].value, want[i].first);
      EXPECT_EQ(got[i].wakeup, want[i].second);
    }
  }
}

TEST(SimEscaping, EncodesWakeupAndLiteralFf) {
  Bytes out;
  escape_append(out, 0x81, true);
  escape_append(out, 0xFF, false);
  escape_append(out, 0x05, false);
  EXPECT_EQ(out, (Bytes{0xFF, 0x00, 0x81, 0xFF, 0xFF, 0x05}));
  EXPECT_EQ(escape_response(Bytes{0x01, 0xFF, 0x11}), (Bytes{0x01, 0xFF, 0xFF, 0x11}));
}

TEST(SimEscaping, InvalidMarkKeepsDataAndResyncs) {
  EscapedDecoder d;
  std::vector<WireByte> got;
  d.feed(Bytes{0xFF, 0x12}, got);
  ASSERT_EQ(got.size(), 2U);
  EXPECT_EQ(got[0].value, 0xFF);
  EXPECT_EQ(got[1].value, 0x12);
  EXPECT_FALSE(got[1].wakeup);
}

TEST(SimQueue, PriorityFlagsFirstAndMerged) {
  ExceptionQueue q(25);
  q.push({0x11, 1, {}});
  q.push({0x70, 2, {}});
  q.push({0x57, 3, {}});
  EXPECT_EQ(q.front()->code, 0x57);
  PushResult r = q.push({0x70, 4, {}});
  EXPECT_TRUE(r.merged);
  EXPECT_EQ(r.merged_into, 2U);
  EXPECT_TRUE(q.remove(3));
  EXPECT_EQ(q.front()->code, 0x70);
  EXPECT_TRUE(q.remove(2));
  EXPECT_EQ(q.front()->code, 0x11);
  EXPECT_FALSE(q.remove(2));
}

TEST(SimQueue, OverflowDropsPerPolicyAndSparesTheInFlightItem) {
  ExceptionQueue oldest(3, OverflowPolicy::kDropOldest);
  for (std::uint64_t s = 1; s <= 3; ++s) oldest.push({0x11, s, {}});
  PushResult r = oldest.push({0x12, 4, {}}, /*in_flight=*/1);
  EXPECT_TRUE(r.overflow);
  EXPECT_EQ(r.dropped, 2U);
  EXPECT_EQ(oldest.front()->seq, 1U);
  EXPECT_EQ(oldest.fifo_size(), 3U);

  ExceptionQueue newest(2, OverflowPolicy::kDropNewest);
  newest.push({0x11, 1, {}});
  newest.push({0x11, 2, {}});
  r = newest.push({0x12, 3, {}});
  EXPECT_TRUE(r.overflow);
  EXPECT_EQ(r.dropped, 3U);
  EXPECT_EQ(newest.fifo_size(), 2U);
}

TEST(SimAmounts, ParsesMoneyCodesAndRates) {
  EXPECT_EQ(parse_money_cents("1,250.00"), 125000U);
  EXPECT_EQ(parse_money_cents("$20"), 2000U);
  EXPECT_EQ(parse_money_cents("0.5"), 50U);
  EXPECT_FALSE(parse_money_cents("12.345").has_value());
  EXPECT_FALSE(parse_money_cents("abc").has_value());
  EXPECT_EQ(parse_hex_byte("7a"), 0x7A);
  EXPECT_EQ(parse_hex_byte("0x11"), 0x11);
  EXPECT_FALSE(parse_hex_byte("123").has_value());
  EXPECT_EQ(parse_rate("0.25"), 0.25);
  EXPECT_FALSE(parse_rate("1.5").has_value());
}
