#pragma once
// Translations from the validated configuration to each component's own options. Components
// never see config:: types (they are configured by plain structs), so this is the one place
// that knows both sides.

#include <string>
#include <vector>

#include "floorgate/config/config.hpp"
#include "floorgate/drivers/g2s/host.hpp"
#include "floorgate/drivers/sas/config.hpp"
#include "floorgate/gateway/delivery.hpp"
#include "floorgate/gateway/web/web_server.hpp"
#include "floorgate/store/store.hpp"

namespace floorgate::gateway::app {

store::Options store_options(const config::Config& c);
std::vector<ConsumerOptions> consumer_options(const config::Config& c);
// The MQTT password is read from mqtt.password_file here (never logged).
MqttOptions mqtt_options(const config::Config& c);
// `store_dir`: where the bus keeps its resume file (beside the store).
drivers::sas::BusConfig sas_bus(const config::BusConfig& b, const std::string& store_dir);
drivers::g2s::HostConfig g2s_host(const config::BusConfig& b);
web::WebOptions web_options(const config::Config& c);
std::vector<web::User> web_users(const config::Config& c);

}  // namespace floorgate::gateway::app
