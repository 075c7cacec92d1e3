// Unit tests of the driver's sans-I/O G2S codec and event mapping.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>

#include "floorgate/drivers/g2s/host.hpp"
#include "g2s/event_map.hpp"
#include "g2s/xml_codec.hpp"
#include "sas/tables.hpp"

namespace floorgate::g2stest {
namespace {

namespace d = drivers::g2s;

TEST(G2sCodec, DateTimeRoundTripsAndAcceptsZones) {
  EXPECT_EQ(d::format_date_time(0), "1970-01-01T00:00:00.000Z");
  std::int64_t t = 1767323045678;  // 2026-01-02T03:04:05.678Z
  EXPECT_EQ(d::format_date_time(t), "2026-01-02T03:04:05.678Z");
  EXPECT_EQ(d::parse_date_time("2026-01-02T03:04:05.678Z"), t);
  EXPECT_EQ(d::parse_date_time("2026-01-02T03:04:05.678"), t);
  EXPECT_EQ(d::parse_date_time("2026-01-02T04:04:05.678+01:00"), t);
  EXPECT_EQ(d::parse_date_time("2026-01-02T03:04:05.6789999Z"), t);
  EXPECT_EQ(d::parse_date_time("2026-01-02T03:04:05Z"), t - 678);
  EXPECT_FALSE(d::parse_date_time("2026-13-02T03:04:05Z"));
  EXPECT_FALSE(d::parse_date_time("yesterday"));
  EXPECT_FALSE(d::parse_date_time("2026-01-02T03:04:05.Z"));
  EXPECT_FALSE(d::parse_date_time("2026-01-02T03:04:05Zjunk"));
}

TEST(G2sCodec, EscapedPayloadRoundTripsThroughSoap) {
  std::string inner = "<g2s:g2sMessage xmlns:g2s=\"x\"><g2s:g2sAck hostId=\"1\" egmId=\"A&amp;B\"/></g2s:g2sMessage>";
  d::SoapMessage s;
  ASSERT_FALSE(d::parse_soap(d::wrap_request(inner, "A&B", "1"), 1 << 20, s));
  EXPECT_FALSE(s.is_response);
  EXPECT_EQ(s.payload, inner);
  EXPECT_EQ(s.egm_id, "A&B");
  EXPECT_EQ(s.host_id, "1");
  ASSERT_FALSE(d::parse_soap(d::wrap_response(inner), 1 << 20, s));
  EXPECT_TRUE(s.is_response);
  EXPECT_EQ(s.payload, inner);
  d::G2sMessage m;
  ASSERT_FALSE(d::parse_g2s_message(s.payload, 1 << 20, m));
  EXPECT_EQ(m.egm_id, "A&B");
}

TEST(G2sCodec, AcceptsQualifiedAndUnqualifiedAttributes) {
  std::string q = "<g2s:g2sMessage xmlns:g2s=\"http://www.gamingstandards.com/g2s/schemas/v1.0.3\">"
                  "<g2s:g2sBody g2s:hostId=\"1\" g2s:egmId=\"E\" g2s:dateTimeSent=\"2026-01-01T00:00:00Z\">"
                  "<g2s:communications g2s:deviceId=\"1\" g2s:sessionId=\"4\"><g2s:keepAlive/></g2s:communications>"
                  "</g2s:g2sBody></g2s:g2sMessage>";
  d::G2sMessage m;
  ASSERT_FALSE(d::parse_g2s_message(q, 1 << 20, m));
  EXPECT_EQ(m.host_id, "1");
  EXPECT_EQ(m.egm_id, "E");
  ASSERT_EQ(m.classes.size(), 1u);
  EXPECT_EQ(m.classes[0].attr_or("sessionId"), "4");
  EXPECT_EQ(m.classes[0].children[0].name, "keepAlive");
  std::string plain = "<g2sMessage><g2sBody hostId=\"1\" egmId=\"E\"><communications sessionId=\"5\">"
                      "<keepAlive/></communications></g2sBody></g2sMessage>";
  ASSERT_FALSE(d::parse_g2s_message(plain, 1 << 20, m));
  EXPECT_EQ(m.classes[0].attr_or("sessionId"), "5");
}

// xsd:boolean has two lexical forms for each value: an EGM that sends eventAck="1" must not have
// every acknowledged log entry taken for an unacknowledged one (and backfilled again).
TEST(G2sCodec, BooleanAttributesTakeBothLexicalForms) {
  d::Element e;
  e.attrs = {{"a", "true"}, {"b", "1"}, {"c", " true\n"}, {"d", "false"}, {"e", "0"},
             {"f", "yes"}, {"g", ""}, {"h", "TRUE"}};
  EXPECT_TRUE(e.flag("a"));
  EXPECT_TRUE(e.flag("b"));
  EXPECT_TRUE(e.flag("c"));
  for (const char* n : {"d", "e", "f", "g", "h", "absent"}) EXPECT_FALSE(e.flag(n)) << n;
}

TEST(G2sCodec, RejectsHostileInput) {
  d::G2sMessage m;
  d::SoapMessage s;
  EXPECT_EQ(d::parse_g2s_message("<!DOCTYPE a [<!ENTITY x \"y\">]><g2sMessage/>", 1 << 20, m),
            d::CodecErrc::forbidden_dtd);
  EXPECT_EQ(d::parse_g2s_message("<g2sMessage><g2sBody>", 1 << 20, m), d::CodecErrc::malformed_xml);
  EXPECT_EQ(d::parse_g2s_message(std::string(100, ' '), 10, m), d::CodecErrc::too_large);
  EXPECT_EQ(d::parse_g2s_message("<other/>", 1 << 20, m), d::CodecErrc::not_g2s);
  EXPECT_EQ(d::parse_g2s_message("<g2sMessage><g2sBody hostId=\"1\"/></g2sMessage>", 1 << 20, m),
            d::CodecErrc::not_g2s);  // a body without any class element
  EXPECT_EQ(d::parse_soap("<Envelope><Body/></Envelope>", 1 << 20, s), d::CodecErrc::not_soap);
  EXPECT_EQ(d::parse_soap("", 1 << 20, s), d::CodecErrc::malformed_xml);
  std::string deep = "<g2sMessage><g2sBody hostId=\"1\"><c>";
  for (int i = 0; i < 64; ++i) deep += "<x>";
  for (int i = 0; i < 64; ++i) deep += "</x>";
  deep += "</c></g2sBody></g2sMessage>";
  EXPECT_EQ(d::parse_g2s_message(deep, 1 << 20, m), d::CodecErrc::malformed_xml);
  // Unknown entity references are not expanded (pugixml keeps them literal, no DTD lookup).
  ASSERT_FALSE(d::parse_g2s_message("<g2sMessage><g2sBody hostId=\"&x;\"><c/></g2sBody></g2sMessage>",
                                    1 << 20, m));
  EXPECT_EQ(m.host_id, "&x;");
}

TEST(G2sCodec, XmlOutEscapesAttributes) {
  EXPECT_EQ(d::XmlOut("a").attr("v", "<\"&'>").str(), "<g2s:a v=\"&lt;&quot;&amp;&apos;&gt;\"/>");
  EXPECT_EQ(d::XmlOut("a").child("<g2s:b/>").str(), "<g2s:a><g2s:b/></g2s:a>");
}

TEST(G2sEventMap, CodesMapToTheCommonTaxonomy) {
  struct C {
    const char* code;
    const char* type;
    drivers::EventClass cls;
  };
  using E = drivers::EventClass;
  for (auto c : {C{"G2S_CBE307", "door.opened", E::security}, C{"G2S_CBE308", "door.closed", E::security},
                 C{"G2S_NAE112", "door.opened", E::security}, C{"G2S_NAE114", "bill.stacked", E::financial},
                 C{"G2S_NAE105", "bill.stacker_full", E::fault}, C{"G2S_NAE106", "bill.jam", E::fault},
                 C{"G2S_JPE101", "handpay.pending", E::financial}, C{"G2S_JPE104", "handpay.reset", E::financial},
                 C{"G2S_CBE324", "power.lost", E::fault}, C{"G2S_CBE325", "power.applied", E::operational},
                 C{"G2S_CBE309", "tilt.general", E::fault}, C{"G2S_PTE207", "printer.paper_empty", E::fault},
                 C{"G2S_GPE103", "game.started", E::telemetry}, C{"G2S_CME100", "egm.comms", E::operational},
                 C{"G2S_XXE999", "g2s.event", E::operational}}) {
    auto i = d::lookup_code(c.code);
    EXPECT_EQ(i.type, c.type) << c.code;
    EXPECT_EQ(i.cls, c.cls) << c.code;
  }
  EXPECT_EQ(d::lookup_code("G2S_CBE303").door, "logic");
  EXPECT_EQ(d::lookup_code("G2S_CBE305").door, "aux");
  EXPECT_TRUE(d::lookup_code("G2S_CBE319").powered_off);
}

// Consumers route on class and read `door`: a type must look the same whichever protocol the
// EGM speaks. Every type both tables produce has one class, and door names share one vocabulary.
TEST(G2sEventMap, TypesSharedWithSasHaveTheSameClassAndDoorNames) {
  std::map<std::string, drivers::EventClass> sas;
  std::set<std::string> sas_doors;
  for (int code = 0; code < 256; ++code) {
    auto i = drivers::sas::describe_exception(static_cast<std::uint8_t>(code));
    if (std::string(i.type) == "egm.exception") continue;
    auto [it, fresh] = sas.emplace(i.type, i.cls);
    EXPECT_EQ(it->second, i.cls) << "SAS maps " << i.type << " to two classes";
    if (i.attr_key && std::string(i.attr_key) == "door") sas_doors.insert(i.attr_value);
  }
  const std::set<std::string> doors = {"main", "logic", "aux", "drop", "cashbox", "belly"};
  for (const auto& d : sas_doors) EXPECT_TRUE(doors.count(d)) << "SAS door " << d;
  int shared = 0;
  for (auto code : d::v1_event_codes()) {
    auto i = d::lookup_code(code);
    if (!i.door.empty()) {
      EXPECT_TRUE(doors.count(std::string(i.door))) << code << " door " << i.door;
    }
    auto s = sas.find(std::string(i.type));
    if (s == sas.end()) continue;
    ++shared;
    EXPECT_EQ(i.cls, s->second) << code << " -> " << i.type << ": class differs from SAS";
  }
  // doors, bills, stacker, handpay, power, tilt, printer, game, overflow at least
  EXPECT_GE(shared, 30);
  // Meter snapshots are money meters from both drivers (SAS: engine_events.cpp).
  d::Element mi;
  mi.name = "meterInfo";
  for (const auto& e : d::map_meter_info(mi, 400)) EXPECT_EQ(e.cls, drivers::EventClass::financial);
}

TEST(G2sEventMap, MeterInfoIsChunkedWithExactIntegers) {
  d::Element mi;
  mi.name = "meterInfo";
  mi.attrs = {{"meterDateTime", "2026-01-02T00:00:00.000Z"}, {"meterInfoType", "G2S_onEOD"}};
  d::Element dm;
  dm.name = "deviceMeters";
  dm.attrs = {{"deviceClass", "G2S_cabinet"}, {"deviceId", "1"}};
  for (int i = 0; i < 1001; ++i) {
    d::Element sm;
    sm.name = "simpleMeter";
    sm.attrs = {{"meterName", "m" + std::to_string(i)}, {"meterValue", "9007199254740993"}};
    dm.children.push_back(sm);
  }
  mi.children.push_back(dm);
  auto evs = d::map_meter_info(mi, 400);
  ASSERT_EQ(evs.size(), 3u);
  EXPECT_NE(evs[0].attrs_json.find("\"part\":1,\"parts\":3"), std::string::npos) << evs[0].attrs_json.substr(0, 200);
  EXPECT_NE(evs[2].attrs_json.find("\"G2S_cabinet/1/m1000\":9007199254740993"), std::string::npos);
  EXPECT_EQ(evs[2].ts_egm_ms, d::parse_date_time("2026-01-02T00:00:00.000Z"));
}

TEST(G2sEventMap, SeenKeyFromAttrs) {
  auto k = d::seen_key_from_attrs("{\"event_id\":42,\"event_dt\":\"2026-01-01T00:00:00.000Z\",\"code\":\"x\"}");
  ASSERT_TRUE(k);
  EXPECT_EQ(k->event_id, 42);
  EXPECT_EQ(k->event_dt, "2026-01-01T00:00:00.000Z");
  EXPECT_FALSE(d::seen_key_from_attrs("{\"door\":\"main\"}"));
  // End-of-day meters: the key on_meters dedupes by, once every part of the push is stored.
  d::Element mi;
  mi.name = "meterInfo";
  mi.attrs = {{"meterInfoType", "G2S_onEOD"}, {"meterDateTime", "2026-01-01T04:00:00.000Z"}};
  d::Element g;
  g.name = "cabinetMeters";
  for (int i = 0; i < 5; ++i) {
    d::Element m;
    m.name = "simpleMeter";  // a meter named "part" must not be read as the part number
    m.attrs = {{"meterName", i == 0 ? "part" : "m" + std::to_string(i)}, {"meterValue", "1"}};
    g.children.push_back(m);
  }
  mi.children.push_back(g);
  auto parts = d::map_meter_info(mi, 2);
  ASSERT_EQ(parts.size(), 3u);
  for (const auto& p : parts) EXPECT_FALSE(d::seen_key_from_attrs(p.attrs_json));
  const d::SeenKey eod{-1, "G2S_onEOD@2026-01-01T04:00:00.000Z"};
  auto keys_of = [](std::vector<std::size_t> which, const std::vector<drivers::Event>& evs) {
    d::SeenKeys seen;
    seen.add("{\"event_id\":7,\"event_dt\":\"2026-01-01T03:00:00.000Z\"}");
    for (auto i : which) seen.add(evs[i].attrs_json);
    return seen.keys();
  };
  const d::SeenKey ev7{7, "2026-01-01T03:00:00.000Z"};
  EXPECT_EQ(keys_of({0, 1, 2}, parts), (std::vector<d::SeenKey>{ev7, eod}));
  EXPECT_EQ(keys_of({2, 0, 1}, parts), (std::vector<d::SeenKey>{ev7, eod}));
  // A part whose commit failed: no key, so the EGM's resend is stored again (no loss).
  EXPECT_EQ(keys_of({0, 2}, parts), (std::vector<d::SeenKey>{ev7}));
  EXPECT_EQ(keys_of({2}, parts), (std::vector<d::SeenKey>{ev7}));
  // Periodic pushes are not acked (G2S_notification), so they never give a key.
  mi.attrs[0].second = "G2S_onPeriodic";
  EXPECT_EQ(keys_of({0}, d::map_meter_info(mi, 400)), (std::vector<d::SeenKey>{ev7}));
  EXPECT_FALSE(d::seen_key_from_attrs("{\"event_id\":x,\"event_dt\":\"a\"}"));
}

}  // namespace
}  // namespace floorgate::g2stest
