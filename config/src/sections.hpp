#pragma once
// Private: one reader per top-level section of the YAML file. Each reads what it can, records
// every problem in the Reader and leaves defaults in place where a value was bad.

#include <yaml-cpp/yaml.h>

#include "floorgate/config/config.hpp"
#include "reader.hpp"

namespace floorgate::config::detail {

// An optional file path key; when set, the file must be readable ("cannot read <what> ...").
void read_file_key(Reader& r, const YAML::Node& map, std::string_view path, std::string_view key,
                   std::string_view what, std::filesystem::path& out);
// gateway: (id, site, topic_root) and logging: (level). `root` is the document mapping.
void read_gateway(Reader& r, const YAML::Node& root, Config& out);
// store: path and retention.
void read_store(Reader& r, const YAML::Node& node, StoreConfig& out);
// mqtt: broker, TLS, credentials and cadence.
void read_mqtt(Reader& r, const YAML::Node& node, MqttConfig& out);
// web: the technician page and its users.
void read_web(Reader& r, const YAML::Node& node, WebConfig& out);
// buses: drivers and their EGMs, with the duplicate checks across buses. `web_port` (0 = web
// disabled) may not be reused as a G2S listen port.
void read_buses(Reader& r, const YAML::Node& node, int web_port, std::vector<BusConfig>& out);
// consumers: names, routes (checked against the configured EGMs) and delivery settings.
void read_consumers(Reader& r, const YAML::Node& node, const std::vector<BusConfig>& buses,
                    std::vector<ConsumerConfig>& out);

}  // namespace floorgate::config::detail
