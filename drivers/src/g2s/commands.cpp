#include "g2s/commands.hpp"

#include "g2s/xml_codec.hpp"

namespace floorgate::drivers::g2s::cmd {

std::string comms_online_ack(std::int64_t ms) { return XmlOut("commsOnLineAck").attr("syncTimer", ms).str(); }
std::string comms_disabled_ack(std::int64_t ms) { return XmlOut("commsDisabledAck").attr("syncTimer", ms).str(); }
std::string set_comms_state(bool enable) { return XmlOut("setCommsState").attr("enable", enable).str(); }
std::string keep_alive() { return XmlOut("keepAlive").str(); }
std::string keep_alive_ack() { return XmlOut("keepAliveAck").str(); }
std::string comms_closing_ack() { return XmlOut("commsClosingAck").str(); }

std::string get_supported_events() {
  return XmlOut("getSupportedEvents").attr("deviceClass", "G2S_all").attr("deviceId", std::int64_t(-1)).str();
}

namespace {
std::string subscription(std::string_view device_class, std::string_view code, bool persist) {
  return XmlOut("eventHostSubscription")
      .attr("deviceClass", device_class).attr("deviceId", std::int64_t(-1)).attr("eventCode", code)
      .attr("eventPersist", persist).attr("sendDeviceStatus", true).attr("sendTransaction", true)
      .attr("sendDeviceMeters", true).attr("sendClassMeters", false)
      .attr("sendUpdatableMeters", false).str();
}
bool game_play(std::string_view code) { return code.rfind("G2S_GPE", 0) == 0; }
}  // namespace

std::string set_event_sub(bool all, const std::vector<std::string_view>& codes) {
  std::string subs;
  if (all) {
    subs = subscription("G2S_all", "G2S_all", true);
  } else {
    for (auto c : codes) subs += subscription("G2S_all", c, !game_play(c));
  }
  return XmlOut("setEventSub").child(subs).str();
}

std::string set_event_sub_by_class(const std::vector<std::string>& classes) {
  std::string subs;
  for (const auto& c : classes) subs += subscription(c, "G2S_all", c != "G2S_gamePlay");
  return XmlOut("setEventSub").child(subs).str();
}

std::string get_event_sub() {
  std::string select = XmlOut("eventSelect").attr("deviceClass", "G2S_all")
                           .attr("deviceId", std::int64_t(-1)).attr("eventCode", "G2S_all").str();
  return XmlOut("getEventSub").attr("getHostSubs", true).attr("getForcedSubs", true).child(select).str();
}

std::string get_cabinet_status() { return XmlOut("getCabinetStatus").str(); }

std::string get_descriptor() {
  return XmlOut("getDescriptor").attr("deviceClass", "G2S_all").attr("deviceId", std::int64_t(-1))
      .attr("includeOwners", true).attr("includeGuests", true).attr("includeConfigs", true)
      .attr("includeOthers", true).attr("includeActive", true).attr("includeInactive", true).str();
}

std::string set_date_time(std::string_view utc_iso) {
  return XmlOut("setDateTime").attr("cabinetDateTime", utc_iso).str();
}

std::string event_ack(std::int64_t event_id) { return XmlOut("eventAck").attr("eventId", event_id).str(); }

std::string get_event_handler_log() {
  return XmlOut("getEventHandlerLog").attr("lastSequence", std::int64_t(0)).attr("totalEntries", std::int64_t(0)).str();
}

std::string meter_requests(const std::vector<std::string>& classes) {
  std::string x = XmlOut("getCurrencyMeters").attr("meterDefinitions", false).str();
  for (const auto& c : classes) {
    x += XmlOut("getDeviceMeters").attr("deviceClass", c).attr("deviceId", std::int64_t(-1))
             .attr("meterDefinitions", false).str();
  }
  return x;
}

std::string set_meter_sub_eod(const std::vector<std::string>& classes) {
  return XmlOut("setMeterSub").attr("meterSubType", "G2S_onEOD").attr("eodBase", std::int64_t(0))
      .child(meter_requests(classes)).str();
}

std::string set_meter_sub_periodic(const std::vector<std::string>& classes, std::int64_t interval_ms) {
  return XmlOut("setMeterSub").attr("meterSubType", "G2S_onPeriodic")
      .attr("periodicInterval", interval_ms).attr("periodicBase", std::int64_t(0))
      .child(meter_requests(classes)).str();
}

std::string get_meter_info(const std::vector<std::string>& classes) {
  return XmlOut("getMeterInfo").child(meter_requests(classes)).str();
}

std::string meter_info_ack(std::string_view dt, std::string_view type) {
  return XmlOut("meterInfoAck").attr("meterDateTime", dt).attr("meterInfoType", type).str();
}

}  // namespace floorgate::drivers::g2s::cmd
