#pragma once
// The appliance configuration: the validated structs the daemon is built from, and the loader
// that turns one YAML file into them. Pure value types; no I/O after load. Every key, its
// default and its allowed values are documented in config/examples/floorgate.example.yaml and
// in default_config_yaml(). Thread: any (no shared state).

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "floorgate/core/route.hpp"

namespace floorgate::config {

// Log verbosity, lowest to highest severity. YAML: trace|debug|info|warn|error.
enum class LogLevel : std::uint8_t { trace, debug, info, warn, error };

// Which driver serves a bus. YAML: sas-serial|sas-tcp|g2s.
enum class Driver : std::uint8_t { sas_serial, sas_tcp, g2s };

// How a sas-serial port marks the 9th (wakeup) bit. uart: stick parity + PARMRK on a real
// UART; pty: in-band `FF 00 X` marking (simulators). YAML: uart|pty.
enum class LinkKind : std::uint8_t { uart, pty };

// What a web user may do. viewer: read only; technician: may also edit the configuration.
enum class WebRole : std::uint8_t { viewer, technician };

// "trace", "sas-serial", "pty", "technician", ... (the YAML spelling).
std::string_view to_string(LogLevel v);
std::string_view to_string(Driver v);
std::string_view to_string(LinkKind v);
std::string_view to_string(WebRole v);


// gateway: who this box is and where it publishes.
struct GatewayConfig {
  std::string id = "gw-01";     // gateway id, [A-Za-z0-9_-], used in topics
  std::string site = "demo";    // site id, [A-Za-z0-9_-], used in topics
  std::string topic_root;       // always filled after load: default floor/v1/<site>/<id>
  bool operator==(const GatewayConfig&) const = default;
};

// store.retention: bounds; deletion only ever removes what every required consumer acked.
struct RetentionConfig {
  std::uint64_t max_size_bytes = 1024ull * 1024 * 1024;  // YAML max_size_mb (MiB), 1-1048576
  std::chrono::hours max_age{24 * 90};                     // YAML max_age_days, 1-3650
  bool operator==(const RetentionConfig&) const = default;
};

// store: the SQLite store-and-forward file.
struct StoreConfig {
  std::filesystem::path path = "/var/lib/floorgate/floorgate.db";  // the daemon may override
  RetentionConfig retention;
  bool operator==(const StoreConfig&) const = default;
};

// mqtt.tls: TLS is used iff ca_file is set; cert_file/key_file (client certificate) go together.
struct MqttTlsConfig {
  std::filesystem::path ca_file;    // PEM CA bundle; empty = plain TCP
  std::filesystem::path cert_file;  // PEM client certificate; optional
  std::filesystem::path key_file;   // PEM client key; optional, required with cert_file
  bool enabled() const { return !ca_file.empty(); }
  bool operator==(const MqttTlsConfig&) const = default;
};

// One broker address of mqtt.hosts.
struct BrokerEndpoint {
  std::string host;  // host name or IP literal
  int port = 1883;   // 1-65535
  bool operator==(const BrokerEndpoint&) const = default;
};

// mqtt: the broker connection and the publishing cadence.
struct MqttConfig {
  std::string host = "127.0.0.1";              // broker host name or IP literal (= hosts[0])
  int port = 1883;                             // 1-65535 (= hosts[0])
  // YAML hosts: ["host:port", ...] (1-8, in order of preference), or host/port for one broker.
  // Always filled after load (one entry from host/port when hosts is not given). On losing a
  // broker the gateway moves to the next one and stays there while it works (no moving back).
  std::vector<BrokerEndpoint> hosts;
  MqttTlsConfig tls;
  std::string username;                        // empty = no authentication
  std::filesystem::path password_file;         // file holding the password (first line); empty = none
  std::string client_id;                       // always filled after load: default floorgate-<gateway id>
  std::chrono::seconds keepalive{30};          // YAML keepalive_s, 5-3600
  std::chrono::seconds stall_timeout{20};      // YAML stall_timeout_s, 1-600: no PUBACK progress -> reconnect
  bool live_copy = false;                      // also publish untracked <root>/live/... copies
  std::string protocol = "auto";               // auto | 5 | 3.1.1 (auto: 5, falling back to 3.1.1)
  std::chrono::seconds health_period{10};      // YAML health_period_s, 1-3600: <root>/health cadence
  bool operator==(const MqttConfig&) const = default;
};

// consumers[].route: which events a consumer gets (core::Route, the one matcher; the loader
// checks class names against core::kEventClassNames and EGM ids against egms[]).
using RouteConfig = core::Route;

// consumers[]: one tracked MQTT consumer with its own cursor.
struct ConsumerConfig {
  std::string name;                            // [A-Za-z0-9_-], unique, used in topics
  RouteConfig route;
  bool required = true;                        // retention waits for this consumer's acks
  int window = 256;                            // in-flight (unacked) events, 1-65535
  std::chrono::seconds ack_timeout{30};        // YAML ack_timeout_s, 1-3600: then re-send
  int replay_rate = 1000;                      // replayed events per second, 1-1000000
  // ordered: one stream in seq order. live_first: when it is more than a window behind, new
  // events go out at once on a live lane while the backlog drains beside them (docs/mqtt.md).
  enum class Delivery { ordered, live_first };
  Delivery delivery = Delivery::ordered;
  bool operator==(const ConsumerConfig&) const = default;
};

inline constexpr std::string_view kDeliveryModes[] = {"ordered", "live_first"};

// SAS timing preset names; the SAS driver defines what each means (drivers/src/sas/README.md).
inline constexpr std::string_view kSasTimingPresets[] = {"default", "slow", "usb-serial",
                                                         "device-server", "interblock"};

// buses[].egms[]: one gaming machine. SAS fields apply to sas-serial/sas-tcp buses, G2S fields
// to g2s buses; the loader rejects keys of the other protocol.
struct EgmConfig {
  std::string id;                              // [A-Za-z0-9_-], unique across all buses
  int address = 1;                             // SAS address 1-127, unique on its bus
  std::chrono::milliseconds poll_period{200};  // YAML poll_period_ms, 40-200
  std::chrono::seconds meter_period{300};      // YAML meter_period_s, 10-86400
  std::vector<std::uint16_t> meter_codes;      // SAS meter codes 0x0000-0xFFFF; default set below
  bool real_time_events = false;               // SAS real-time event reporting (LP 0E)
  std::chrono::seconds rom_check_period{86400};  // YAML rom_check_period_s: 0 or 3600-2592000
  int rom_seed = 0;                            // LP 21 seed, 0-0xFFFF
  bool set_clock = true;                       // set the EGM clock (LP 7F) when it is > 2 s off
  std::chrono::seconds clock_period{3600};     // YAML clock_period_s, 60-86400: LP 7E reads
  std::int64_t reconcile_tolerance_cents = 0;  // 0-100000000: meters vs events, per window
  // SAS wire timing: a preset (kSasTimingPresets; "" = the bus's) and overrides of it.
  std::string timing;
  int reply_timeout_ms = 0;                    // 10-1000; 0 = the preset's
  int inter_byte_ms = 0;                       // 2-100; 0 = the preset's
  int poll_gap_ms = -1;                        // 0-100; -1 = the preset's
  std::string location;                        // free label, e.g. "Zone A, row 3, seat 7"
  std::string bank;                            // free label, e.g. "bank3"
  std::string g2s_egm_id;                      // G2S egmId, e.g. IGT_00012E492815 (g2s only)
  std::string url;                             // EGM location URL http(s)://host:port/path (g2s only)
  bool operator==(const EgmConfig&) const = default;
};

// buses[]: one driver instance and the EGMs it serves.
struct BusConfig {
  std::string id;                              // [A-Za-z0-9_-], unique
  Driver driver = Driver::sas_serial;
  std::string port;                            // sas-serial: device path, e.g. /dev/ttyS0
  LinkKind link = LinkKind::uart;              // sas-serial only
  std::string tcp_host;                        // sas-tcp: device server host (YAML endpoint host:port)
  int tcp_port = 0;                            // sas-tcp: device server port (from YAML endpoint)
  int host_id = 1;                             // g2s: our G2S hostId, 1-2147483647
  std::string bind = "127.0.0.1";              // g2s: IP literal our G2S host endpoint binds
  int listen_port = 0;                         // g2s: port our G2S host endpoint listens on, 1-65535
  // g2s mutual TLS (PEM), all three or none: our certificate and key (server and client side)
  // and the CA that EGM certificates must chain to. Set: egms[].url must be https://.
  std::filesystem::path tls_cert_file, tls_key_file, tls_ca_file;
  // True when any TLS file is set (after a successful load: all three are).
  bool g2s_tls() const {
    return !tls_cert_file.empty() || !tls_key_file.empty() || !tls_ca_file.empty();
  }
  std::string timing = "default";              // sas: preset for its EGMs (kSasTimingPresets)
  int wakeup_delay_us = 0;                     // sas-serial uart: wait before parity switch, 0-20000
  bool low_latency = false;                    // sas-serial uart: ASYNC_LOW_LATENCY
  std::vector<EgmConfig> egms;
  bool operator==(const BusConfig&) const = default;
};

// web.users[]: a local login. password_hash: pbkdf2-sha256$<iterations>$<salt-b64>$<hash-b64>.
struct WebUserConfig {
  std::string name;
  WebRole role = WebRole::viewer;
  std::string password_hash;                   // never logged or echoed
  bool operator==(const WebUserConfig&) const = default;
};

// web: the technician page.
struct WebConfig {
  bool enabled = true;
  std::string bind = "127.0.0.1";              // IP literal to bind
  int port = 8080;                             // 1-65535
  std::filesystem::path tls_cert_file;         // PEM; HTTPS iff both cert and key are set
  std::filesystem::path tls_key_file;
  std::chrono::seconds session_idle_timeout{900};  // YAML session_idle_timeout_s, 60-86400
  // Host names the page may be reached by (the HTTP Host header), besides IP literals,
  // localhost and this machine's host name: a guard against DNS rebinding.
  std::vector<std::string> allowed_hosts;
  std::vector<WebUserConfig> users;
  bool operator==(const WebConfig&) const = default;
};

// The whole file.
struct Config {
  GatewayConfig gateway;
  StoreConfig store;
  MqttConfig mqtt;
  std::vector<ConsumerConfig> consumers;
  std::vector<BusConfig> buses;
  WebConfig web;
  LogLevel log_level = LogLevel::info;         // YAML logging.level
  bool operator==(const Config&) const = default;
};

// Reads the first line of a secret file (e.g. mqtt.password_file), without the newline;
// nullopt when unreadable. The daemon calls it at connect time; the value is never logged.
std::optional<std::string> read_secret_file(const std::filesystem::path& path);

// The meter codes an EGM reads when meter_codes is not given.
std::vector<std::uint16_t> default_meter_codes();

// One problem in a configuration file; line and column are 1-based (0 when unknown).
struct ConfigError {
  std::string file;
  int line = 0;
  int column = 0;
  std::string message;
  // "file:line:col: message".
  std::string to_string() const;
};

// Limits on what load_string accepts, checked on the raw YAML before any configuration is
// built (each error names the limit), so a hostile file costs bounded time and memory.
inline constexpr std::size_t kMaxConfigBytes = 4u << 20;          // input size
inline constexpr std::size_t kMaxYamlNodes = 40'000;              // nodes as written
inline constexpr std::size_t kMaxYamlAliases = 5'000;             // *alias uses
inline constexpr std::size_t kMaxYamlExpandedNodes = 500'000;     // nodes, aliases expanded
inline constexpr std::size_t kMaxYamlExpandedBytes = 16u << 20;   // scalar bytes, aliases expanded
// Bounds on what a LoadResult carries back: at most kMaxConfigErrors errors (the last one says
// how many were left out), each message at most kMaxErrorMessageChars bytes.
inline constexpr std::size_t kMaxConfigErrors = 50;
inline constexpr std::size_t kMaxErrorMessageChars = 300;

// config is set iff errors is empty. Errors are reported in file order (at most
// kMaxConfigErrors of them, see above).
struct LoadResult {
  std::optional<Config> config;
  std::vector<ConfigError> errors;
};

// Reads and validates a YAML file. A missing/unreadable file is one error at line 0.
LoadResult load_file(const std::filesystem::path& path);
// Validates YAML text; `filename` only labels the errors. Checks the file system too
// (uart serial ports exist, password/TLS files readable).
LoadResult load_string(std::string_view yaml, std::string_view filename);

// The embedded defaults (runs the demo), annotated: what `floorgate --print-default-config` prints.
std::string default_config_yaml();
// default_config_yaml() loaded (never fails; a test guards it).
Config default_config();
// Every field as YAML, loadable by load_string into an equal Config (web config editor).
std::string to_yaml(const Config& config);

}  // namespace floorgate::config
