// libFuzzer target: any bytes as an inner g2sMessage -> every eventReport and meterInfo in it
// mapped to events -> each event's attrs must be strict JSON (valid UTF-8 included), since
// consumers decode them strictly (issue 17.5); every money eventReport's reading goes through a
// reconciliation as the host does it. Crashes, leaks and UB are found by the
// sanitizers; a non-JSON attrs string aborts.
#include <boost/json.hpp>
#include <array>
#include <cstdint>
#include <optional>
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

// Each money event goes through a reconciliation as the host's (one Reconciler per category,
// like with like): no UB whatever the amounts and meters, and a reading always names its meters.
struct Recon {
  std::array<floorgate::drivers::Reconciler, floorgate::drivers::kReconCategories> by_category;
  void add(const floorgate::drivers::g2s::MoneyReading& m) {
    const auto c = static_cast<std::size_t>(m.category);
    by_category[c].add_event(m.category, m.amount_mc);
    if (!m.meter_mc) return;
    if (m.meter_names.empty()) std::abort();
    std::array<std::optional<floorgate::drivers::MeterReading>, floorgate::drivers::kReconCategories> r{};
    r[c] = floorgate::drivers::MeterReading{*m.meter_mc, 0};
    by_category[c].settle(r, 0);
  }
};

void walk(const Element& e, std::string_view raw, Recon& recon) {
  if (e.name == "eventReport") {
    check(floorgate::drivers::g2s::map_event(e, raw));
    if (auto m = floorgate::drivers::g2s::money_reading(e)) recon.add(*m);
  }
  if (e.name == "meterInfo") {
    for (const auto& ev : floorgate::drivers::g2s::map_meter_info(e)) check(ev);
  }
  for (const auto& c : e.children) walk(c, raw, recon);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view xml(reinterpret_cast<const char*>(data), size);
  floorgate::drivers::g2s::G2sMessage msg;
  if (floorgate::drivers::g2s::parse_g2s_message(xml, 1 << 20, msg)) return 0;
  Recon recon;
  for (const auto& cls : msg.classes) walk(cls, xml, recon);
  return 0;
}
