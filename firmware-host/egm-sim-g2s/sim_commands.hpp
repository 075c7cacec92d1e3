#pragma once
// The simulated EGM's command elements, one builder each, shared by the machine and the
// golden-fixture tests. Its own code: nothing here comes from drivers/src/g2s.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace floorgate::egmsim::g2s {

// One entry of the EGM's event log.
struct LogEntry {
  std::int64_t log_seq = 0, event_id = 0;
  std::string dt, code, dev_class, dev_id, extra;  // extra: transaction/meter XML
  bool acked = false;
};

// G2S device class for an event code (by its class prefix).
std::string device_class_of(const std::string& code);
// The event codes the simulator supports.
const std::vector<std::string>& supported_codes();

namespace cmd {
std::string comms_online(const std::string& location, bool device_reset);
std::string comms_disabled();
std::string comms_status(bool online);
std::string keep_alive_ack();
std::string comms_closing();
std::string supported_events();
// Echoes the subscriptions (attribute maps) the host set.
std::string event_sub_list(const std::vector<std::map<std::string, std::string>>& subs);
std::string event_report(const LogEntry& e);
// Newest first.
std::string event_log_list(const std::vector<LogEntry>& log);
std::string meter_info(const std::string& type, const std::string& dt,
                       const std::map<std::string, std::int64_t>& meters, int extra_meters);
std::string meter_sub_list(const std::string& type, const std::string& dt);
std::string cabinet_status(bool main_open, bool logic_open, bool aux_open);
// One descriptor per (deviceClass, guest rights) with deviceId 1; the host owns none.
std::string descriptor_list(const std::vector<std::pair<std::string, bool>>& devices);
std::string cabinet_date_time(const std::string& dt);
}  // namespace cmd

}  // namespace floorgate::egmsim::g2s
