#include "app/mapping.hpp"

#include <spdlog/spdlog.h>

#include <cstdlib>

#include "floorgate/store/fault_vfs.hpp"

namespace floorgate::gateway::app {

store::Options store_options(const config::Config& c) {
  store::Options o;
  o.path = c.store.path;
  o.max_bytes = c.store.retention.max_size_bytes;
  o.max_age = std::chrono::duration_cast<std::chrono::seconds>(c.store.retention.max_age);
  // Benchmarks only (tests/bench/groups/efficiency): emulate slow flash by adding this many
  // microseconds to every fsync (the store's fault VFS). Never set on an appliance.
  if (const char* us = std::getenv("FLOORGATE_BENCH_SYNC_DELAY_US")) {
    const long delay = std::strtol(us, nullptr, 10);
    if (delay > 0) {
      store::fault_vfs::set_sync_delay(std::chrono::microseconds(delay));
      o.vfs = store::fault_vfs::name();
      spdlog::warn("FLOORGATE_BENCH_SYNC_DELAY_US={}: every fsync is {} us slower (benchmark)",
                   delay, delay);
    }
  }
  return o;
}

std::vector<ConsumerOptions> consumer_options(const config::Config& c) {
  std::vector<ConsumerOptions> out;
  for (const auto& k : c.consumers) {
    ConsumerOptions o;
    o.name = k.name;
    o.route = k.route;
    o.required = k.required;
    o.window = static_cast<std::size_t>(k.window);
    o.ack_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(k.ack_timeout);
    o.replay_rate = k.replay_rate;
    o.live_first = k.delivery == config::ConsumerConfig::Delivery::live_first;
    out.push_back(std::move(o));
  }
  return out;
}

MqttOptions mqtt_options(const config::Config& c) {
  MqttOptions o;
  o.host = c.mqtt.host;
  o.port = c.mqtt.port;
  for (const auto& h : c.mqtt.hosts) o.brokers.emplace_back(h.host, h.port);
  o.client_id = c.mqtt.client_id;
  o.username = c.mqtt.username;
  if (!c.mqtt.password_file.empty()) {
    o.password = config::read_secret_file(c.mqtt.password_file).value_or("");
  }
  o.ca_file = c.mqtt.tls.ca_file.string();
  o.cert_file = c.mqtt.tls.cert_file.string();
  o.key_file = c.mqtt.tls.key_file.string();
  o.keepalive_s = static_cast<int>(c.mqtt.keepalive.count());
  o.stall_timeout = c.mqtt.stall_timeout;
  o.topic_root = c.gateway.topic_root;
  o.live_copy = c.mqtt.live_copy;
  o.mqtt5 = c.mqtt.protocol != "3.1.1";
  o.protocol_fixed = c.mqtt.protocol != "auto";
  o.health_period = c.mqtt.health_period;
  return o;
}

drivers::sas::BusConfig sas_bus(const config::BusConfig& b, const std::string& store_dir) {
  drivers::sas::BusConfig out;
  if (b.driver == config::Driver::sas_tcp) {
    out.link = drivers::sas::BusConfig::Link::tcp;
    out.port = b.tcp_host + ":" + std::to_string(b.tcp_port);
  } else {
    out.link = b.link == config::LinkKind::pty ? drivers::sas::BusConfig::Link::pty
                                               : drivers::sas::BusConfig::Link::uart;
    out.port = b.port;
    out.wakeup_delay = std::chrono::microseconds(b.wakeup_delay_us);
    out.low_latency = b.low_latency;
  }
  out.resume_file = (std::filesystem::path(store_dir).empty() ? std::filesystem::path(".")
                                                              : std::filesystem::path(store_dir)) /
                    ("sas-" + b.id + ".resume");
  out.rom_file = (std::filesystem::path(out.resume_file).parent_path() / ("sas-" + b.id + ".rom"))
                     .string();
  for (const auto& e : b.egms) {
    drivers::sas::EgmConfig ec;
    ec.id = e.id;
    ec.address = static_cast<std::uint8_t>(e.address);
    ec.poll_period = e.poll_period;
    ec.meter_period = e.meter_period;
    // The driver reads one-byte meter codes (LP 6F, 2F and the single-meter polls); wider
    // codes are accepted by the loader for LP 6F but not read yet.
    for (auto code : e.meter_codes) {
      if (code <= 0xFF) ec.meter_codes.push_back(static_cast<std::uint8_t>(code));
    }
    ec.real_time_events = e.real_time_events;
    ec.rom_check_period = e.rom_check_period;
    ec.rom_seed = static_cast<std::uint16_t>(e.rom_seed);
    ec.set_clock = e.set_clock;
    ec.clock_period = e.clock_period;
    ec.reconcile_tolerance_cents = static_cast<std::uint64_t>(e.reconcile_tolerance_cents);
    // The loader accepted only preset names the driver defines (a gateway test keeps the two
    // lists equal); an EGM's own preset replaces the bus's, then its overrides apply.
    ec.timing = drivers::sas::timing_preset(e.timing.empty() ? b.timing : e.timing)
                    .value_or(drivers::sas::Timing{});
    if (e.reply_timeout_ms > 0) ec.timing.reply_timeout = std::chrono::milliseconds(e.reply_timeout_ms);
    if (e.inter_byte_ms > 0) ec.timing.inter_byte = std::chrono::milliseconds(e.inter_byte_ms);
    if (e.poll_gap_ms >= 0) ec.timing.poll_gap = std::chrono::milliseconds(e.poll_gap_ms);
    out.egms.push_back(std::move(ec));
  }
  return out;
}

drivers::g2s::HostConfig g2s_host(const config::BusConfig& b) {
  drivers::g2s::HostConfig h;
  h.host_id = std::to_string(b.host_id);
  h.bind = b.bind;
  h.port = b.listen_port;
  h.tls_cert_file = b.tls_cert_file.string();
  h.tls_key_file = b.tls_key_file.string();
  h.tls_ca_file = b.tls_ca_file.string();
  for (const auto& e : b.egms) {
    h.egms.push_back({e.id, e.g2s_egm_id, e.url});
  }
  return h;
}

std::vector<web::User> web_users(const config::Config& c) {
  std::vector<web::User> users;
  for (const auto& u : c.web.users) {
    users.push_back({u.name, std::string(config::to_string(u.role)), u.password_hash});
  }
  return users;
}

web::WebOptions web_options(const config::Config& c) {
  web::WebOptions o;
  o.bind = c.web.bind;
  o.port = c.web.port;
  o.cert_file = c.web.tls_cert_file.string();
  o.key_file = c.web.tls_key_file.string();
  o.session_idle = c.web.session_idle_timeout;
  o.allowed_hosts = c.web.allowed_hosts;
  o.users = web_users(c);
  return o;
}

}  // namespace floorgate::gateway::app
