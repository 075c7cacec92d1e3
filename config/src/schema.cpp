// The key table (the one list of configuration keys) and the JSON Schema made from it.

#include "floorgate/config/schema.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <iterator>

#include "floorgate/config/config.hpp"
#include "floorgate/core/event_class.hpp"
#include "floorgate/core/limits.hpp"

namespace floorgate::config {

namespace {

namespace json = boost::json;
namespace limits = core::limits;

constexpr std::string_view kLevels[] = {"trace", "debug", "info", "warn", "error"};
constexpr std::string_view kProtocols[] = {"auto", "5", "3.1.1"};
constexpr std::string_view kDrivers[] = {"sas-serial", "sas-tcp", "g2s"};
constexpr std::string_view kLinks[] = {"uart", "pty"};
constexpr std::string_view kRoles[] = {"viewer", "technician"};

using K = KeyKind;

// Designated initializers keep each row readable; fields left out take KeySpec's defaults.
const KeySpec kKeys[] = {
    // top level
    {.section = "", .key = "gateway", .kind = K::object, .help = "Who this box is and where it publishes", .required = true},
    {.section = "", .key = "logging", .kind = K::object, .help = "Log verbosity", .advanced = true},
    {.section = "", .key = "store", .kind = K::object, .help = "The SQLite store-and-forward file and its retention"},
    {.section = "", .key = "mqtt", .kind = K::object, .help = "The broker connection and publishing cadence"},
    {.section = "", .key = "consumers", .kind = K::object_list, .help = "Tracked consumers: each gets its own stream, acks and replays"},
    {.section = "", .key = "buses", .kind = K::object_list, .help = "One driver instance each (a serial port, a device server or a G2S endpoint) with its EGMs", .required = true},
    {.section = "", .key = "web", .kind = K::object, .help = "This technician page"},

    {.section = "gateway", .key = "id", .kind = K::name, .help = "This gateway's id (used in MQTT topics)", .required = true, .example = "gw-01"},
    {.section = "gateway", .key = "site", .kind = K::name, .help = "The site (casino) id (used in MQTT topics)", .required = true, .example = "main-floor"},
    {.section = "gateway", .key = "topic_root", .kind = K::string, .help = "MQTT topic root: no + or #, no leading/trailing or double /, not starting with $", .default_note = "floor/v1/<site>/<id>", .advanced = true},

    {.section = "logging", .key = "level", .kind = K::choice, .help = "Least severe message written to the journal", .default_json = "\"info\"", .choices = kLevels},

    {.section = "store", .key = "path", .kind = K::string, .help = "The SQLite store-and-forward file", .default_json = "\"/var/lib/floorgate/floorgate.db\"", .advanced = true},
    {.section = "store", .key = "retention", .kind = K::object, .help = "Bounds; only events every required consumer acked are ever deleted"},
    {.section = "store.retention", .key = "max_size_mb", .kind = K::integer, .help = "Largest store file in MiB; telemetry goes first, money and security never silently", .default_json = "1024", .lo = 1, .hi = 1048576},
    {.section = "store.retention", .key = "max_age_days", .kind = K::integer, .help = "Acked events older than this are deleted", .default_json = "90", .lo = 1, .hi = 3650},

    {.section = "mqtt", .key = "host", .kind = K::string, .help = "Broker host name or IP address", .default_json = "\"127.0.0.1\""},
    {.section = "mqtt", .key = "port", .kind = K::integer, .help = "Broker port (8883 with TLS)", .default_json = "1883", .lo = 1, .hi = 65535},
    {.section = "mqtt", .key = "hosts", .kind = K::string_list, .help = "Failover: up to 8 brokers as host:port in order of preference, instead of host and port", .advanced = true, .example = "broker-a.casino.lan:1883"},
    {.section = "mqtt", .key = "tls", .kind = K::object, .help = "TLS to the broker: on when a CA file is set", .advanced = true},
    {.section = "mqtt", .key = "username", .kind = K::string, .help = "Broker user name; empty for anonymous", .default_json = "\"\""},
    {.section = "mqtt", .key = "password_file", .kind = K::file, .help = "File whose first line is the broker password (mode 0640)", .default_json = "\"\"", .example = "/etc/floorgate/mqtt.password"},
    {.section = "mqtt", .key = "client_id", .kind = K::string, .help = "MQTT client id: up to 64 of A-Z a-z 0-9 . - _", .default_note = "floorgate-<gateway.id>", .advanced = true, .max_length = 64},
    {.section = "mqtt", .key = "keepalive_s", .kind = K::integer, .help = "MQTT keepalive in seconds", .default_json = "30", .lo = 5, .hi = 3600, .advanced = true},
    {.section = "mqtt", .key = "stall_timeout_s", .kind = K::integer, .help = "Seconds without broker progress before reconnecting", .default_json = "20", .lo = 1, .hi = 600, .advanced = true},
    {.section = "mqtt", .key = "live_copy", .kind = K::boolean, .help = "Also publish untracked copies on <root>/live/...", .default_json = "false", .advanced = true},
    {.section = "mqtt", .key = "health_period_s", .kind = K::integer, .help = "Seconds between <root>/health messages", .default_json = "10", .lo = 1, .hi = 3600, .advanced = true},
    {.section = "mqtt", .key = "protocol", .kind = K::choice, .help = "MQTT version; auto tries 5 then 3.1.1", .default_json = "\"auto\"", .choices = kProtocols, .advanced = true},
    {.section = "mqtt.tls", .key = "ca_file", .kind = K::file, .help = "PEM CA bundle; set = TLS on", .default_json = "\"\"", .example = "/etc/floorgate/tls/ca.pem"},
    {.section = "mqtt.tls", .key = "cert_file", .kind = K::file, .help = "PEM client certificate (needs key_file)", .default_json = "\"\""},
    {.section = "mqtt.tls", .key = "key_file", .kind = K::file, .help = "PEM client key (needs cert_file)", .default_json = "\"\""},

    {.section = "consumers[]", .key = "name", .kind = K::name, .help = "Consumer name, unique (used in topics)", .required = true, .example = "slot-mgmt"},
    {.section = "consumers[]", .key = "route", .kind = K::object, .help = "Which events this consumer gets; empty lists mean all"},
    {.section = "consumers[]", .key = "required", .kind = K::boolean, .help = "Retention waits for this consumer's acks", .default_json = "true"},
    {.section = "consumers[]", .key = "window", .kind = K::integer, .help = "Events in flight (sent, not acked)", .default_json = "256", .lo = 1, .hi = 65535},
    {.section = "consumers[]", .key = "ack_timeout_s", .kind = K::integer, .help = "Seconds without an ack before unacked events are sent again (up to 8 times as long while a consumer stays silent)", .default_json = "30", .lo = 1, .hi = 3600},
    {.section = "consumers[]", .key = "replay_rate", .kind = K::integer, .help = "Replayed events per second", .default_json = "1000", .lo = 1, .hi = 1000000, .advanced = true},
    {.section = "consumers[]", .key = "delivery", .kind = K::choice, .help = "live_first: after an outage new events go out at once while the backlog drains", .default_json = "\"ordered\"", .choices = kDeliveryModes},
    {.section = "consumers[].route", .key = "classes", .kind = K::choice_list, .help = "Event classes; none ticked = every class", .default_json = "[]", .choices = core::kEventClassNames},
    {.section = "consumers[].route", .key = "types", .kind = K::string_list, .help = "Dotted event types (door.opened) or prefix wildcards (tilt.*); none = every type", .default_json = "[]", .example = "door.*"},
    {.section = "consumers[].route", .key = "egms", .kind = K::string_list, .help = "Configured EGM ids; none = every EGM", .default_json = "[]", .example = "bank3-07"},

    {.section = "buses[]", .key = "id", .kind = K::name, .help = "Bus id, unique", .required = true, .example = "bus0"},
    {.section = "buses[]", .key = "driver", .kind = K::choice, .help = "sas-serial: RS-232 port; sas-tcp: serial device server; g2s: network EGMs", .choices = kDrivers, .required = true},
    {.section = "buses[]", .key = "port", .kind = K::string, .help = "Serial device path", .required = true, .drivers = kSasSerial, .example = "/dev/ttyS0"},
    {.section = "buses[]", .key = "link", .kind = K::choice, .help = "uart: a real serial port; pty: a simulator (in-band 9th bit)", .default_json = "\"uart\"", .choices = kLinks, .drivers = kSasSerial},
    {.section = "buses[]", .key = "endpoint", .kind = K::string, .help = "Device server host:port ([ipv6]:port)", .required = true, .drivers = kSasTcp, .example = "10.0.0.20:4001"},
    {.section = "buses[]", .key = "timing", .kind = K::choice, .help = "SAS wire timing preset for this bus's EGMs", .default_json = "\"default\"", .choices = kSasTimingPresets, .drivers = kSas},
    {.section = "buses[]", .key = "wakeup_delay_us", .kind = K::integer, .help = "link uart: microseconds between the wakeup byte and the parity switch (USB adapters)", .default_json = "0", .lo = 0, .hi = 20000, .advanced = true, .drivers = kSasSerial},
    {.section = "buses[]", .key = "low_latency", .kind = K::boolean, .help = "link uart: ask the serial driver for low latency", .default_json = "false", .advanced = true, .drivers = kSasSerial},
    {.section = "buses[]", .key = "listen_port", .kind = K::integer, .help = "Port our G2S host endpoint listens on", .lo = 1, .hi = 65535, .required = true, .drivers = kG2s, .example = "9090"},
    {.section = "buses[]", .key = "bind", .kind = K::string, .help = "IP address the G2S endpoint listens on (0.0.0.0 for the floor network)", .default_json = "\"127.0.0.1\"", .drivers = kG2s},
    {.section = "buses[]", .key = "host_id", .kind = K::integer, .help = "Our G2S hostId", .default_json = "1", .lo = 1, .hi = 2147483647, .advanced = true, .drivers = kG2s},
    {.section = "buses[]", .key = "tls_cert_file", .kind = K::file, .help = "Mutual TLS: our PEM certificate (all three TLS files or none)", .default_json = "\"\"", .advanced = true, .drivers = kG2s},
    {.section = "buses[]", .key = "tls_key_file", .kind = K::file, .help = "Mutual TLS: our PEM key", .default_json = "\"\"", .advanced = true, .drivers = kG2s},
    {.section = "buses[]", .key = "tls_ca_file", .kind = K::file, .help = "Mutual TLS: the CA EGM certificates must chain to", .default_json = "\"\"", .advanced = true, .drivers = kG2s},
    {.section = "buses[]", .key = "egms", .kind = K::object_list, .help = "The gaming machines on this bus", .required = true},

    {.section = "buses[].egms[]", .key = "id", .kind = K::name, .help = "EGM id, unique across all buses", .required = true, .example = "bank3-07"},
    {.section = "buses[].egms[]", .key = "address", .kind = K::integer, .help = "SAS address, unique on its bus", .lo = 1, .hi = 127, .required = true, .drivers = kSas, .example = "1"},
    {.section = "buses[].egms[]", .key = "g2s_egm_id", .kind = K::name, .help = "The EGM's G2S egmId", .required = true, .drivers = kG2s, .example = "IGT_00012E492815"},
    {.section = "buses[].egms[]", .key = "url", .kind = K::string, .help = "The EGM's G2S location URL (https:// iff the bus has TLS files)", .required = true, .drivers = kG2s, .example = "http://10.0.0.31:9091/g2s"},
    {.section = "buses[].egms[]", .key = "location", .kind = K::string, .help = "Where the machine stands, e.g. Zone A, row 3, seat 7", .default_json = "\"\"", .max_length = 128},
    {.section = "buses[].egms[]", .key = "bank", .kind = K::string, .help = "Bank the floor view groups it under", .default_json = "\"\"", .max_length = 128},
    {.section = "buses[].egms[]", .key = "poll_period_ms", .kind = K::integer, .help = "Milliseconds between general polls", .default_json = "200", .lo = limits::kSasPollPeriodMinMs, .hi = limits::kSasPollPeriodMaxMs, .drivers = kSas},
    {.section = "buses[].egms[]", .key = "meter_period_s", .kind = K::integer, .help = "Seconds between meter reads", .default_json = "300", .lo = 10, .hi = 86400},
    {.section = "buses[].egms[]", .key = "real_time_events", .kind = K::boolean, .help = "SAS real-time event reporting (LP 0E)", .default_json = "false", .drivers = kSas},
    {.section = "buses[].egms[]", .key = "meter_codes", .kind = K::code_list, .help = "SAS meter codes to read; the default is the set reconciliation needs", .default_json = "[0,1,2,3,4,5,6,11,12,36,13,14,15,16,35,29,30,160,162,164,166,184,186,188,64,66,67,68,70,71]", .advanced = true, .drivers = kSas},
    {.section = "buses[].egms[]", .key = "rom_check_period_s", .kind = K::integer, .help = "Seconds between ROM signature checks (LP 21); 0 = only on request", .default_json = "86400", .lo = 3600, .hi = 2592000, .zero_allowed = true, .advanced = true, .drivers = kSas},
    {.section = "buses[].egms[]", .key = "rom_seed", .kind = K::integer, .help = "LP 21 seed", .default_json = "0", .lo = 0, .hi = 0xFFFF, .advanced = true, .drivers = kSas},
    {.section = "buses[].egms[]", .key = "set_clock", .kind = K::boolean, .help = "Set the EGM clock (LP 7F) when it is more than 2 s off", .default_json = "true", .advanced = true, .drivers = kSas},
    {.section = "buses[].egms[]", .key = "clock_period_s", .kind = K::integer, .help = "Seconds between EGM clock reads (LP 7E)", .default_json = "3600", .lo = 60, .hi = 86400, .advanced = true, .drivers = kSas},
    {.section = "buses[].egms[]", .key = "reconcile_tolerance_cents", .kind = K::integer, .help = "How far a window's meter delta and its money events may differ", .default_json = "0", .lo = 0, .hi = 100000000, .advanced = true, .drivers = kSas},
    {.section = "buses[].egms[]", .key = "timing", .kind = K::choice, .help = "This EGM's own wire timing preset", .default_note = "the bus's preset", .choices = kSasTimingPresets, .advanced = true, .drivers = kSas},
    {.section = "buses[].egms[]", .key = "reply_timeout_ms", .kind = K::integer, .help = "Milliseconds to the first reply byte", .default_note = "the preset's", .lo = limits::kSasReplyTimeoutMinMs, .hi = limits::kSasReplyTimeoutMaxMs, .advanced = true, .drivers = kSas},
    {.section = "buses[].egms[]", .key = "inter_byte_ms", .kind = K::integer, .help = "Largest gap inside a reply, milliseconds", .default_note = "the preset's", .lo = limits::kSasInterByteMinMs, .hi = limits::kSasInterByteMaxMs, .advanced = true, .drivers = kSas},
    {.section = "buses[].egms[]", .key = "poll_gap_ms", .kind = K::integer, .help = "Quiet line before each poll, milliseconds", .default_note = "the preset's", .lo = 0, .hi = limits::kSasPollGapMaxMs, .advanced = true, .drivers = kSas},

    {.section = "web", .key = "enabled", .kind = K::boolean, .help = "Serve this page", .default_json = "true"},
    {.section = "web", .key = "bind", .kind = K::string, .help = "IP address the page listens on (0.0.0.0 or :: for all)", .default_json = "\"127.0.0.1\""},
    {.section = "web", .key = "port", .kind = K::integer, .help = "Port of the page", .default_json = "8080", .lo = 1, .hi = 65535},
    {.section = "web", .key = "tls", .kind = K::object, .help = "HTTPS: on when both files are set", .advanced = true},
    {.section = "web", .key = "session_idle_timeout_s", .kind = K::integer, .help = "Seconds of inactivity before logout", .default_json = "900", .lo = 60, .hi = 86400, .advanced = true},
    {.section = "web", .key = "allowed_hosts", .kind = K::string_list, .help = "Host names the page may be reached by, besides IP addresses and this machine's name", .default_json = "[]", .advanced = true, .example = "gateway.casino.lan"},
    {.section = "web", .key = "users", .kind = K::object_list, .help = "Logins of this page (managed under Users)"},
    {.section = "web.tls", .key = "cert_file", .kind = K::file, .help = "PEM certificate", .default_json = "\"\""},
    {.section = "web.tls", .key = "key_file", .kind = K::file, .help = "PEM key", .default_json = "\"\""},
    {.section = "web.users[]", .key = "name", .kind = K::name, .help = "Login name", .required = true},
    {.section = "web.users[]", .key = "role", .kind = K::choice, .help = "viewer: read only; technician: may also change the configuration", .choices = kRoles, .required = true},
    {.section = "web.users[]", .key = "password_hash", .kind = K::string, .help = "pbkdf2-sha256$<iterations>$<salt-b64>$<hash-b64>; set passwords under Users", .required = true, .secret = true},
};

json::array choices_json(std::span<const std::string_view> choices) {
  json::array a;
  for (auto c : choices) a.emplace_back(json::string_view(c.data(), c.size()));
  return a;
}

json::array drivers_json(unsigned drivers) {
  json::array a;
  for (std::size_t i = 0; i < std::size(kDrivers); ++i)
    if (drivers & (1u << i)) a.emplace_back(json::string_view(kDrivers[i].data(), kDrivers[i].size()));
  return a;
}

std::string child_section(const KeySpec& k) {
  std::string s = k.section.empty() ? std::string(k.key) : std::string(k.section) + "." + std::string(k.key);
  if (k.kind == K::object_list) s += "[]";
  return s;
}

json::object section_schema(std::string_view section);

json::object key_schema(const KeySpec& k) {
  json::object o;
  switch (k.kind) {
    case K::string:
    case K::file:
      o["type"] = "string";
      if (k.max_length) o["maxLength"] = k.max_length;
      break;
    case K::name:
      o["type"] = "string";
      o["pattern"] = "^[A-Za-z0-9_-]{1,64}$";
      break;
    case K::integer:
      o["type"] = "integer";
      if (k.zero_allowed) {
        o["anyOf"] = json::array{json::object{{"const", 0}},
                                 json::object{{"minimum", k.lo}, {"maximum", k.hi}}};
      } else {
        o["minimum"] = k.lo;
        o["maximum"] = k.hi;
      }
      break;
    case K::boolean:
      o["type"] = "boolean";
      break;
    case K::choice:
      o["type"] = "string";
      o["enum"] = choices_json(k.choices);
      break;
    case K::string_list:
      o["type"] = "array";
      o["items"] = json::object{{"type", "string"}};
      if (k.section == "mqtt") o["maxItems"] = 8;
      break;
    case K::choice_list:
      o["type"] = "array";
      o["items"] = json::object{{"enum", choices_json(k.choices)}};
      o["uniqueItems"] = true;
      break;
    case K::code_list:
      o["type"] = "array";
      o["items"] = json::object{
          {"anyOf", json::array{json::object{{"type", "integer"}, {"minimum", 0}, {"maximum", 0xFFFF}},
                                json::object{{"type", "string"},
                                             {"pattern", "^0[xX][0-9A-Fa-f]{1,4}$"}}}}};
      o["uniqueItems"] = true;
      break;
    case K::object:
      o = section_schema(child_section(k));
      break;
    case K::object_list:
      o["type"] = "array";
      o["items"] = section_schema(child_section(k));
      if (k.key == "egms") o["minItems"] = 1;
      break;
  }
  o["description"] = json::string_view(k.help.data(), k.help.size());
  if (!k.default_json.empty()) o["default"] = json::parse(k.default_json);
  if (!k.default_note.empty())
    o["x-default-note"] = json::string_view(k.default_note.data(), k.default_note.size());
  if (!k.example.empty()) o["examples"] = json::array{json::string_view(k.example.data(), k.example.size())};
  if (k.kind == K::name) o["x-kind"] = "name";
  if (k.kind == K::file) o["x-kind"] = "file";
  if (k.kind == K::code_list) o["x-kind"] = "meter-codes";
  if (k.advanced) o["x-advanced"] = true;
  if (k.secret) o["x-secret"] = true;
  if (k.drivers != kAllDrivers) o["x-drivers"] = drivers_json(k.drivers);
  return o;
}

// Per driver: the keys that must be there and the keys that must not (JSON Schema if/then),
// for a bus and, through its egms, for its EGMs.
json::array driver_rules() {
  json::array rules;
  for (std::size_t d = 0; d < std::size(kDrivers); ++d) {
    const unsigned bit = 1u << d;
    json::object then;
    json::array required;
    json::object props;
    json::array egm_required;
    json::object egm_props;
    for (const KeySpec& k : config_keys()) {
      const bool bus = k.section == "buses[]", egm = k.section == "buses[].egms[]";
      if (!bus && !egm) continue;
      const json::string_view key(k.key.data(), k.key.size());
      if (!(k.drivers & bit)) (bus ? props : egm_props)[key] = false;
      else if (k.required && k.drivers != kAllDrivers) (bus ? required : egm_required).emplace_back(key);
    }
    json::object egm_items{{"properties", std::move(egm_props)}};
    if (!egm_required.empty()) egm_items["required"] = std::move(egm_required);
    props["egms"] = json::object{{"items", std::move(egm_items)}};
    then["properties"] = std::move(props);
    if (!required.empty()) then["required"] = std::move(required);
    rules.emplace_back(json::object{
        {"if", json::object{{"properties",
                             json::object{{"driver", json::object{{"const", json::string_view(
                                                                                kDrivers[d].data(),
                                                                                kDrivers[d].size())}}}}},
                            {"required", json::array{"driver"}}}},
        {"then", std::move(then)}});
  }
  return rules;
}

json::object section_schema(std::string_view section) {
  json::object props;
  json::array required;
  for (const KeySpec& k : config_keys()) {
    if (k.section != section) continue;
    const json::string_view key(k.key.data(), k.key.size());
    props[key] = key_schema(k);
    if (k.required && k.drivers == kAllDrivers) required.emplace_back(key);
  }
  json::object o{{"type", "object"}, {"additionalProperties", false}, {"properties", std::move(props)}};
  if (!required.empty()) o["required"] = std::move(required);
  if (section == "buses[]") o["allOf"] = driver_rules();
  return o;
}

void pretty(std::string& out, const json::value& v, int indent) {
  const std::string pad(static_cast<std::size_t>(indent) * 2, ' ');
  const std::string inner(static_cast<std::size_t>(indent + 1) * 2, ' ');
  if (v.is_object() && !v.as_object().empty()) {
    out += "{\n";
    bool first = true;
    for (const auto& [k, val] : v.as_object()) {
      if (!first) out += ",\n";
      first = false;
      out += inner + json::serialize(json::string(k)) + ": ";
      pretty(out, val, indent + 1);
    }
    out += "\n" + pad + "}";
  } else if (v.is_array() && !v.as_array().empty()) {
    // Short arrays of scalars stay on one line.
    const std::string flat = json::serialize(v);
    bool scalars = std::all_of(v.as_array().begin(), v.as_array().end(),
                               [](const json::value& e) { return !e.is_structured(); });
    if (scalars && flat.size() + pad.size() < 100) {
      std::string spaced;
      for (std::size_t i = 0; i < v.as_array().size(); ++i) {
        if (i) spaced += ", ";
        spaced += json::serialize(v.as_array()[i]);
      }
      out += "[" + spaced + "]";
      return;
    }
    out += "[\n";
    bool first = true;
    for (const auto& e : v.as_array()) {
      if (!first) out += ",\n";
      first = false;
      out += inner;
      pretty(out, e, indent + 1);
    }
    out += "\n" + pad + "]";
  } else {
    out += json::serialize(v);
  }
}

}  // namespace

std::span<const KeySpec> config_keys() { return kKeys; }

std::vector<std::string_view> section_keys(std::string_view section, unsigned driver_bit) {
  std::vector<std::string_view> out;
  for (const KeySpec& k : kKeys)
    if (k.section == section && (k.drivers & driver_bit)) out.push_back(k.key);
  return out;
}

std::vector<std::string_view> other_driver_keys(std::string_view section, unsigned driver_bit) {
  std::vector<std::string_view> out;
  for (const KeySpec& k : kKeys)
    if (k.section == section && !(k.drivers & driver_bit)) out.push_back(k.key);
  return out;
}

const KeySpec* find_key(std::string_view section, std::string_view key) {
  for (const KeySpec& k : kKeys)
    if (k.section == section && k.key == key) return &k;
  return nullptr;
}

std::string config_schema_json() {
  json::object root{{"$schema", "https://json-schema.org/draft/2020-12/schema"},
                    {"$id", "floorgate.config/1"},
                    {"title", "floorgate configuration (/etc/floorgate/floorgate.yaml)"},
                    {"description",
                     "Made by `floorgate --print-config-schema` from the key table the loader "
                     "reads (config/src/schema.cpp). x-advanced: folded in the page; x-drivers: "
                     "the bus drivers a key applies to; x-default-note: a computed default."}};
  for (auto& [k, v] : section_schema("")) root[k] = v;
  std::string out;
  pretty(out, root, 0);
  out += "\n";
  return out;
}

}  // namespace floorgate::config
