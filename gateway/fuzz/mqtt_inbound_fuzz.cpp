// libFuzzer target: any bytes as what a stranger can publish to <root>/ack/<c> and
// <root>/replay/<c> (issue 18). The parsers must not crash, leak or hit UB (sanitizers), must
// return exactly one of value / error, and an accepted nack reason must stay bounded.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "floorgate/gateway/mqtt_codec.hpp"

namespace fg = floorgate::gateway;

namespace {
template <class T>
void check(const fg::Parsed<T>& p) {
  if (p.value.has_value() != !p.error.empty()) return;  // exactly one of them
  std::abort();  // both or neither: the caller would act on garbage or log nothing
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  auto ack = fg::parse_ack(in);
  check(ack);
  if (ack.value) {
    if (auto* n = std::get_if<fg::NackMsg>(&*ack.value); n && n->reason.size() > size) std::abort();
  }
  check(fg::parse_replay(in));
  return 0;
}
