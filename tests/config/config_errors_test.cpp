// One mistake per case: exactly one error, at the right line:column, saying what is wrong.

#include <gtest/gtest.h>

#include <string>

#include "floorgate/config/config.hpp"

namespace floorgate::config {
namespace {

struct Mistake {
  const char* name;
  const char* yaml;
  int line;
  int column;
  const char* says;  // a substring the message must contain
};

// Lines are numbered from the first line of each snippet.
const Mistake kMistakes[] = {
    {"UnknownKeySuggestsNearest",
     "gateway: {id: gw, site: s}\n"
     "mqtt:\n"
     "  hots: broker.local\n",
     3, 3, "mqtt: unknown key 'hots'; did you mean 'host'?"},
    {"WrongTypeForPort",
     "gateway: {id: gw, site: s}\n"
     "mqtt:\n"
     "  port: abc\n",
     3, 9, "mqtt.port: expected an integer 1-65535, got 'abc'"},
    {"PortOutOfRange",
     "gateway: {id: gw, site: s}\n"
     "mqtt:\n"
     "  port: 70000\n",
     3, 9, "mqtt.port: 70000 is out of range; allowed 1-65535"},
    {"MissingRequiredAddress",
     "gateway: {id: gw, site: s}\n"
     "buses:\n"
     "  - id: b0\n"
     "    driver: sas-serial\n"
     "    port: /run/x/bus0\n"
     "    link: pty\n"
     "    egms:\n"
     "      - id: e1\n"
     "        bank: b3\n",
     8, 9, "buses[0].egms[0]: missing required key 'address' (SAS address 1-127)"},
    {"DuplicateEgmIdAcrossBuses",
     "gateway: {id: gw, site: s}\n"
     "buses:\n"
     "  - {id: b0, driver: sas-serial, port: /run/x/a, link: pty, egms: [{id: e1, address: 1}]}\n"
     "  - {id: b1, driver: sas-tcp, endpoint: '10.0.0.5:4001', egms: [{id: e1, address: 1}]}\n",
     4, 70, "EGM id 'e1' is already used at line 3"},
    {"DuplicateAddressOnOneBus",
     "gateway: {id: gw, site: s}\n"
     "buses:\n"
     "  - id: b0\n"
     "    driver: sas-serial\n"
     "    port: /run/x/bus0\n"
     "    link: pty\n"
     "    egms:\n"
     "      - {id: e1, address: 1}\n"
     "      - {id: e2, address: 1}\n",
     9, 27, "SAS address 1 is already used on this bus at line 8"},
    {"DuplicateConsumerName",
     "gateway: {id: gw, site: s}\n"
     "consumers:\n"
     "  - name: slot-mgmt\n"
     "  - name: slot-mgmt\n",
     4, 11, "duplicate consumer name 'slot-mgmt' (first at line 3)"},
    {"UartPortDoesNotExist",
     "gateway: {id: gw, site: s}\n"
     "buses:\n"
     "  - id: b0\n"
     "    driver: sas-serial\n"
     "    port: /dev/ttyFLOORGATE-missing\n"
     "    egms: [{id: e1, address: 1}]\n",
     5, 11, "serial port '/dev/ttyFLOORGATE-missing' does not exist"},
    {"PollPeriodTooShort",
     "gateway: {id: gw, site: s}\n"
     "buses:\n"
     "  - id: b0\n"
     "    driver: sas-serial\n"
     "    port: /run/x/bus0\n"
     "    link: pty\n"
     "    egms:\n"
     "      - id: e1\n"
     "        address: 1\n"
     "        poll_period_ms: 30\n",
     10, 25, "poll_period_ms: 30 is out of range; allowed 40-200"},
    {"AddressOutOfRange",
     "gateway: {id: gw, site: s}\n"
     "buses:\n"
     "  - id: b0\n"
     "    driver: sas-serial\n"
     "    port: /run/x/bus0\n"
     "    link: pty\n"
     "    egms:\n"
     "      - {id: e1, address: 128}\n",
     8, 27, "buses[0].egms[0].address: 128 is out of range; allowed 1-127"},
    {"UnknownClassInRoute",
     "gateway: {id: gw, site: s}\n"
     "consumers:\n"
     "  - name: slot-mgmt\n"
     "    route:\n"
     "      classes: [security, finacial]\n",
     5, 27, "unknown event class 'finacial'; did you mean 'financial'?"},
    {"BadHostPort",
     "gateway: {id: gw, site: s}\n"
     "buses:\n"
     "  - id: b0\n"
     "    driver: sas-tcp\n"
     "    endpoint: 10.0.0.5\n"
     "    egms: [{id: e1, address: 1}]\n",
     5, 15, "'10.0.0.5' is not host:port"},
    {"TopicRootWithWildcard",
     "gateway:\n"
     "  id: gw\n"
     "  site: s\n"
     "  topic_root: floor/+/gw\n",
     4, 15, "must not contain the MQTT wildcards"},
    {"UnreadablePasswordFile",
     "gateway: {id: gw, site: s}\n"
     "mqtt:\n"
     "  username: floor\n"
     "  password_file: /nonexistent/floorgate/mqtt.pw\n",
     4, 18, "cannot read password file '/nonexistent/floorgate/mqtt.pw'"},
    {"BadLogLevel",
     "gateway: {id: gw, site: s}\n"
     "logging: {level: verbose}\n",
     2, 18, "expected one of trace | debug | info | warn | error, got 'verbose'"},
    {"DuplicateKey",
     "gateway: {id: gw, site: s}\n"
     "web:\n"
     "  port: 8080\n"
     "  port: 8081\n",
     4, 3, "duplicate key 'port'"},
    {"UnknownEgmInRoute",
     "gateway: {id: gw, site: s}\n"
     "consumers:\n"
     "  - name: c1\n"
     "    route: {egms: [nope-01]}\n",
     4, 20, "unknown EGM 'nope-01'; it is not configured on any bus"},
    {"SasKeyOnG2sEgm",
     "gateway: {id: gw, site: s}\n"
     "buses:\n"
     "  - id: g0\n"
     "    driver: g2s\n"
     "    listen_port: 9443\n"
     "    egms:\n"
     "      - id: n1\n"
     "        g2s_egm_id: IGT_0001\n"
     "        url: http://10.0.0.9:8080/g2s\n"
     "        address: 3\n",
     10, 9, "key 'address' applies to sas-serial and sas-tcp buses only"},
    {"YamlSyntaxError",
     "gateway: {id: gw, site: s}\n"
     "mqtt:\n"
     "  host: [unclosed\n",
     4, 1, "YAML syntax error"},
    {"BadBool",
     "gateway: {id: gw, site: s}\n"
     "mqtt: {live_copy: maybe}\n",
     2, 19, "mqtt.live_copy: expected true or false, got 'maybe'"},
    {"BadGatewayIdCharacters",
     "gateway: {id: gw/01, site: s}\n",
     1, 15, "'gw/01' is not a valid name"},
    {"MissingGateway",
     "mqtt: {port: 1883}\n",
     1, 1, "missing required key 'gateway'"},
    {"EgmsNotAList",
     "gateway: {id: gw, site: s}\n"
     "buses:\n"
     "  - id: b0\n"
     "    driver: sas-serial\n"
     "    port: /run/x/bus0\n"
     "    link: pty\n"
     "    egms: {id: e1, address: 1}\n",
     7, 11, "expected a non-empty list of EGMs, got a mapping"},
    {"BadDriver",
     "gateway: {id: gw, site: s}\n"
     "buses:\n"
     "  - id: b0\n"
     "    driver: sas-usb\n"
     "    egms: [{id: e1, address: 1}]\n",
     4, 13, "expected one of sas-serial | sas-tcp | g2s, got 'sas-usb'"},
    {"BadBrokerHost",
     "gateway: {id: gw, site: s}\n"
     "mqtt: {host: 'broker..local'}\n",
     2, 14, "'broker..local' is not a valid host name or IP address"},
    {"DuplicateMeterCode",
     "gateway: {id: gw, site: s}\n"
     "buses:\n"
     "  - id: b0\n"
     "    driver: sas-serial\n"
     "    port: /run/x/bus0\n"
     "    link: pty\n"
     "    egms:\n"
     "      - id: e1\n"
     "        address: 1\n"
     "        meter_codes: [0x00, 0x01, 0x00]\n",
     10, 35, "meter code 0x00 is listed twice"},
    {"BadG2sUrl",
     "gateway: {id: gw, site: s}\n"
     "buses:\n"
     "  - id: g0\n"
     "    driver: g2s\n"
     "    listen_port: 9443\n"
     "    egms:\n"
     "      - {id: n1, g2s_egm_id: IGT_1, url: 'ftp://10.0.0.9/g2s'}\n",
     7, 42, "is not an http:// or https:// URL"},
    {"TlsCertWithoutKey",
     "gateway: {id: gw, site: s}\n"
     "web:\n"
     "  tls:\n"
     "    cert_file: /etc/passwd\n",
     4, 5, "cert_file and key_file must be given together"},
    {"BadWebBind",
     "gateway: {id: gw, site: s}\n"
     "web: {bind: localhost}\n",
     2, 13, "'localhost' is not an IP address"},
    {"DuplicateSerialPortAcrossBuses",
     "gateway: {id: gw, site: s}\n"
     "buses:\n"
     "  - {id: b0, driver: sas-serial, port: /run/x/a, link: pty, egms: [{id: e1, address: 1}]}\n"
     "  - {id: b1, driver: sas-serial, port: /run/x/a, link: pty, egms: [{id: e2, address: 1}]}\n",
     4, 40, "serial port '/run/x/a' is already used at line 3"},
    {"BadEventType",
     "gateway: {id: gw, site: s}\n"
     "consumers:\n"
     "  - name: c1\n"
     "    route: {types: [Door.Opened]}\n",
     4, 21, "'Door.Opened' is not an event type"},
    {"MisspeltRequiredKeyIsOneError",
     "gateway: {id: gw, site: s}\n"
     "consumers:\n"
     "  - nmae: slot-mgmt\n",
     3, 5, "unknown key 'nmae'; did you mean 'name'?"},
    {"SessionTimeoutOutOfRange",
     "gateway: {id: gw, site: s}\n"
     "web: {session_idle_timeout_s: 5}\n",
     2, 31, "5 is out of range; allowed 60-86400"},
};

class ConfigMistake : public ::testing::TestWithParam<Mistake> {};

TEST_P(ConfigMistake, GivesOnePreciseError) {
  const Mistake& m = GetParam();
  const LoadResult r = load_string(m.yaml, "test.yaml");
  EXPECT_FALSE(r.config.has_value());
  ASSERT_EQ(r.errors.size(), 1u) << [&] {
    std::string all;
    for (const auto& e : r.errors) all += e.to_string() + "\n";
    return all;
  }();
  const ConfigError& e = r.errors.front();
  EXPECT_EQ(e.file, "test.yaml");
  EXPECT_EQ(e.line, m.line) << e.to_string();
  EXPECT_EQ(e.column, m.column) << e.to_string();
  EXPECT_NE(e.message.find(m.says), std::string::npos) << e.to_string();
  EXPECT_EQ(e.to_string().rfind("test.yaml:" + std::to_string(m.line) + ":" +
                                    std::to_string(m.column) + ": ",
                                0),
            0u);
}

INSTANTIATE_TEST_SUITE_P(Kinds, ConfigMistake, ::testing::ValuesIn(kMistakes),
                         [](const ::testing::TestParamInfo<Mistake>& p) {
                           return std::string(p.param.name);
                         });

TEST(ConfigErrors, ReportsEveryErrorInFileOrder) {
  const LoadResult r = load_string(
      "gateway: {id: gw, site: s}\n"
      "mqtt:\n"
      "  port: 0\n"
      "  keepalive_s: nope\n"
      "web: {port: 99999, colour: red}\n",
      "multi.yaml");
  ASSERT_EQ(r.errors.size(), 4u);
  EXPECT_EQ(r.errors[0].line, 3);
  EXPECT_EQ(r.errors[1].line, 4);
  EXPECT_EQ(r.errors[2].line, 5);
  EXPECT_EQ(r.errors[3].line, 5);
  EXPECT_LT(r.errors[2].column, r.errors[3].column);
}

TEST(ConfigErrors, SecretsAreNeverEchoed) {
  const LoadResult r = load_string(
      "gateway: {id: gw, site: s}\n"
      "mqtt: {password: hunter2-secret}\n"
      "web:\n"
      "  users:\n"
      "    - {name: tech, role: technician, password_hash: 'pbkdf2-sha256$5$c2FsdHNhbHQ=$s3cr3t'}\n",
      "secret.yaml");
  ASSERT_EQ(r.errors.size(), 2u);
  for (const auto& e : r.errors) {
    EXPECT_EQ(e.message.find("hunter2"), std::string::npos) << e.message;
    EXPECT_EQ(e.message.find("s3cr3t"), std::string::npos) << e.message;
    EXPECT_EQ(e.message.find("c2FsdHNhbHQ"), std::string::npos) << e.message;
  }
  EXPECT_NE(r.errors[0].message.find("did you mean 'password_file'?"), std::string::npos);
  EXPECT_NE(r.errors[1].message.find("value not shown"), std::string::npos);
}

TEST(ConfigErrors, MissingFileIsOneError) {
  const LoadResult r = load_file("/nonexistent/floorgate/floorgate.yaml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_FALSE(r.config);
  EXPECT_NE(r.errors[0].to_string().find("/nonexistent/floorgate/floorgate.yaml:0:0: cannot open"),
            std::string::npos);
}

}  // namespace
}  // namespace floorgate::config
