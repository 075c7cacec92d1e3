#include "sim_commands.hpp"

#include "sim_xml.hpp"

namespace floorgate::egmsim::g2s {

std::string device_class_of(const std::string& code) {
  if (code.rfind("G2S_NA", 0) == 0) return "G2S_noteAcceptor";
  if (code.rfind("G2S_JP", 0) == 0) return "G2S_handpay";
  if (code.rfind("G2S_PT", 0) == 0) return "G2S_printer";
  if (code.rfind("G2S_VC", 0) == 0) return "G2S_voucher";
  if (code.rfind("G2S_BN", 0) == 0) return "G2S_bonus";
  if (code.rfind("G2S_PG", 0) == 0) return "G2S_progressive";
  if (code.rfind("G2S_GP", 0) == 0) return "G2S_gamePlay";
  if (code.rfind("G2S_CM", 0) == 0) return "G2S_communications";
  return "G2S_cabinet";
}

const std::vector<std::string>& supported_codes() {
  static const std::vector<std::string> v = {
      "G2S_CBE301", "G2S_CBE302", "G2S_CBE303", "G2S_CBE304", "G2S_CBE305", "G2S_CBE306",
      "G2S_CBE307", "G2S_CBE308", "G2S_CBE309", "G2S_CBE310", "G2S_CBE311", "G2S_CBE313",
      "G2S_CBE324", "G2S_CBE325", "G2S_NAE105", "G2S_NAE106", "G2S_NAE112", "G2S_NAE113",
      "G2S_NAE114", "G2S_NAE116", "G2S_JPE101", "G2S_JPE104", "G2S_PTE205", "G2S_PTE207",
      "G2S_GPE103", "G2S_VCE103", "G2S_VCE108", "G2S_BNE104", "G2S_PGE104"};
  return v;
}

namespace cmd {

std::string comms_online(const std::string& location, bool reset) {
  return "<g2s:commsOnLine egmLocation=\"" + esc(location) +
         "\" equipmentType=\"G2S_egm\" deviceReset=\"" + (reset ? "true" : "false") +
         "\" deviceChanged=\"false\" subscriptionLost=\"true\" metersReset=\"false\" "
         "deviceStateChanged=\"false\" deviceAccessChanged=\"false\" negotiateNamespaces=\"false\"/>";
}

std::string comms_disabled() { return "<g2s:commsDisabled/>"; }

std::string comms_status(bool online) {
  return std::string("<g2s:commsStatus commsState=\"") + (online ? "G2S_onLine" : "G2S_sync") +
         "\" transportState=\"G2S_transportUp\" hostEnabled=\"true\" egmEnabled=\"true\" "
         "outboundOverflow=\"false\" inboundOverflow=\"false\" configurationId=\"0\" "
         "g2sProtocol=\"G2S_2.1\"/>";
}

std::string keep_alive_ack() { return "<g2s:keepAliveAck/>"; }
std::string comms_closing() { return "<g2s:commsClosing reason=\"G2S_shutdown\"/>"; }

std::string supported_events() {
  std::string x = "<g2s:supportedEvents>";
  for (const auto& c : supported_codes()) {
    x += "<g2s:supportedEvent deviceClass=\"" + device_class_of(c) + "\" deviceId=\"1\" eventCode=\"" +
         c + "\" eventText=\"" + c + "\"/>";
  }
  return x + "</g2s:supportedEvents>";
}

std::string event_sub_list(const std::vector<std::map<std::string, std::string>>& subs) {
  std::string x = "<g2s:eventSubList>";
  for (const auto& a : subs) {
    x += "<g2s:eventHostSubscription";
    for (const auto& [k, v] : a) x += " " + k + "=\"" + esc(v) + "\"";
    x += "/>";
  }
  return x + "</g2s:eventSubList>";
}

std::string event_report(const LogEntry& e) {
  return "<g2s:eventReport deviceClass=\"" + e.dev_class + "\" deviceId=\"" + e.dev_id +
         "\" eventCode=\"" + e.code + "\" eventText=\"simulated " + e.code + "\" eventId=\"" +
         std::to_string(e.event_id) + "\" eventDateTime=\"" + e.dt + "\" transactionId=\"0\">" +
         e.extra + "</g2s:eventReport>";
}

std::string event_log_list(const std::vector<LogEntry>& log) {
  std::string x = "<g2s:eventHandlerLogList>";
  for (auto it = log.rbegin(); it != log.rend(); ++it) {
    x += "<g2s:eventHandlerLog logSequence=\"" + std::to_string(it->log_seq) + "\" deviceClass=\"" +
         it->dev_class + "\" deviceId=\"" + it->dev_id + "\" eventCode=\"" + it->code +
         "\" eventId=\"" + std::to_string(it->event_id) + "\" eventDateTime=\"" + it->dt +
         "\" eventText=\"simulated " + it->code + "\" eventAck=\"" + (it->acked ? "true" : "false") +
         "\" transactionId=\"0\"/>";
  }
  return x + "</g2s:eventHandlerLogList>";
}

std::string meter_info(const std::string& type, const std::string& dt,
                       const std::map<std::string, std::int64_t>& meters, int extra_meters) {
  std::string x = "<g2s:meterInfo meterDateTime=\"" + dt + "\" meterInfoType=\"" + type + "\">";
  x += "<g2s:currencyMeters currencyId=\"USD\">";
  for (const auto& [n, v] : meters) {
    if (n.rfind("G2S_currencyIn", 0) != 0) continue;
    x += "<g2s:simpleMeter meterName=\"" + n + "\" meterValue=\"" + std::to_string(v) + "\"/>";
  }
  x += "</g2s:currencyMeters><g2s:deviceMeters deviceClass=\"G2S_cabinet\" deviceId=\"1\">";
  for (const auto& [n, v] : meters) {
    if (n.rfind("G2S_currencyIn", 0) == 0) continue;
    x += "<g2s:simpleMeter meterName=\"" + n + "\" meterValue=\"" + std::to_string(v) + "\"/>";
  }
  for (int i = 0; i < extra_meters; ++i) {
    x += "<g2s:simpleMeter meterName=\"SIM_extraMeter" + std::to_string(i) + "Amt\" meterValue=\"" +
         std::to_string(100000LL * i + 1) + "\"/>";
  }
  return x + "</g2s:deviceMeters></g2s:meterInfo>";
}

std::string meter_sub_list(const std::string& type, const std::string& dt) {
  return "<g2s:meterSubList meterSubType=\"" + esc(type) + "\" listStateDateTime=\"" + dt + "\"/>";
}

std::string cabinet_status(bool main_open, bool logic_open, bool aux_open) {
  auto b = [](bool v) { return v ? "true" : "false"; };
  return std::string("<g2s:cabinetStatus egmEnabled=\"true\" hostEnabled=\"true\" ") +
         "enableGamePlay=\"true\" enableMoneyIn=\"true\" egmState=\"G2S_enabled\" cabinetDoorOpen=\"" +
         b(main_open) + "\" logicDoorOpen=\"" + b(logic_open) + "\" auxDoorOpen=\"" + b(aux_open) + "\"/>";
}

std::string descriptor_list(const std::vector<std::pair<std::string, bool>>& devices) {
  std::string x = "<g2s:descriptorList>";
  for (const auto& [cls, guest] : devices) {
    x += "<g2s:descriptor deviceClass=\"" + cls + "\" deviceId=\"1\" ownerId=\"9\" deviceOwner=\"false\" "
         "deviceGuest=\"" + std::string(guest ? "true" : "false") + "\" deviceActive=\"true\"/>";
  }
  return x + "</g2s:descriptorList>";
}

std::string cabinet_date_time(const std::string& dt) {
  return "<g2s:cabinetDateTime cabinetDateTime=\"" + dt + "\"/>";
}

}  // namespace cmd
}  // namespace floorgate::egmsim::g2s
