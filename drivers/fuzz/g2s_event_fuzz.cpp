// libFuzzer target: any bytes as an inner g2sMessage -> every eventReport and meterInfo in it
// mapped to events -> each event's attrs must be strict JSON (valid UTF-8 included), since
// consumers decode them strictly (issue 17.5). Crashes, leaks and UB are found by the
// sanitizers; a non-JSON attrs string aborts.
#include <boost/json.hpp>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "g2s/event_map.hpp"
#include "g2s/xml_codec.hpp"

namespace {

using floorgate::drivers::g2s::Element;

void check(const floorgate::drivers::Event& ev) {
  boost::system::error_code ec;
  boost::json::parse(ev.attrs_json, ec);
  if (ec) std::abort();
}

void walk(const Element& e, std::string_view raw) {
  if (e.name == "eventReport") check(floorgate::drivers::g2s::map_event(e, raw));
  if (e.name == "meterInfo") {
    for (const auto& ev : floorgate::drivers::g2s::map_meter_info(e)) check(ev);
  }
  for (const auto& c : e.children) walk(c, raw);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view xml(reinterpret_cast<const char*>(data), size);
  floorgate::drivers::g2s::G2sMessage msg;
  if (floorgate::drivers::g2s::parse_g2s_message(xml, 1 << 20, msg)) return 0;
  for (const auto& cls : msg.classes) walk(cls, xml);
  return 0;
}
