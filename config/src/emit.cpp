// to_yaml: every field of a Config, in the same layout load_string reads.

#include <yaml-cpp/yaml.h>

#include <cstdio>

#include "floorgate/config/config.hpp"

namespace floorgate::config {

namespace {

void key_str(YAML::Emitter& out, const char* key, const std::string& value) {
  out << YAML::Key << key << YAML::Value << YAML::DoubleQuoted << value;
}

template <typename T>
void key_val(YAML::Emitter& out, const char* key, const T& value) {
  out << YAML::Key << key << YAML::Value << value;
}

void emit_list(YAML::Emitter& out, const char* key, const std::vector<std::string>& items) {
  out << YAML::Key << key << YAML::Value << YAML::Flow << YAML::BeginSeq;
  for (const auto& i : items) out << YAML::DoubleQuoted << i;
  out << YAML::EndSeq;
}

void emit_egm(YAML::Emitter& out, const BusConfig& bus, const EgmConfig& e) {
  out << YAML::BeginMap;
  key_str(out, "id", e.id);
  if (bus.driver == Driver::g2s) {
    key_str(out, "g2s_egm_id", e.g2s_egm_id);
    key_str(out, "url", e.url);
  } else {
    key_val(out, "address", e.address);
    key_val(out, "poll_period_ms", e.poll_period.count());
    // The default set is left out, so that a file follows the default when it grows.
    if (e.meter_codes != default_meter_codes()) {
      out << YAML::Key << "meter_codes" << YAML::Value << YAML::Flow << YAML::BeginSeq;
      for (auto c : e.meter_codes) {
        char code[8];
        std::snprintf(code, sizeof code, "0x%02X", static_cast<unsigned>(c));
        out << code;
      }
      out << YAML::EndSeq;
    }
    key_val(out, "real_time_events", e.real_time_events);
    key_val(out, "rom_check_period_s", e.rom_check_period.count());
    key_val(out, "rom_seed", e.rom_seed);
    key_val(out, "set_clock", e.set_clock);
    key_val(out, "clock_period_s", e.clock_period.count());
    key_val(out, "reconcile_tolerance_cents", e.reconcile_tolerance_cents);
    if (!e.timing.empty()) key_val(out, "timing", e.timing);
    if (e.reply_timeout_ms > 0) key_val(out, "reply_timeout_ms", e.reply_timeout_ms);
    if (e.inter_byte_ms > 0) key_val(out, "inter_byte_ms", e.inter_byte_ms);
    if (e.poll_gap_ms >= 0) key_val(out, "poll_gap_ms", e.poll_gap_ms);
  }
  key_val(out, "meter_period_s", e.meter_period.count());
  key_str(out, "location", e.location);
  key_str(out, "bank", e.bank);
  out << YAML::EndMap;
}

void emit_bus(YAML::Emitter& out, const BusConfig& b) {
  out << YAML::BeginMap;
  key_str(out, "id", b.id);
  key_val(out, "driver", std::string(to_string(b.driver)));
  switch (b.driver) {
    case Driver::sas_serial:
      key_str(out, "port", b.port);
      key_val(out, "link", std::string(to_string(b.link)));
      key_val(out, "timing", b.timing);
      if (b.link == LinkKind::uart) {  // the loader refuses them set on a pty
        key_val(out, "wakeup_delay_us", b.wakeup_delay_us);
        key_val(out, "low_latency", b.low_latency);
      }
      break;
    case Driver::sas_tcp: {
      const bool v6 = b.tcp_host.find(':') != std::string::npos;
      key_str(out, "endpoint", (v6 ? "[" + b.tcp_host + "]" : b.tcp_host) + ":" +
                                   std::to_string(b.tcp_port));
      key_val(out, "timing", b.timing);
      break;
    }
    case Driver::g2s:
      key_val(out, "host_id", b.host_id);
      key_str(out, "bind", b.bind);
      key_val(out, "listen_port", b.listen_port);
      key_str(out, "tls_cert_file", b.tls_cert_file.string());
      key_str(out, "tls_key_file", b.tls_key_file.string());
      key_str(out, "tls_ca_file", b.tls_ca_file.string());
      break;
  }
  out << YAML::Key << "egms" << YAML::Value << YAML::BeginSeq;
  for (const auto& e : b.egms) emit_egm(out, b, e);
  out << YAML::EndSeq << YAML::EndMap;
}

void emit_consumer(YAML::Emitter& out, const ConsumerConfig& c) {
  out << YAML::BeginMap;
  key_str(out, "name", c.name);
  out << YAML::Key << "route" << YAML::Value << YAML::BeginMap;
  emit_list(out, "classes", c.route.classes);
  emit_list(out, "types", c.route.types);
  emit_list(out, "egms", c.route.egms);
  out << YAML::EndMap;
  key_val(out, "required", c.required);
  key_val(out, "window", c.window);
  key_val(out, "ack_timeout_s", c.ack_timeout.count());
  key_val(out, "replay_rate", c.replay_rate);
  key_str(out, "delivery", std::string(kDeliveryModes[static_cast<int>(c.delivery)]));
  out << YAML::EndMap;
}

void emit_mqtt(YAML::Emitter& out, const MqttConfig& m) {
  out << YAML::Key << "mqtt" << YAML::Value << YAML::BeginMap;
  if (m.hosts.size() > 1) {
    out << YAML::Key << "hosts" << YAML::Value << YAML::Flow << YAML::BeginSeq;
    for (const auto& h : m.hosts) {
      const bool v6 = h.host.find(':') != std::string::npos;
      out << (v6 ? "[" + h.host + "]" : h.host) + ":" + std::to_string(h.port);
    }
    out << YAML::EndSeq;
  } else {
    key_str(out, "host", m.host);
    key_val(out, "port", m.port);
  }
  out << YAML::Key << "tls" << YAML::Value << YAML::BeginMap;
  key_str(out, "ca_file", m.tls.ca_file.string());
  key_str(out, "cert_file", m.tls.cert_file.string());
  key_str(out, "key_file", m.tls.key_file.string());
  out << YAML::EndMap;
  key_str(out, "username", m.username);
  key_str(out, "password_file", m.password_file.string());
  key_str(out, "client_id", m.client_id);
  key_val(out, "keepalive_s", m.keepalive.count());
  key_val(out, "stall_timeout_s", m.stall_timeout.count());
  key_val(out, "live_copy", m.live_copy);
  key_str(out, "protocol", m.protocol);
  key_val(out, "health_period_s", m.health_period.count());
  out << YAML::EndMap;
}

void emit_web(YAML::Emitter& out, const WebConfig& w) {
  out << YAML::Key << "web" << YAML::Value << YAML::BeginMap;
  key_val(out, "enabled", w.enabled);
  key_str(out, "bind", w.bind);
  key_val(out, "port", w.port);
  out << YAML::Key << "tls" << YAML::Value << YAML::BeginMap;
  key_str(out, "cert_file", w.tls_cert_file.string());
  key_str(out, "key_file", w.tls_key_file.string());
  out << YAML::EndMap;
  key_val(out, "session_idle_timeout_s", w.session_idle_timeout.count());
  out << YAML::Key << "allowed_hosts" << YAML::Value << YAML::Flow << YAML::BeginSeq;
  for (const auto& h : w.allowed_hosts) out << h;
  out << YAML::EndSeq;
  out << YAML::Key << "users" << YAML::Value << YAML::BeginSeq;
  for (const auto& u : w.users) {
    out << YAML::BeginMap;
    key_str(out, "name", u.name);
    key_val(out, "role", std::string(to_string(u.role)));
    key_str(out, "password_hash", u.password_hash);
    out << YAML::EndMap;
  }
  out << YAML::EndSeq << YAML::EndMap;
}

}  // namespace

std::string to_yaml(const Config& c) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  out << YAML::Key << "gateway" << YAML::Value << YAML::BeginMap;
  key_str(out, "id", c.gateway.id);
  key_str(out, "site", c.gateway.site);
  key_str(out, "topic_root", c.gateway.topic_root);
  out << YAML::EndMap;
  out << YAML::Key << "logging" << YAML::Value << YAML::BeginMap;
  key_val(out, "level", std::string(to_string(c.log_level)));
  out << YAML::EndMap;
  out << YAML::Key << "store" << YAML::Value << YAML::BeginMap;
  key_str(out, "path", c.store.path.string());
  out << YAML::Key << "retention" << YAML::Value << YAML::BeginMap;
  key_val(out, "max_size_mb", c.store.retention.max_size_bytes >> 20);
  key_val(out, "max_age_days", c.store.retention.max_age.count() / 24);
  out << YAML::EndMap << YAML::EndMap;
  emit_mqtt(out, c.mqtt);
  out << YAML::Key << "consumers" << YAML::Value << YAML::BeginSeq;
  for (const auto& consumer : c.consumers) emit_consumer(out, consumer);
  out << YAML::EndSeq;
  out << YAML::Key << "buses" << YAML::Value << YAML::BeginSeq;
  for (const auto& bus : c.buses) emit_bus(out, bus);
  out << YAML::EndSeq;
  emit_web(out, c.web);
  out << YAML::EndMap;
  return std::string(out.c_str()) + "\n";
}

}  // namespace floorgate::config
