// load_file / load_string: parse with yaml-cpp, walk the sections, collect every error.

#include <algorithm>
#include <fstream>
#include <sstream>

#include "floorgate/config/config.hpp"
#include "reader.hpp"
#include "sections.hpp"

namespace floorgate::config {

namespace {

LoadResult load_node(const YAML::Node& root, detail::Reader& r) {
  using detail::Reader;
  Config cfg;
  if (r.check_map(root, "",
                  {"gateway", "logging", "store", "mqtt", "consumers", "buses", "web"})) {
    detail::read_gateway(r, root, cfg);
    const YAML::Node store = Reader::find(root, "store");
    if (store.IsDefined() && !store.IsNull()) detail::read_store(r, store, cfg.store);
    const YAML::Node mqtt = Reader::find(root, "mqtt");
    if (mqtt.IsDefined() && !mqtt.IsNull()) detail::read_mqtt(r, mqtt, cfg.mqtt);
    const YAML::Node web = Reader::find(root, "web");
    if (web.IsDefined() && !web.IsNull()) detail::read_web(r, web, cfg.web);
    detail::read_buses(r, Reader::find(root, "buses"), cfg.web.enabled ? cfg.web.port : 0,
                       cfg.buses);
    detail::read_consumers(r, Reader::find(root, "consumers"), cfg.buses, cfg.consumers);
  }
  if (cfg.gateway.topic_root.empty())
    cfg.gateway.topic_root = "floor/v1/" + cfg.gateway.site + "/" + cfg.gateway.id;
  if (cfg.mqtt.client_id.empty()) cfg.mqtt.client_id = "floorgate-" + cfg.gateway.id;

  LoadResult result;
  result.errors = r.take_errors();
  std::stable_sort(result.errors.begin(), result.errors.end(),
                   [](const ConfigError& a, const ConfigError& b) {
                     return std::tie(a.line, a.column) < std::tie(b.line, b.column);
                   });
  if (result.errors.empty()) result.config = std::move(cfg);
  return result;
}

}  // namespace

LoadResult load_string(std::string_view yaml, std::string_view filename) {
  detail::Reader r{std::string(filename)};
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    const YAML::Mark m = e.mark;
    const detail::Pos p = m.is_null() ? detail::Pos{} : detail::Pos{m.line + 1, m.column + 1};
    r.error(p, "", "YAML syntax error: " + e.msg);
    return LoadResult{std::nullopt, r.take_errors()};
  }
  // An empty file is an empty mapping (so the error is "missing gateway", not "not a mapping").
  if (!root.IsDefined() || root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  try {
    return load_node(root, r);
  } catch (const YAML::Exception& e) {
    // Defensive: yaml-cpp throws on misuse; report rather than crash the caller.
    r.error({}, "", std::string("internal error while reading the YAML tree: ") + e.what());
    return LoadResult{std::nullopt, r.take_errors()};
  }
}

LoadResult load_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ConfigError e{path.string(), 0, 0, "cannot open the configuration file for reading"};
    return LoadResult{std::nullopt, {e}};
  }
  std::ostringstream text;
  text << in.rdbuf();
  return load_string(text.str(), path.string());
}

Config default_config() {
  LoadResult r = load_string(default_config_yaml(), "<defaults>");
  return r.config ? *r.config : Config{};
}

}  // namespace floorgate::config
