#include <algorithm>
#include <map>
#include <set>

#include "checks.hpp"
#include "floorgate/config/schema.hpp"
#include "sections.hpp"

namespace floorgate::config::detail {

namespace {

void read_route(Reader& r, const YAML::Node& node, const std::string& path,
                const std::set<std::string>& egm_ids, RouteConfig& route) {
  if (!node.IsDefined() || node.IsNull()) return;
  if (!r.check_map(node, path, section_keys("consumers[].route"))) return;
  std::vector<Pos> where;
  std::vector<std::string> values;
  const std::vector<std::string_view> classes(core::kEventClassNames.begin(),
                                              core::kEventClassNames.end());
  if (r.read_string_list(node, path, "classes", values, where)) {
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (std::find(classes.begin(), classes.end(), values[i]) != classes.end()) {
        route.classes.push_back(values[i]);
        continue;
      }
      std::string msg = "unknown event class '" + values[i] + "'";
      const std::string near = nearest(values[i], classes);
      if (!near.empty()) msg += "; did you mean '" + near + "'?";
      msg += " Allowed: financial, security, fault, operational, telemetry";
      r.error(where[i], index(join(path, "classes"), i), msg);
    }
  }
  values.clear();
  if (r.read_string_list(node, path, "types", values, where)) {
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (valid_type_pattern(values[i])) route.types.push_back(values[i]);
      else r.error(where[i], index(join(path, "types"), i),
                   "'" + values[i] + "' is not an event type; use a dotted lower-case name "
                   "(door.opened) or a prefix wildcard (tilt.*)");
    }
  }
  values.clear();
  if (r.read_string_list(node, path, "egms", values, where)) {
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (egm_ids.count(values[i])) route.egms.push_back(values[i]);
      else r.error(where[i], index(join(path, "egms"), i),
                   "unknown EGM '" + values[i] + "'; it is not configured on any bus");
    }
  }
}

}  // namespace

void read_consumers(Reader& r, const YAML::Node& node, const std::vector<BusConfig>& buses,
                    std::vector<ConsumerConfig>& out) {
  out.clear();
  if (!node.IsDefined() || node.IsNull()) return;
  if (!node.IsSequence()) {
    r.error(pos_of(node), "consumers", "expected a list of consumers, got " + describe(node));
    return;
  }
  std::set<std::string> egm_ids;
  for (const auto& b : buses) {
    for (const auto& e : b.egms) egm_ids.insert(e.id);
  }
  std::map<std::string, Pos> names;
  for (std::size_t i = 0; i < node.size(); ++i) {
    const YAML::Node c = node[i];
    const std::string p = index("consumers", i);
    if (!r.check_map(c, p, section_keys("consumers[]")))
      continue;
    ConsumerConfig consumer;
    if (r.require(c, p, "name", "consumer name, e.g. slot-mgmt") &&
        r.read_id(c, p, "name", consumer.name)) {
      const Pos np = pos_of(Reader::find(c, "name"));
      auto [it, inserted] = names.emplace(consumer.name, np);
      if (!inserted)
        r.error(np, join(p, "name"),
                "duplicate consumer name '" + consumer.name + "' (first at line " +
                    std::to_string(it->second.line) + "); consumer names must be unique");
    }
    read_route(r, Reader::find(c, "route"), join(p, "route"), egm_ids, consumer.route);
    r.read_bool(c, p, "required", consumer.required);
    r.read_int(c, p, "window", 1, 65535, consumer.window);
    std::int64_t ack = consumer.ack_timeout.count();
    if (r.read_int(c, p, "ack_timeout_s", 1, 3600, ack))
      consumer.ack_timeout = std::chrono::seconds(ack);
    r.read_int(c, p, "replay_rate", 1, 1000000, consumer.replay_rate);
    int mode = static_cast<int>(consumer.delivery);
    if (r.read_choice(c, p, "delivery",
                      std::vector<std::string_view>(std::begin(kDeliveryModes),
                                                    std::end(kDeliveryModes)),
                      mode))
      consumer.delivery = static_cast<ConsumerConfig::Delivery>(mode);
    out.push_back(std::move(consumer));
  }
}

}  // namespace floorgate::config::detail
