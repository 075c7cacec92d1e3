#include "app/config_json.hpp"

#include <boost/json.hpp>
#include <set>

namespace floorgate::gateway::app {
namespace json = boost::json;

namespace {

json::array strings(const std::vector<std::string>& v) {
  json::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

json::object egm_json(const config::BusConfig& b, const config::EgmConfig& e) {
  json::object o{{"id", e.id}, {"location", e.location}, {"bank", e.bank}};
  if (b.driver == config::Driver::g2s) {
    o["g2s_egm_id"] = e.g2s_egm_id;
    o["url"] = e.url;
    return o;
  }
  o["address"] = e.address;
  o["poll_period_ms"] = e.poll_period.count();
  o["meter_period_s"] = e.meter_period.count();
  o["real_time_events"] = e.real_time_events;
  o["rom_check_period_s"] = e.rom_check_period.count();
  o["rom_seed"] = e.rom_seed;
  o["set_clock"] = e.set_clock;
  o["clock_period_s"] = e.clock_period.count();
  o["reconcile_tolerance_cents"] = e.reconcile_tolerance_cents;
  if (!e.timing.empty()) o["timing"] = e.timing;  // overrides only when set, as in the YAML
  if (e.reply_timeout_ms > 0) o["reply_timeout_ms"] = e.reply_timeout_ms;
  if (e.inter_byte_ms > 0) o["inter_byte_ms"] = e.inter_byte_ms;
  if (e.poll_gap_ms >= 0) o["poll_gap_ms"] = e.poll_gap_ms;
  json::array codes;
  for (auto c : e.meter_codes) codes.emplace_back(c);
  o["meter_codes"] = std::move(codes);
  return o;
}

std::set<std::string> egm_ids(const config::Config& c) {
  std::set<std::string> s;
  for (const auto& b : c.buses)
    for (const auto& e : b.egms) s.insert(e.id);
  return s;
}

void append(std::string& out, const std::string& what) {
  if (!out.empty()) out += "; ";
  out += what;
}

std::string join_diff(const std::set<std::string>& a, const std::set<std::string>& b) {
  std::string s;
  for (const auto& x : a) {
    if (!b.count(x)) s += (s.empty() ? "" : ", ") + x;
  }
  return s;
}

}  // namespace

json::object config_to_json(const config::Config& c) {
  json::object o;
  o["gateway"] = {{"id", c.gateway.id}, {"site", c.gateway.site},
                  {"topic_root", c.gateway.topic_root}};
  o["store"] = {{"path", c.store.path.string()},
                {"max_size_mb", c.store.retention.max_size_bytes / (1024 * 1024)},
                {"max_age_days", c.store.retention.max_age.count() / 24}};
  o["mqtt"] = {{"host", c.mqtt.host},
               {"port", c.mqtt.port},
               {"username", c.mqtt.username},
               {"password_file", c.mqtt.password_file.string()},
               {"client_id", c.mqtt.client_id},
               {"keepalive_s", c.mqtt.keepalive.count()},
               {"stall_timeout_s", c.mqtt.stall_timeout.count()},
               {"live_copy", c.mqtt.live_copy},
               {"protocol", c.mqtt.protocol},
               {"health_period_s", c.mqtt.health_period.count()},
               {"tls", {{"ca_file", c.mqtt.tls.ca_file.string()},
                        {"cert_file", c.mqtt.tls.cert_file.string()},
                        {"key_file", c.mqtt.tls.key_file.string()}}}};
  json::array consumers;
  for (const auto& k : c.consumers) {
    consumers.push_back(json::object{
        {"name", k.name},
        {"route", {{"classes", strings(k.route.classes)},
                   {"types", strings(k.route.types)},
                   {"egms", strings(k.route.egms)}}},
        {"required", k.required},
        {"window", k.window},
        {"ack_timeout_s", k.ack_timeout.count()},
        {"replay_rate", k.replay_rate},
        {"delivery", std::string(config::kDeliveryModes[static_cast<int>(k.delivery)])}});
  }
  o["consumers"] = std::move(consumers);
  json::array buses;
  for (const auto& b : c.buses) {
    json::object bo{{"id", b.id}, {"driver", std::string(config::to_string(b.driver))}};
    if (b.driver == config::Driver::sas_serial) {
      bo["port"] = b.port;
      bo["link"] = std::string(config::to_string(b.link));
      bo["timing"] = b.timing;
      if (b.wakeup_delay_us > 0) bo["wakeup_delay_us"] = b.wakeup_delay_us;
      if (b.low_latency) bo["low_latency"] = true;
    } else if (b.driver == config::Driver::sas_tcp) {
      bo["endpoint"] = b.tcp_host + ":" + std::to_string(b.tcp_port);
      bo["timing"] = b.timing;
    } else {
      bo["host_id"] = b.host_id;
      bo["bind"] = b.bind;
      bo["listen_port"] = b.listen_port;
      bo["tls_cert_file"] = b.tls_cert_file.string();
      bo["tls_key_file"] = b.tls_key_file.string();
      bo["tls_ca_file"] = b.tls_ca_file.string();
    }
    json::array egms;
    for (const auto& e : b.egms) egms.push_back(egm_json(b, e));
    bo["egms"] = std::move(egms);
    buses.push_back(std::move(bo));
  }
  o["buses"] = std::move(buses);
  json::array users;
  for (const auto& u : c.web.users) {
    users.push_back(json::object{{"name", u.name}, {"role", std::string(config::to_string(u.role))}});
  }
  o["web"] = {{"enabled", c.web.enabled}, {"bind", c.web.bind}, {"port", c.web.port},
              {"session_idle_timeout_s", c.web.session_idle_timeout.count()},
              {"users", std::move(users)}};
  o["logging"] = {{"level", std::string(config::to_string(c.log_level))}};
  return o;
}

std::string describe_change(const config::Config& a, const config::Config& b) {
  std::string out;
  auto ea = egm_ids(a), eb = egm_ids(b);
  if (auto s = join_diff(eb, ea); !s.empty()) append(out, "egms added: " + s);
  if (auto s = join_diff(ea, eb); !s.empty()) append(out, "egms removed: " + s);
  std::string changed;
  for (const auto& bb : b.buses) {
    for (const auto& ba : a.buses) {
      if (ba.id == bb.id && !(ba == bb)) changed += (changed.empty() ? "" : ", ") + bb.id;
    }
  }
  if (!changed.empty()) append(out, "buses changed: " + changed);
  if (a.consumers != b.consumers) append(out, "consumers changed");
  if (a.mqtt != b.mqtt) append(out, "mqtt changed");
  if (a.web != b.web) append(out, "web changed");
  if (a.gateway != b.gateway) append(out, "gateway changed");
  if (a.store != b.store) append(out, "store changed");
  if (a.log_level != b.log_level) append(out, "logging changed");
  return out.empty() ? "no change" : out;
}

}  // namespace floorgate::gateway::app
