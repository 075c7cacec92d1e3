// Golden fixtures (tests/g2s/fixtures, hand-written): every message of the subset is checked
// on both sides. host/*.xml: the driver must produce them byte for byte and the simulator
// must read them; egm/*.xml: the simulator must produce them byte for byte and the driver
// must read and map them.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "floorgate/drivers/g2s/host.hpp"
#include "g2s/commands.hpp"
#include "g2s/event_map.hpp"
#include "g2s/xml_codec.hpp"
#include "sim_commands.hpp"
#include "sim_xml.hpp"

namespace floorgate::g2stest {
namespace {

namespace d = drivers::g2s;
namespace s = egmsim::g2s;

std::string fixture(const std::string& name) {
  std::ifstream f(std::string(G2S_FIXTURES) + "/" + name);
  std::stringstream ss;
  ss << f.rdbuf();
  std::string t = ss.str();
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r')) t.pop_back();
  EXPECT_FALSE(t.empty()) << "missing fixture " << name;
  return t;
}

const std::string kDt = "2026-01-02T03:04:05.678Z";
const std::vector<std::string> kClasses = {"G2S_cabinet", "G2S_noteAcceptor"};

std::string host_msg(const std::string& cls, bool request, const std::string& command) {
  d::Envelope env{"1", "SIM_0001", kDt};
  d::ClassHeader h{cls, "1", kDt, 7, request ? "G2S_request" : "G2S_response", 42, request ? 30000 : 0, {}};
  return d::build_body(env, h, command);
}

std::string egm_msg(const std::string& cls, const std::string& type, const std::string& command) {
  s::Header h{"1", "SIM_0001", kDt, cls, "1", kDt, type, 3, 11, type == "G2S_request" ? 30000 : 0};
  return s::message(h, command);
}

struct HostCase {
  std::string file, cls;
  bool request;
  std::string command;
};

TEST(G2sFixtures, DriverProducesHostMessagesByteForByte) {
  std::vector<HostCase> cases = {
      {"commsOnLineAck", "communications", false, d::cmd::comms_online_ack(30000)},
      {"commsDisabledAck", "communications", false, d::cmd::comms_disabled_ack(30000)},
      {"setCommsState", "communications", true, d::cmd::set_comms_state(true)},
      {"keepAlive", "communications", true, d::cmd::keep_alive()},
      {"keepAliveAck", "communications", false, d::cmd::keep_alive_ack()},
      {"commsClosingAck", "communications", false, d::cmd::comms_closing_ack()},
      {"getSupportedEvents", "eventHandler", true, d::cmd::get_supported_events()},
      {"setEventSub", "eventHandler", true, d::cmd::set_event_sub(true, {})},
      {"eventAck", "eventHandler", false, d::cmd::event_ack(1234)},
      {"getEventHandlerLog", "eventHandler", true, d::cmd::get_event_handler_log()},
      {"setMeterSub_eod", "meters", true, d::cmd::set_meter_sub_eod(kClasses)},
      {"setMeterSub_periodic", "meters", true, d::cmd::set_meter_sub_periodic(kClasses, 900000)},
      {"getMeterInfo", "meters", true, d::cmd::get_meter_info(kClasses)},
      {"meterInfoAck", "meters", false, d::cmd::meter_info_ack("2026-01-02T00:00:00.000Z", "G2S_onEOD")},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(host_msg(c.cls, c.request, c.command), fixture("host/" + c.file + ".xml")) << c.file;
  }
  d::Envelope env{"1", "SIM_0001", kDt};
  EXPECT_EQ(d::build_ack(env), fixture("host/g2sAck.xml"));
  EXPECT_EQ(d::build_ack(env, "G2S_MSX003"), fixture("host/g2sAck_MSX003.xml"));
  EXPECT_EQ(d::wrap_response(d::build_ack(env)), fixture("host/soap_response.xml"));
  EXPECT_EQ(d::wrap_request(host_msg("communications", true, d::cmd::keep_alive()), "SIM_0001", "1"),
            fixture("host/soap_request.xml"));
  EXPECT_EQ(d::transport_options_response(), fixture("host/transportOptions.xml"));
}

TEST(G2sFixtures, SimulatorReadsEveryHostMessage) {
  struct Expect {
    std::string file, cls, name, attr, value;
  };
  std::vector<Expect> cases = {
      {"commsOnLineAck", "communications", "commsOnLineAck", "syncTimer", "30000"},
      {"commsDisabledAck", "communications", "commsDisabledAck", "syncTimer", "30000"},
      {"setCommsState", "communications", "setCommsState", "enable", "true"},
      {"keepAlive", "communications", "keepAlive", "", ""},
      {"keepAliveAck", "communications", "keepAliveAck", "", ""},
      {"commsClosingAck", "communications", "commsClosingAck", "", ""},
      {"getSupportedEvents", "eventHandler", "getSupportedEvents", "deviceClass", "G2S_all"},
      {"setEventSub", "eventHandler", "setEventSub", "", ""},
      {"eventAck", "eventHandler", "eventAck", "eventId", "1234"},
      {"getEventHandlerLog", "eventHandler", "getEventHandlerLog", "lastSequence", "0"},
      {"setMeterSub_eod", "meters", "setMeterSub", "meterSubType", "G2S_onEOD"},
      {"setMeterSub_periodic", "meters", "setMeterSub", "periodicInterval", "900000"},
      {"getMeterInfo", "meters", "getMeterInfo", "", ""},
      {"meterInfoAck", "meters", "meterInfoAck", "meterDateTime", "2026-01-02T00:00:00.000Z"},
  };
  for (const auto& c : cases) {
    s::HostMessage m;
    ASSERT_TRUE(s::read_host_message(fixture("host/" + c.file + ".xml"), m)) << c.file;
    ASSERT_EQ(m.commands.size(), 1u) << c.file;
    EXPECT_EQ(m.host_id, "1");
    EXPECT_EQ(m.egm_id, "SIM_0001");
    EXPECT_EQ(m.commands[0].cls, c.cls) << c.file;
    EXPECT_EQ(m.commands[0].name, c.name) << c.file;
    EXPECT_EQ(m.commands[0].session_id, 42) << c.file;
    if (!c.attr.empty()) {
      EXPECT_EQ(m.commands[0].attr(c.attr), c.value) << c.file;
    }
  }
  s::HostMessage sub;
  ASSERT_TRUE(s::read_host_message(fixture("host/setEventSub.xml"), sub));
  ASSERT_EQ(sub.commands[0].children.size(), 1u);
  EXPECT_EQ(sub.commands[0].children[0].second.at("eventPersist"), "true");
  s::HostMessage ack;
  ASSERT_TRUE(s::read_host_message(fixture("host/g2sAck_MSX003.xml"), ack));
  EXPECT_TRUE(ack.ack);
  EXPECT_EQ(ack.error_code, "G2S_MSX003");
  EXPECT_EQ(s::soap_payload(fixture("host/soap_request.xml")), fixture("host/keepAlive.xml"));
  EXPECT_EQ(s::soap_payload(fixture("host/soap_response.xml")), fixture("host/g2sAck.xml"));
}

s::LogEntry entry(std::int64_t seq, std::int64_t id, const std::string& dt, const std::string& code,
                  const std::string& extra = {}, bool acked = false) {
  return s::LogEntry{seq, id, dt, code, s::device_class_of(code), "1", extra, acked};
}

TEST(G2sFixtures, SimulatorProducesEgmMessagesByteForByte) {
  using namespace s::cmd;
  EXPECT_EQ(egm_msg("communications", "G2S_request", comms_online("http://127.0.0.1:18080/G2S", true)),
            fixture("egm/commsOnLine.xml"));
  EXPECT_EQ(egm_msg("communications", "G2S_request", comms_disabled()), fixture("egm/commsDisabled.xml"));
  EXPECT_EQ(egm_msg("communications", "G2S_response", comms_status(true)), fixture("egm/commsStatus.xml"));
  EXPECT_EQ(egm_msg("communications", "G2S_response", keep_alive_ack()), fixture("egm/keepAliveAck.xml"));
  EXPECT_EQ(egm_msg("communications", "G2S_request", comms_closing()), fixture("egm/commsClosing.xml"));
  EXPECT_EQ(egm_msg("eventHandler", "G2S_response",
                    event_sub_list({{{"deviceClass", "G2S_all"}, {"deviceId", "-1"}, {"eventCode", "G2S_all"},
                                     {"eventPersist", "true"}}})),
            fixture("egm/eventSubList.xml"));
  std::string door_meters =
      "<g2s:meterList><g2s:meterInfo meterInfoType=\"G2S_onEvent\"><g2s:deviceMeters deviceClass=\"G2S_cabinet\" "
      "deviceId=\"1\"><g2s:simpleMeter meterName=\"G2S_cabinetDoorOpenCnt\" meterValue=\"3\"/></g2s:deviceMeters>"
      "</g2s:meterInfo></g2s:meterList>";
  EXPECT_EQ(egm_msg("eventHandler", "G2S_request",
                    event_report(entry(5, 5, "2026-01-02T03:04:05.000Z", "G2S_CBE307", door_meters))),
            fixture("egm/eventReport_door.xml"));
  EXPECT_EQ(egm_msg("eventHandler", "G2S_response",
                    event_log_list({entry(1, 1, "2026-01-02T03:00:01.000Z", "G2S_CBE307", {}, true),
                                    entry(2, 2, "2026-01-02T03:00:02.000Z", "G2S_CBE308")})),
            fixture("egm/eventHandlerLogList.xml"));
  std::map<std::string, std::int64_t> meters = {
      {"G2S_currencyInAmt", 10500000}, {"G2S_currencyInCnt", 2}, {"G2S_cabinetDoorOpenCnt", 3}};
  EXPECT_EQ(egm_msg("meters", "G2S_request", meter_info("G2S_onEOD", "2026-01-02T00:00:00.000Z", meters, 0)),
            fixture("egm/meterInfo_eod.xml"));
  EXPECT_EQ(egm_msg("meters", "G2S_response", meter_sub_list("G2S_onEOD", kDt)), fixture("egm/meterSubList.xml"));
  EXPECT_EQ(s::ack_message("1", "SIM_0001", kDt, ""), fixture("egm/g2sAck.xml"));
}

d::G2sMessage parse(const std::string& file) {
  d::G2sMessage m;
  EXPECT_FALSE(d::parse_g2s_message(fixture(file), 1 << 20, m)) << file;
  return m;
}

TEST(G2sFixtures, DriverReadsAndMapsEveryEgmMessage) {
  for (auto [file, cls, name] : std::vector<std::tuple<std::string, std::string, std::string>>{
           {"commsOnLine", "communications", "commsOnLine"},
           {"commsDisabled", "communications", "commsDisabled"},
           {"commsStatus", "communications", "commsStatus"},
           {"keepAliveAck", "communications", "keepAliveAck"},
           {"commsClosing", "communications", "commsClosing"},
           {"eventSubList", "eventHandler", "eventSubList"},
           {"eventHandlerLogList", "eventHandler", "eventHandlerLogList"},
           {"meterSubList", "meters", "meterSubList"}}) {
    auto m = parse("egm/" + file + ".xml");
    ASSERT_EQ(m.classes.size(), 1u) << file;
    EXPECT_EQ(m.classes[0].name, cls);
    EXPECT_EQ(m.classes[0].children.at(0).name, name);
    EXPECT_EQ(m.egm_id, "SIM_0001");
  }
  EXPECT_EQ(parse("egm/commsOnLine.xml").classes[0].children[0].attr_or("egmLocation"),
            "http://127.0.0.1:18080/G2S");

  auto door = d::map_event(parse("egm/eventReport_door.xml").classes[0].children[0], "");
  EXPECT_EQ(door.type, "door.opened");
  EXPECT_EQ(door.cls, drivers::EventClass::security);
  EXPECT_EQ(door.source, "g2s:G2S_CBE307");
  EXPECT_EQ(door.ts_egm_ms, d::parse_date_time("2026-01-02T03:04:05.000Z"));
  EXPECT_NE(door.attrs_json.find("\"door\":\"main\""), std::string::npos);
  EXPECT_NE(door.attrs_json.find("\"G2S_cabinet/G2S_cabinetDoorOpenCnt\":3"), std::string::npos) << door.attrs_json;
  auto key = d::seen_key_from_attrs(door.attrs_json);
  ASSERT_TRUE(key);
  EXPECT_EQ(key->event_id, 5);
  EXPECT_EQ(key->event_dt, "2026-01-02T03:04:05.000Z");

  auto bill = d::map_event(parse("egm/eventReport_bill.xml").classes[0].children[0], "");
  EXPECT_EQ(bill.type, "bill.stacked");
  EXPECT_EQ(bill.cls, drivers::EventClass::financial);
  EXPECT_NE(bill.attrs_json.find("\"value_cents\":2000,"), std::string::npos) << bill.attrs_json;
  EXPECT_NE(bill.attrs_json.find("\"currency\":\"USD\""), std::string::npos);

  auto hp = d::map_event(parse("egm/eventReport_handpay.xml").classes[0].children[0], "");
  EXPECT_EQ(hp.type, "handpay.pending");
  EXPECT_NE(hp.attrs_json.find("\"amount_cents\":125000,"), std::string::npos) << hp.attrs_json;
  EXPECT_NE(hp.attrs_json.find("\"amount_millicents\":125000000"), std::string::npos);
  EXPECT_NE(hp.attrs_json.find("\"kind\":\"jackpot\""), std::string::npos);

  // Vouchers carry their transaction (issue 20): same type and attribute names as SAS tickets.
  auto v = d::map_event(parse("egm/eventReport_voucher.xml").classes[0].children[0], "");
  EXPECT_EQ(v.type, "ticket.redeemed");
  EXPECT_EQ(v.cls, drivers::EventClass::financial);
  EXPECT_NE(v.attrs_json.find("\"amount_cents\":2500,"), std::string::npos) << v.attrs_json;
  EXPECT_NE(v.attrs_json.find("\"validation_number\":\"xxxxxxxxxxxxxx4321\""), std::string::npos);
  EXPECT_NE(v.attrs_json.find("\"transaction_id\":41"), std::string::npos);

  auto eod = parse("egm/meterInfo_eod.xml");
  EXPECT_EQ(eod.classes[0].attr_or("sessionType"), "G2S_request");
  auto snaps = d::map_meter_info(eod.classes[0].children[0]);
  ASSERT_EQ(snaps.size(), 1u);
  EXPECT_EQ(snaps[0].type, "meters.snapshot");
  EXPECT_NE(snaps[0].attrs_json.find("\"G2S_currencyInAmt\":10500000"), std::string::npos) << snaps[0].attrs_json;
  EXPECT_NE(snaps[0].attrs_json.find("\"G2S_cabinet/1/G2S_cabinetDoorOpenCnt\":3"), std::string::npos);
  auto periodic = parse("egm/meterInfo_periodic.xml");
  EXPECT_EQ(periodic.classes[0].attr_or("sessionType"), "G2S_notification");

  d::G2sMessage ack;
  ASSERT_FALSE(d::parse_g2s_message(fixture("egm/g2sAck.xml"), 1 << 20, ack));
  EXPECT_TRUE(ack.is_ack);
  EXPECT_TRUE(ack.error_code.empty());
}

// What a money eventReport adds to the reconciliation (docs/reconciliation.md, G2S): the
// category and amount, and the category's device meters it carries, summed and named, only
// when all of them are there once each; other meters, other events, currency groups and
// unbelievable values add nothing.
TEST(G2sFixtures, MoneyReadingsTakeTheCategorysMetersOnly) {
  auto bill = d::money_reading(parse("egm/eventReport_bill.xml").classes[0].children[0]);
  ASSERT_TRUE(bill);
  EXPECT_EQ(bill->category, drivers::ReconCategory::bills_in);
  EXPECT_EQ(bill->amount_mc, 2'000'000u);
  EXPECT_FALSE(bill->meter_mc);  // this report carries no meterList
  EXPECT_FALSE(d::money_reading(parse("egm/eventReport_door.xml").classes[0].children[0]));

  auto report = [](const std::string& meters, const std::string& amount = "2500000") {
    const std::string xml =
        "<g2s:g2sMessage xmlns:g2s=\"http://www.gamingstandards.com/g2s/schemas/v1.0.3\">"
        "<g2s:g2sBody hostId=\"1\" egmId=\"SIM_0001\" dateTimeSent=\"2026-01-02T03:04:05.678Z\">"
        "<g2s:eventHandler deviceId=\"1\" dateTime=\"2026-01-02T03:04:05.678Z\" commandId=\"3\" "
        "sessionType=\"G2S_request\" sessionId=\"11\" timeToLive=\"30000\">"
        "<g2s:eventReport deviceClass=\"G2S_voucher\" deviceId=\"1\" eventCode=\"G2S_VCE103\" "
        "eventId=\"7\" eventDateTime=\"2026-01-02T03:04:06.000Z\"><g2s:transactionList>"
        "<g2s:transactionInfo deviceClass=\"G2S_voucher\" deviceId=\"1\"><g2s:voucherLog "
        "validationId=\"x\" voucherAmt=\"" + amount + "\"/></g2s:transactionInfo></g2s:transactionList>"
        "<g2s:meterList><g2s:meterInfo meterInfoType=\"G2S_onEvent\">" + meters +
        "</g2s:meterInfo></g2s:meterList></g2s:eventReport></g2s:eventHandler>"
        "</g2s:g2sBody></g2s:g2sMessage>";
    d::G2sMessage m;
    EXPECT_FALSE(d::parse_g2s_message(xml, 1 << 20, m));
    return d::money_reading(m.classes.at(0).children.at(0));
  };
  auto meter = [](const std::string& name, const std::string& value) {
    return "<g2s:simpleMeter meterName=\"" + name + "\" meterValue=\"" + value + "\"/>";
  };
  auto device = [](const std::string& id, const std::string& meters) {
    return "<g2s:deviceMeters deviceClass=\"G2S_voucher\" deviceId=\"" + id + "\">" + meters +
           "</g2s:deviceMeters>";
  };
  auto out = [&](const std::string& cashable) {
    return meter("G2S_cashableOutAmt", cashable) + meter("G2S_promoOutAmt", "500000") +
           meter("G2S_nonCashOutAmt", "0");
  };
  auto v = report(device("1", out("7000000") + meter("G2S_cashableInAmt", "99")) +
                  "<g2s:currencyMeters currencyId=\"USD\">" + meter("G2S_cashableOutAmt", "7000000") +
                  "</g2s:currencyMeters>");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->category, drivers::ReconCategory::tickets_out);
  EXPECT_EQ(v->amount_mc, 2'500'000u);
  EXPECT_EQ(v->meter_mc, 7'500'000u);
  EXPECT_EQ(v->meter_names,
            "G2S_voucher/1/G2S_cashableOutAmt,G2S_voucher/1/G2S_promoOutAmt,G2S_voucher/1/G2S_nonCashOutAmt");
  // Only a part of the category's meters, or one of them twice (two devices): no reading.
  EXPECT_FALSE(report(device("1", meter("G2S_cashableOutAmt", "7000000")))->meter_mc);
  EXPECT_FALSE(report(device("1", out("7000000")) + device("2", out("1000")))->meter_mc);
  // A meter beyond ten billion dollars, negative or not a number is no reading at all; so is
  // an amount for the event's own value.
  EXPECT_FALSE(report(device("1", out("99999999999999999999")))->meter_mc);
  EXPECT_FALSE(report(device("1", out("2000000000000000")))->meter_mc);
  EXPECT_FALSE(report(device("1", out("-5")))->meter_mc);
  EXPECT_FALSE(report(device("1", out("7000000")), "9223372036854775807")->amount_mc);
  EXPECT_TRUE(report(device("1", out("7000000")), "9223372036854775807")->meter_mc);
}

}  // namespace
}  // namespace floorgate::g2stest
