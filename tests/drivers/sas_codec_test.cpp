// Codec unit tests: CRC vectors from the reference, BCD, the LP table and the response parser
// at every split point.
#include <gtest/gtest.h>

#include <string>

#include "floorgate/drivers/sas/byte_stream.hpp"
#include "floorgate/drivers/sas/codec.hpp"
#include "sas/tables.hpp"

using namespace floorgate::drivers::sas;
using Bytes = std::vector<std::uint8_t>;

namespace {
Bytes with_crc(Bytes b) {
  append_crc(b);
  return b;
}
std::uint16_t crc_of(const Bytes& b) { return crc16_kermit(b); }
Bytes ascii(const std::string& s) { return Bytes(s.begin(), s.end()); }
}  // namespace

TEST(SasCrc, ReferenceVectors) {
  EXPECT_EQ(crc_of(ascii("123456789")), 0x2189);
  EXPECT_EQ(with_crc({0x01, 0x01}), (Bytes{0x01, 0x01, 0x51, 0x08}));
  EXPECT_EQ(with_crc({0x01, 0x02}), (Bytes{0x01, 0x02, 0xCA, 0x3A}));
  EXPECT_EQ(with_crc({0x01, 0x0E, 0x01}), (Bytes{0x01, 0x0E, 0x01, 0x45, 0xD1}));
  EXPECT_EQ(with_crc({0x01, 0x0E, 0x00}), (Bytes{0x01, 0x0E, 0x00, 0xCC, 0xC0}));
  EXPECT_EQ(with_crc({0x01, 0x94}), (Bytes{0x01, 0x94, 0x75, 0xCB}));
  EXPECT_EQ(crc_of({0x01, 0x2F, 0x03, 0x00, 0x00, 0x0C}), 0xE1E7);
  EXPECT_EQ(crc_of({0x01, 0x2F, 0x06, 0x00, 0x00, 0x00, 0x01, 0x02, 0x05}), 0x2CB3);
  EXPECT_EQ(crc_of({0x01, 0x7F, 0x03, 0x15, 0x20, 0x24, 0x13, 0x45, 0x30}), 0x74ED);
  EXPECT_EQ(crc_of({0x01, 0x1A, 0x00, 0x00, 0x12, 0x34}), 0x2D45);
  EXPECT_EQ(crc_of({0x01, 0x2F, 0x07, 0x00, 0x00, 0x0C, 0x00, 0x00, 0x12, 0x34}), 0x778E);
  EXPECT_EQ(crc_of({0x01, 0xFF, 0x11}), 0xA414);
  EXPECT_EQ(crc_of({0x01, 0xFF, 0x00}), 0xA51C);
  EXPECT_EQ(crc_of({0x01, 0x94, 0x00}), 0x24E1);
  EXPECT_EQ(crc_of({0x01, 0x48, 0x37, 0x04, 0x00, 0x00, 0x00, 0x05}), 0x39E9);
  Bytes lp54{0x01, 0x54, 0x0B};
  for (char c : std::string("60212345678")) lp54.push_back(static_cast<std::uint8_t>(c));
  EXPECT_EQ(crc_of(lp54), 0xDCCC);
  Bytes lp1b{0x01, 0x1B, 0x00, 0x40, 0x00, 0x00, 0x12, 0x50, 0x00, 0x00, 0x00, 0x00};
  lp1b.resize(lp1b.size() + 10, 0x00);
  EXPECT_EQ(crc_of(lp1b), 0x59B1);
}

TEST(SasCrc, CrcOkDetectsCorruption) {
  Bytes f = with_crc({0x01, 0x1A, 0x00, 0x00, 0x12, 0x34});
  EXPECT_TRUE(crc_ok(f));
  f[3] ^= 0x01;
  EXPECT_FALSE(crc_ok(f));
  EXPECT_FALSE(crc_ok(Bytes{0x01, 0x02}));
}

TEST(SasBcd, RoundTripAndValidation) {
  EXPECT_EQ(decode_bcd(Bytes{0x00, 0x00, 0x12, 0x34}), 1234u);
  EXPECT_EQ(decode_bcd(Bytes{0x99, 0x99, 0x99, 0x99}), 99999999u);
  EXPECT_EQ(decode_bcd(Bytes{0x1A}), std::nullopt);
  EXPECT_EQ(decode_bcd(Bytes{0xA1}), std::nullopt);
  EXPECT_EQ(encode_bcd(1234, 4), (Bytes{0x00, 0x00, 0x12, 0x34}));
  EXPECT_EQ(encode_bcd(123456789, 4), (Bytes{0x23, 0x45, 0x67, 0x89}));  // rolls over mod 10^8
  EXPECT_EQ(decode_bcd(encode_bcd(9876543210ull, 5)), 9876543210ull);
}

TEST(SasLpTable, TypesAndBuilders) {
  ASSERT_NE(lookup_lp(0x1B), nullptr);
  EXPECT_EQ(lookup_lp(0x1B)->resp_len, 24);
  EXPECT_EQ(lookup_lp(0x54)->form, RespForm::variable);
  EXPECT_EQ(lookup_lp(0x33), nullptr);
  EXPECT_EQ(build_lp(1, 0x54), (Bytes{0x01, 0x54}));  // Type R: no CRC
  EXPECT_EQ(build_lp(1, 0x94), (Bytes{0x01, 0x94, 0x75, 0xCB}));
  const std::uint8_t on = 1;
  EXPECT_EQ(build_lp(1, 0x0E, std::span(&on, 1)), (Bytes{0x01, 0x0E, 0x01, 0x45, 0xD1}));
  Bytes codes{0x00, 0x01, 0x02, 0x05};
  EXPECT_EQ(build_lp2f(1, codes),
            (Bytes{0x01, 0x2F, 0x06, 0x00, 0x00, 0x00, 0x01, 0x02, 0x05, 0xB3, 0x2C}));
  EXPECT_EQ(meter_size_2f(0x0D), 5u);
  EXPECT_EQ(meter_size_2f(0x8C), 5u);
  EXPECT_EQ(meter_size_2f(0x0C), 4u);
}

TEST(SasEscape, WakeupAndLiteralFF) {
  EXPECT_EQ(escape_frame(Bytes{0x81}), (Bytes{0xFF, 0x00, 0x81}));
  EXPECT_EQ(escape_frame(Bytes{0x01, 0xFF, 0x11}), (Bytes{0xFF, 0x00, 0x01, 0xFF, 0xFF, 0x11}));
}

TEST(SasRxDecoder, DecodesEverySplit) {
  Bytes raw{0x01, 0xFF, 0xFF, 0x11, 0xFF, 0x00, 0x05, 0x22};
  RxDecoder d;
  std::vector<RxSymbol> out;
  for (auto b : raw) {
    if (auto s = d.push(b)) out.push_back(*s);
  }
  ASSERT_EQ(out.size(), 5u);
  EXPECT_EQ(out[1].byte, 0xFF);
  EXPECT_FALSE(out[1].wakeup);
  EXPECT_EQ(out[3].byte, 0x05);
  EXPECT_TRUE(out[3].wakeup);
  EXPECT_EQ(out[4].byte, 0x22);
}

namespace {
Expectation lp(std::uint8_t cmd, bool rte = false) { return {1, false, cmd, rte}; }

// Every proper prefix must be need_more; the full frame complete with the given kind and length.
void expect_all_splits(const Expectation& exp, const Bytes& frame, FrameKind kind) {
  for (std::size_t n = 0; n < frame.size(); ++n) {
    auto r = parse_response(exp, std::span(frame).first(n));
    EXPECT_EQ(r.status, ParseStatus::need_more) << "prefix " << n;
  }
  auto r = parse_response(exp, frame);
  ASSERT_EQ(r.status, ParseStatus::complete);
  EXPECT_EQ(r.kind, kind);
  EXPECT_EQ(r.length, frame.size());
  // Trailing bytes after a complete frame do not change the result.
  Bytes longer = frame;
  longer.push_back(0x42);
  EXPECT_EQ(parse_response(exp, longer).length, frame.size());
}
}  // namespace

TEST(SasParser, FixedLpAtEverySplit) {
  Bytes f = with_crc({0x01, 0x1A, 0x00, 0x00, 0x12, 0x34});
  expect_all_splits(lp(0x1A), f, FrameKind::data);
  Bytes hp{0x01, 0x1B, 0x00, 0x40, 0x00, 0x00, 0x12, 0x50, 0x00, 0x00, 0x00, 0x00};
  hp.resize(22, 0);
  expect_all_splits(lp(0x1B), with_crc(hp), FrameKind::data);
}

TEST(SasParser, VariableLpAtEverySplit) {
  Bytes f{0x01, 0x54, 0x0B};
  for (char c : std::string("60212345678")) f.push_back(static_cast<std::uint8_t>(c));
  expect_all_splits(lp(0x54), with_crc(f), FrameKind::data);
  expect_all_splits(lp(0x2F), with_crc({0x01, 0x2F, 0x07, 0x00, 0x00, 0x0C, 0x00, 0x00, 0x12, 0x34}),
                    FrameKind::data);
}

TEST(SasParser, RteEventAtEverySplit) {
  expect_all_splits({1, true, 0, true}, with_crc({0x01, 0xFF, 0x11}), FrameKind::rte_event);
  expect_all_splits({1, true, 0, true},
                    with_crc({0x01, 0xFF, 0x4F, 0x37, 0x04, 0x00, 0x00, 0x00, 0x05}),
                    FrameKind::rte_event);
  // An event instead of a long poll's answer.
  expect_all_splits(lp(0x1A, true), with_crc({0x01, 0xFF, 0x7F, 0x00, 0x00, 0x00, 0x50}),
                    FrameKind::rte_event);
}

TEST(SasParser, ShortForms) {
  EXPECT_EQ(parse_response({1, true, 0, false}, Bytes{0x11}).kind, FrameKind::exception);
  EXPECT_EQ(parse_response(lp(0x1A), Bytes{0x81}).kind, FrameKind::nack);
  auto busy = parse_response(lp(0x1A), Bytes{0x01, 0x00});
  EXPECT_EQ(busy.kind, FrameKind::busy);
  EXPECT_EQ(busy.length, 2u);
  // A lone address may be followed by an event (RTE on, or left on by an earlier host):
  // complete only at the gap.
  EXPECT_EQ(parse_response(lp(0x0E), Bytes{0x01}).status, ParseStatus::need_more);
  EXPECT_EQ(parse_response(lp(0x0E), Bytes{0x01}, true).kind, FrameKind::ack);
  EXPECT_EQ(parse_response(lp(0x0E, true), Bytes{0x01}).status, ParseStatus::need_more);
  EXPECT_EQ(parse_response(lp(0x0E, true), Bytes{0x01}, true).kind, FrameKind::ack);
}

TEST(SasParser, RteFrameWhileRteBelievedOff) {
  // An EGM left in RTE mode answers a general poll with `addr FF code .. CRC` although we
  // never enabled RTE: parsed as an event, not as exception 0x01 followed by noise.
  const Expectation gp{1, true, 0, false};
  expect_all_splits(gp, with_crc({0x01, 0xFF, 0x11}), FrameKind::rte_event);
  expect_all_splits(gp, with_crc({0x01, 0xFF, 0x4F, 0x37, 0x04, 0x00, 0x00, 0x00, 0x05}),
                    FrameKind::rte_event);
  // A byte equal to the address is an exception code only when nothing follows it.
  EXPECT_EQ(parse_response(gp, Bytes{0x01}).status, ParseStatus::need_more);
  EXPECT_EQ(parse_response(gp, Bytes{0x01}, true).kind, FrameKind::exception);
  auto code_then_next = parse_response(gp, Bytes{0x01, 0x22});
  EXPECT_EQ(code_then_next.kind, FrameKind::exception);
  EXPECT_EQ(code_then_next.length, 1u);
  // Any other exception byte completes at once, as before.
  EXPECT_EQ(parse_response(gp, Bytes{0x11}).kind, FrameKind::exception);
  // The same event instead of an ACK-form long poll's answer.
  expect_all_splits(lp(0x0E), with_crc({0x01, 0xFF, 0x11}), FrameKind::rte_event);
}

// The other way round: RTE believed on (configured, before the EGM has ACKed LP 0E, or an EGM
// that ignores it) while the EGM answers with plain exception bytes. One equal to the address
// completes at the inter-byte gap; before, it waited for more until the reply timeout, was
// retried and was lost to the implied ACK of the poll after.
TEST(SasParser, ExceptionEqualToTheAddressWhileRteBelievedOn) {
  const Expectation gp{0x17, true, 0, true};
  EXPECT_EQ(parse_response(gp, Bytes{0x17}).status, ParseStatus::need_more);
  auto code = parse_response(gp, Bytes{0x17}, true);
  EXPECT_EQ(code.status, ParseStatus::complete);
  EXPECT_EQ(code.kind, FrameKind::exception);
  EXPECT_EQ(code.length, 1u);
  expect_all_splits(gp, with_crc({0x17, 0xFF, 0x11}), FrameKind::rte_event);
  EXPECT_EQ(parse_response(gp, Bytes{0x11}).kind, FrameKind::exception);
}

// LP 21: ACK at once, or the signature straight away; later the signature as the answer to a
// general poll (ahead of any exception), in either RTE mode.
TEST(SasParser, RomSignatureDirectAndDeferred) {
  const Bytes sig = with_crc({0x01, 0x21, 0x34, 0x12});
  EXPECT_EQ(parse_response(lp(0x21), Bytes{0x01}, true).kind, FrameKind::ack);
  expect_all_splits(lp(0x21), sig, FrameKind::data);
  expect_all_splits({1, true, 0, false}, sig, FrameKind::data);
  expect_all_splits({1, true, 0, true}, sig, FrameKind::data);
  Bytes bad = sig;
  bad[2] ^= 1;
  EXPECT_EQ(parse_response({1, true, 0, false}, bad).error, ParseError::bad_crc);
}

TEST(SasParser, Errors) {
  EXPECT_EQ(parse_response(lp(0x1A), Bytes{0x02}).error, ParseError::bad_address);
  EXPECT_EQ(parse_response(lp(0x1A), Bytes{0x01, 0x1B}).error, ParseError::bad_command);
  Bytes f = with_crc({0x01, 0x1A, 0x00, 0x00, 0x12, 0x34});
  f[4] = 0x13;
  EXPECT_EQ(parse_response(lp(0x1A), f).error, ParseError::bad_crc);
  EXPECT_EQ(parse_response({1, true, 0, true}, Bytes{0x01, 0x22}).error, ParseError::bad_command);
}

// Software integrity exceptions go to security; only the codes that lose meters trigger a
// meter-reset snapshot (0x31 is "recovered from EEPROM": nothing was lost).
TEST(SasTables, IntegrityExceptionsAreSecurityAndOnlyLossResetsMeters) {
  using floorgate::drivers::EventClass;
  struct Case { std::uint8_t code; const char* type; EventClass cls; };
  const Case cases[] = {
      {0x31, "egm.memory_error", EventClass::fault},
      {0x36, "egm.software_changed", EventClass::security},
      {0x37, "egm.software_checksum_failed", EventClass::security},
      {0x38, "egm.software_changed", EventClass::security},
      {0x39, "egm.software_checksum_failed", EventClass::security},
      {0x3C, "egm.options_changed", EventClass::security},
      {0x8E, "egm.components_changed", EventClass::security},
      {0x8F, "egm.authentication_complete", EventClass::security},
  };
  for (const auto& c : cases) {
    auto i = describe_exception(c.code);
    EXPECT_STREQ(i.type, c.type) << int(c.code);
    EXPECT_EQ(i.cls, c.cls) << int(c.code);
  }
  for (int code = 0; code < 256; ++code) {
    const bool resets = code == 0x32 || code == 0x33 || code == 0x3A || code == 0x7A;
    EXPECT_EQ(is_meter_reset_code(static_cast<std::uint8_t>(code)), resets) << code;
  }
}
