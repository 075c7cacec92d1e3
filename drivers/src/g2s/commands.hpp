#pragma once
// The host's G2S command elements (the inside of a class element), one builder each, so the
// host and the golden-fixture tests use the same code. Pure functions, any thread.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace floorgate::drivers::g2s::cmd {

std::string comms_online_ack(std::int64_t sync_timer_ms);
std::string comms_disabled_ack(std::int64_t sync_timer_ms);
std::string set_comms_state(bool enable);
std::string keep_alive();
std::string keep_alive_ack();
std::string comms_closing_ack();
std::string get_supported_events();
// One eventHostSubscription for G2S_all (all = true) or one per code, with eventPersist.
std::string set_event_sub(bool all, const std::vector<std::string_view>& codes);
// One wildcard eventHostSubscription per device class (eventCode G2S_all); G2S_gamePlay
// without persistence (its volume would fill the EGM's queue and log), every other persisted.
std::string set_event_sub_by_class(const std::vector<std::string>& classes);
// getEventSub for every host and forced subscription (answered with eventSubList).
std::string get_event_sub();
std::string get_cabinet_status();
// communications getDescriptor for every device, every role flag set (an AVP refuses a bare one).
std::string get_descriptor();
// cabinet setDateTime to `utc_iso` (XML dateTime, UTC).
std::string set_date_time(std::string_view utc_iso);
std::string event_ack(std::int64_t event_id);
std::string get_event_handler_log();
// getCurrencyMeters plus getDeviceMeters for each device class.
std::string meter_requests(const std::vector<std::string>& classes);
std::string set_meter_sub_eod(const std::vector<std::string>& classes);
std::string set_meter_sub_periodic(const std::vector<std::string>& classes, std::int64_t interval_ms);
std::string get_meter_info(const std::vector<std::string>& classes);
std::string meter_info_ack(std::string_view meter_dt, std::string_view meter_info_type);

}  // namespace floorgate::drivers::g2s::cmd
