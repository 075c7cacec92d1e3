// Valid configurations: embedded defaults, the example file, to_yaml round trips, helpers.

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>

#include "floorgate/config/config.hpp"
#include "floorgate/drivers/sas/config.hpp"
#include "test_process.hpp"

namespace floorgate::config {
namespace {

std::string errors_of(const LoadResult& r) {
  std::string all;
  for (const auto& e : r.errors) all += e.to_string() + "\n";
  return all;
}

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

const std::filesystem::path kExample =
    std::filesystem::path(FLOORGATE_SOURCE_DIR) / "config/examples/floorgate.example.yaml";

TEST(ConfigDefaults, EmbeddedDefaultsRunTheDemo) {
  const LoadResult r = load_string(default_config_yaml(), "<defaults>");
  ASSERT_TRUE(r.config) << errors_of(r);
  const Config& c = *r.config;
  EXPECT_EQ(c.gateway.topic_root, "floor/v1/" + c.gateway.site + "/" + c.gateway.id);
  EXPECT_EQ(c.mqtt.host, "127.0.0.1");
  EXPECT_EQ(c.mqtt.port, 1883);
  ASSERT_EQ(c.mqtt.hosts.size(), 1u);  // filled from host/port: one broker, no failover
  EXPECT_EQ(c.mqtt.hosts[0], (BrokerEndpoint{"127.0.0.1", 1883}));
  EXPECT_FALSE(c.mqtt.tls.enabled());
  EXPECT_EQ(c.mqtt.client_id, "floorgate-" + c.gateway.id);
  EXPECT_EQ(c.store.path, "/var/lib/floorgate/floorgate.db");
  ASSERT_EQ(c.buses.size(), 1u);
  const BusConfig& bus = c.buses[0];
  EXPECT_EQ(bus.driver, Driver::sas_serial);
  EXPECT_EQ(bus.link, LinkKind::pty);
  EXPECT_EQ(bus.port, "/run/floorgate/sim-bus0");
  ASSERT_EQ(bus.egms.size(), 8u);
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(bus.egms[i].id, "sim-0" + std::to_string(i + 1));
    EXPECT_EQ(bus.egms[i].address, i + 1);
    EXPECT_EQ(bus.egms[i].meter_codes, default_meter_codes());
  }
  ASSERT_EQ(c.consumers.size(), 3u);
  EXPECT_EQ(c.consumers[0].name, "slot-mgmt");
  EXPECT_EQ(c.consumers[0].route.classes, (std::vector<std::string>{"financial", "security"}));
  EXPECT_TRUE(c.consumers[0].required);
  EXPECT_EQ(c.consumers[1].name, "maintenance");
  EXPECT_EQ(c.consumers[1].route.classes, (std::vector<std::string>{"fault", "security"}));
  EXPECT_TRUE(c.consumers[1].required);
  EXPECT_EQ(c.consumers[2].name, "analytics");
  EXPECT_TRUE(c.consumers[2].route.classes.empty());
  EXPECT_FALSE(c.consumers[2].required);
  EXPECT_TRUE(c.web.enabled);
  EXPECT_EQ(c.web.bind, "127.0.0.1");
  EXPECT_EQ(c.web.port, 8080);
  EXPECT_EQ(default_config(), c);
}

TEST(ConfigDefaults, MinimalFileTakesBuiltInDefaults) {
  const LoadResult r = load_string("gateway: {id: gw-7, site: north}\n", "min.yaml");
  ASSERT_TRUE(r.config) << errors_of(r);
  const Config& c = *r.config;
  EXPECT_EQ(c.gateway.topic_root, "floor/v1/north/gw-7");
  EXPECT_EQ(c.mqtt.keepalive, std::chrono::seconds(30));
  EXPECT_EQ(c.store.retention.max_size_bytes, 1024ull << 20);
  EXPECT_EQ(c.log_level, LogLevel::info);
  EXPECT_TRUE(c.buses.empty());
  EXPECT_TRUE(c.consumers.empty());
}

// The example as installed: the demo pty bus with the simulator's eight machines.
TEST(ConfigExample, LoadsAsInstalled) {
  const LoadResult r = load_file(kExample);
  ASSERT_TRUE(r.config) << errors_of(r);
  ASSERT_EQ(r.config->buses.size(), 1u);
  EXPECT_EQ(r.config->buses[0].link, LinkKind::pty);
  EXPECT_EQ(r.config->buses[0].egms.size(), 8u);
  EXPECT_EQ(r.config->consumers.size(), 4u);
}

// The example shows sas-tcp, g2s and real-UART buses commented out with "#> "; they must be
// valid too.
TEST(ConfigExample, CommentedBusesAreValid) {
  std::istringstream in(read_text(kExample));
  std::string line, text;
  int uncommented = 0;
  while (std::getline(in, line)) {
    const auto at = line.find("#> ");
    if (at != std::string::npos) {
      line = line.substr(0, at) + line.substr(at + 3);
      ++uncommented;
    }
    const auto tty = line.find("/dev/ttyS0");
    if (tty != std::string::npos) line.replace(tty, 10, "/dev/null");  // a character device here
    text += line + "\n";
  }
  ASSERT_GT(uncommented, 10);
  const LoadResult r = load_string(text, "example-uncommented.yaml");
  ASSERT_TRUE(r.config) << errors_of(r);
  bool tcp = false, g2s = false, pty = false, uart = false;
  for (const auto& b : r.config->buses) {
    tcp |= b.driver == Driver::sas_tcp && b.tcp_host == "127.0.0.1" && b.tcp_port == 4001;
    g2s |= b.driver == Driver::g2s && b.listen_port == 9090 && b.egms.size() == 1 &&
           b.egms[0].g2s_egm_id == "IGT_00012E492815";
    pty |= b.driver == Driver::sas_serial && b.link == LinkKind::pty;
    uart |= b.driver == Driver::sas_serial && b.link == LinkKind::uart && b.port == "/dev/null";
  }
  EXPECT_TRUE(tcp);
  EXPECT_TRUE(g2s);
  EXPECT_TRUE(pty);
  EXPECT_TRUE(uart);
}

TEST(ConfigRoundTrip, DefaultsAndExampleSurviveToYaml) {
  for (const Config& c : {default_config(), *load_file(kExample).config}) {
    const std::string text = to_yaml(c);
    const LoadResult r = load_string(text, "roundtrip.yaml");
    ASSERT_TRUE(r.config) << errors_of(r) << text;
    EXPECT_EQ(*r.config, c) << text;
    EXPECT_EQ(to_yaml(*r.config), text);
  }
}

TEST(ConfigRoundTrip, EveryFieldChangedSurvives) {
  floorgate::testing::TempDir dir;
  const auto pw = dir / "mqtt.pw";
  const auto ca = dir / "ca.pem";
  std::ofstream(pw) << "s3cret\n";
  std::ofstream(ca) << "pem\n";
  Config c = default_config();
  c.gateway = {"gw-9", "east", "casino/east/gw9"};
  c.log_level = LogLevel::debug;
  c.store.path = dir / "store.db";
  c.store.retention = {5ull << 20, std::chrono::hours(48)};
  c.mqtt.host = "fd00::10";
  c.mqtt.port = 8883;
  // Failover brokers: emitted as hosts (IPv6 in brackets); host/port mirror the first.
  c.mqtt.hosts = {{"fd00::10", 8883}, {"broker-b.casino.lan", 8884}};
  c.mqtt.tls.ca_file = ca;
  c.mqtt.tls.cert_file = ca;
  c.mqtt.tls.key_file = ca;
  c.mqtt.username = "gw9";
  c.mqtt.password_file = pw;
  c.mqtt.client_id = "gw9.east";
  c.mqtt.live_copy = true;
  c.mqtt.protocol = "3.1.1";
  c.mqtt.health_period = std::chrono::seconds(3);
  c.consumers[0].route.types = {"door.opened", "tilt.*"};
  c.consumers[0].route.egms = {"sim-03"};
  c.consumers[0].window = 7;
  c.consumers[0].replay_rate = 42;
  c.buses[0].egms[2].meter_codes = {0x00, 0x1ff};
  c.buses[0].egms[2].real_time_events = true;
  c.buses[0].egms[2].rom_check_period = std::chrono::seconds(3600);
  c.buses[0].egms[2].rom_seed = 0xBEEF;
  c.buses[0].egms[2].timing = "slow";
  c.buses[0].egms[2].reply_timeout_ms = 250;
  c.buses[0].egms[2].inter_byte_ms = 12;
  c.buses[0].egms[2].poll_gap_ms = 0;
  c.buses[0].timing = "usb-serial";
  c.buses[0].egms[2].location = "Row 3: \"seat\" #7";
  c.buses[0].egms[2].poll_period = std::chrono::milliseconds(40);
  BusConfig tcp;
  tcp.id = "tcp0";
  tcp.driver = Driver::sas_tcp;
  tcp.tcp_host = "::1";
  tcp.tcp_port = 4001;
  tcp.timing = "device-server";
  tcp.egms.push_back(EgmConfig{.id = "t-01", .address = 9, .meter_codes = {}});
  c.buses.push_back(tcp);
  BusConfig g2s;
  g2s.id = "g2s0";
  g2s.driver = Driver::g2s;
  g2s.listen_port = 9443;
  g2s.host_id = 12;
  g2s.bind = "0.0.0.0";
  g2s.tls_cert_file = ca;  // any readable file will do for the loader
  g2s.tls_key_file = ca;
  g2s.tls_ca_file = ca;
  EgmConfig n;
  n.id = "n-01";
  n.g2s_egm_id = "IGT_00012E492815";
  n.url = "https://10.1.2.3:8443/g2s";
  g2s.egms.push_back(n);
  c.buses.push_back(g2s);
  c.web.enabled = false;
  c.web.users.push_back({"viewer1", WebRole::viewer,
                         "pbkdf2-sha256$100000$Zmxvb3JnYXRlLWRlbW8tcw==$"
                         "PRDEgClxwstsCKPwC+ETBp5CNBnNqVT3rVFrUUZo41I="});
  c.web.allowed_hosts = {"floor-gw.casino.lan", "gw01"};
  const std::string text = to_yaml(c);
  const LoadResult r = load_string(text, "roundtrip.yaml");
  ASSERT_TRUE(r.config) << errors_of(r) << text;
  EXPECT_EQ(*r.config, c) << text;
  EXPECT_EQ(read_secret_file(pw), "s3cret");
}

TEST(ConfigValues, RouteSelection) {
  RouteConfig all;
  EXPECT_TRUE(all.selects("e1", core::EventClass::telemetry, "meters.snapshot"));
  RouteConfig r{{"financial", "security"}, {"door.*", "bill.stacked"}, {"e1", "e2"}};
  EXPECT_TRUE(r.selects("e1", core::EventClass::security, "door.opened"));
  EXPECT_TRUE(r.selects("e2", core::EventClass::financial, "bill.stacked"));
  EXPECT_FALSE(r.selects("e3", core::EventClass::security, "door.opened"));
  EXPECT_FALSE(r.selects("e1", core::EventClass::fault, "door.opened"));
  EXPECT_FALSE(r.selects("e1", core::EventClass::financial, "bill.jam"));
  EXPECT_FALSE(r.selects("e1", core::EventClass::security, "doorbell.rang"));
}

TEST(ConfigValues, SasTcpEndpointsAndUartDevices) {
  const LoadResult r = load_string(
      "gateway: {id: gw, site: s}\n"
      "buses:\n"
      "  - {id: t4, driver: sas-tcp, endpoint: 'ds1.floor.local:4001', egms: [{id: a, address: 1}]}\n"
      "  - {id: t6, driver: sas-tcp, endpoint: '[fd00::5]:4002', egms: [{id: b, address: 1}]}\n"
      "  - {id: u0, driver: sas-serial, port: /dev/null, egms: [{id: c, address: 1}]}\n",
      "t.yaml");
  ASSERT_TRUE(r.config) << errors_of(r);
  EXPECT_EQ(r.config->buses[0].tcp_host, "ds1.floor.local");
  EXPECT_EQ(r.config->buses[0].tcp_port, 4001);
  EXPECT_EQ(r.config->buses[1].tcp_host, "fd00::5");
  EXPECT_EQ(r.config->buses[1].tcp_port, 4002);
  EXPECT_EQ(r.config->buses[2].link, LinkKind::uart);
}

// Earlier versions wrote the default meter set out in full: a file listing exactly that set
// (before 1D, 1E and A6 joined it) reads as today's default; any other list is kept as written.
TEST(ConfigValues, TheEarlierDefaultMeterSetReadsAsTheDefault) {
  const std::string earlier =
      "[0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0B, 0x0C, 0x24, 0x0D, 0x0E, 0x0F, 0x10, "
      "0x23, 0xA0, 0xA2, 0xA4, 0xB8, 0xBA, 0xBC, 0x40, 0x42, 0x43, 0x44, 0x46, 0x47]";
  const LoadResult r = load_string(
      "gateway: {id: gw, site: s}\n"
      "buses:\n"
      "  - {id: t4, driver: sas-tcp, endpoint: 'ds1.floor.local:4001', egms: [\n"
      "      {id: a, address: 1, meter_codes: " + earlier + "},\n"
      "      {id: b, address: 2, meter_codes: [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0B, "
      "0x0C, 0x24, 0x0D, 0x0E, 0x0F, 0x10, 0x23, 0xA0, 0xA2, 0xA4, 0xB8, 0xBA, 0xBC, 0x40, "
      "0x42, 0x43, 0x44, 0x46]}]}\n",
      "t.yaml");
  ASSERT_TRUE(r.config) << errors_of(r);
  const auto& egms = r.config->buses[0].egms;
  EXPECT_EQ(egms[0].meter_codes, default_meter_codes());
  EXPECT_EQ(egms[1].meter_codes.size(), 26u);  // one short of it: as written
  const auto now = default_meter_codes();
  EXPECT_EQ(std::count(now.begin(), now.end(), 0xA6), 1);
}

TEST(ConfigValues, SecretFileReadsFirstLineOnly) {
  floorgate::testing::TempDir dir;
  std::ofstream(dir / "pw") << "line-one\r\nline-two\n";
  EXPECT_EQ(read_secret_file(dir / "pw"), "line-one");
  EXPECT_EQ(read_secret_file(dir / "absent"), std::nullopt);
}

}  // namespace
}  // namespace floorgate::config

namespace floorgate::config {
namespace {

// The loader accepts the preset names the SAS driver defines, no more and no fewer (the
// gateway maps one onto the other by name).
TEST(ConfigValues, SasTimingPresetsAreTheDriversPresets) {
  std::vector<std::string_view> loader(std::begin(kSasTimingPresets), std::end(kSasTimingPresets));
  EXPECT_EQ(loader, drivers::sas::timing_preset_names());
}

}  // namespace
}  // namespace floorgate::config
