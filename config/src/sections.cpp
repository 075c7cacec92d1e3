#include "sections.hpp"

#include <algorithm>
#include <cctype>
#include <set>

#include "checks.hpp"
#include "floorgate/config/schema.hpp"

namespace floorgate::config::detail {

void read_file_key(Reader& r, const YAML::Node& map, std::string_view path, std::string_view key,
                   std::string_view what, std::filesystem::path& out) {
  std::string s = out.string();
  if (!r.read_string(map, path, key, s)) return;
  out = s;
  if (s.empty()) return;
  if (!readable_file(out)) {
    r.error(pos_of(Reader::find(map, key)), join(path, key),
            "cannot read " + std::string(what) + " '" + s +
                "'; it must be an existing regular file readable by the floorgate user");
  }
}

namespace {

void read_seconds(Reader& r, const YAML::Node& map, std::string_view path, std::string_view key,
                  std::int64_t lo, std::int64_t hi, std::chrono::seconds& out) {
  std::int64_t v = out.count();
  if (r.read_int(map, path, key, lo, hi, v)) out = std::chrono::seconds(v);
}

}  // namespace

void read_gateway(Reader& r, const YAML::Node& root, Config& out) {
  const std::string path = "gateway";
  if (!r.require(root, "", path, "gateway: id, site")) return;
  const YAML::Node g = Reader::find(root, path);
  if (r.check_map(g, path, section_keys(path))) {
    const bool have_id = r.require(g, path, "id", "gateway id, e.g. gw-01");
    const bool have_site = r.require(g, path, "site", "site id, e.g. main-floor");
    if (have_id) r.read_id(g, path, "id", out.gateway.id);
    if (have_site) r.read_id(g, path, "site", out.gateway.site);
    std::string root_topic;
    if (r.read_string(g, path, "topic_root", root_topic) && !root_topic.empty()) {
      const std::string problem = topic_root_problem(root_topic);
      if (problem.empty()) out.gateway.topic_root = root_topic;
      else r.error(pos_of(Reader::find(g, "topic_root")), join(path, "topic_root"),
                   "'" + root_topic + "' " + problem);
    }
  }
  const YAML::Node l = Reader::find(root, "logging");
  if (l.IsDefined() && !l.IsNull() && r.check_map(l, "logging", section_keys("logging"))) {
    int level = static_cast<int>(out.log_level);
    if (r.read_choice(l, "logging", "level", {"trace", "debug", "info", "warn", "error"}, level))
      out.log_level = static_cast<LogLevel>(level);
  }
}

void read_store(Reader& r, const YAML::Node& node, StoreConfig& out) {
  const std::string path = "store";
  if (!r.check_map(node, path, section_keys(path))) return;
  std::string p = out.path.string();
  if (r.read_string(node, path, "path", p)) {
    if (p.empty()) r.error(pos_of(Reader::find(node, "path")), join(path, "path"),
                           "must not be empty; give the SQLite file, e.g. "
                           "/var/lib/floorgate/floorgate.db");
    else out.path = p;
  }
  const YAML::Node ret = Reader::find(node, "retention");
  const std::string rp = join(path, "retention");
  if (!ret.IsDefined() || ret.IsNull() || !r.check_map(ret, rp, section_keys(rp)))
    return;
  std::int64_t mb = static_cast<std::int64_t>(out.retention.max_size_bytes >> 20);
  if (r.read_int(ret, rp, "max_size_mb", 1, 1048576, mb))
    out.retention.max_size_bytes = static_cast<std::uint64_t>(mb) << 20;
  std::int64_t days = out.retention.max_age.count() / 24;
  if (r.read_int(ret, rp, "max_age_days", 1, 3650, days))
    out.retention.max_age = std::chrono::hours(days * 24);
}

// mqtt.hosts: an ordered list of "host:port" (failover), or nothing (host/port, one broker).
void read_broker_hosts(Reader& r, const YAML::Node& node, const std::string& path,
                       MqttConfig& out) {
  constexpr std::size_t kMaxHosts = 8;
  std::vector<std::string> values;
  std::vector<Pos> positions;
  out.hosts.clear();
  if (Reader::find(node, "hosts").IsDefined() && r.read_string_list(node, path, "hosts", values, positions)) {
    const std::string hp = join(path, "hosts");
    if (Reader::find(node, "host").IsDefined() || Reader::find(node, "port").IsDefined()) {
      r.error(pos_of(Reader::find(node, "hosts")), hp,
              "give either hosts (a list of host:port) or host and port, not both");
    }
    if (values.empty() || values.size() > kMaxHosts) {
      r.error(pos_of(Reader::find(node, "hosts")), hp,
              "list 1 to " + std::to_string(kMaxHosts) + " brokers as host:port");
    }
    for (std::size_t i = 0; i < values.size() && i < kMaxHosts; ++i) {
      BrokerEndpoint ep;
      if (!parse_endpoint(values[i], ep.host, ep.port)) {
        r.error(positions[i], index(hp, i),
                "'" + values[i] + "' is not host:port ([ipv6]:port), port 1-65535");
      } else if (std::find(out.hosts.begin(), out.hosts.end(), ep) != out.hosts.end()) {
        r.error(positions[i], index(hp, i), "'" + values[i] + "' is listed twice");
      } else {
        out.hosts.push_back(std::move(ep));
      }
    }
  }
  if (out.hosts.empty()) {
    out.hosts.push_back({out.host, out.port});
  } else {
    out.host = out.hosts.front().host;
    out.port = out.hosts.front().port;
  }
}

void read_mqtt(Reader& r, const YAML::Node& node, MqttConfig& out) {
  const std::string path = "mqtt";
  if (!r.check_map(node, path, section_keys(path)))
    return;
  std::string host = out.host;
  if (r.read_string(node, path, "host", host)) {
    if (valid_host(host)) out.host = host;
    else r.error(pos_of(Reader::find(node, "host")), join(path, "host"),
                 "'" + host + "' is not a valid host name or IP address");
  }
  r.read_int(node, path, "port", 1, 65535, out.port);
  read_broker_hosts(r, node, path, out);
  r.read_string(node, path, "username", out.username);
  read_file_key(r, node, path, "password_file", "password file", out.password_file);
  std::string cid = out.client_id;
  if (r.read_string(node, path, "client_id", cid)) {
    const bool ok = cid.size() <= 64 && std::all_of(cid.begin(), cid.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
    });
    if (ok) out.client_id = cid;
    else r.error(pos_of(Reader::find(node, "client_id")), join(path, "client_id"),
                 "'" + cid + "' is not allowed; use up to 64 characters from A-Z a-z 0-9 . - _");
  }
  read_seconds(r, node, path, "keepalive_s", 5, 3600, out.keepalive);
  read_seconds(r, node, path, "stall_timeout_s", 1, 600, out.stall_timeout);
  r.read_bool(node, path, "live_copy", out.live_copy);
  read_seconds(r, node, path, "health_period_s", 1, 3600, out.health_period);
  const std::vector<std::string_view> protocols = {"auto", "5", "3.1.1"};
  int proto = -1;
  if (r.read_choice(node, path, "protocol", protocols, proto) && proto >= 0)
    out.protocol = std::string(protocols[static_cast<std::size_t>(proto)]);

  const YAML::Node tls = Reader::find(node, "tls");
  const std::string tp = join(path, "tls");
  if (!tls.IsDefined() || tls.IsNull() ||
      !r.check_map(tls, tp, section_keys(tp)))
    return;
  read_file_key(r, tls, tp, "ca_file", "CA file", out.tls.ca_file);
  read_file_key(r, tls, tp, "cert_file", "certificate file", out.tls.cert_file);
  read_file_key(r, tls, tp, "key_file", "key file", out.tls.key_file);
  if (out.tls.cert_file.empty() != out.tls.key_file.empty())
    r.error(pos_of(tls), tp, "cert_file and key_file must be given together (client certificate)");
  else if (!out.tls.cert_file.empty() && out.tls.ca_file.empty())
    r.error(pos_of(tls), tp, "a client certificate needs ca_file too (TLS is on iff ca_file is set)");
}

void read_web(Reader& r, const YAML::Node& node, WebConfig& out) {
  const std::string path = "web";
  if (!r.check_map(node, path, section_keys(path)))
    return;
  r.read_bool(node, path, "enabled", out.enabled);
  std::string bind = out.bind;
  if (r.read_string(node, path, "bind", bind)) {
    if (valid_ip(bind)) out.bind = bind;
    else r.error(pos_of(Reader::find(node, "bind")), join(path, "bind"),
                 "'" + bind + "' is not an IP address; e.g. 127.0.0.1, 0.0.0.0 or ::");
  }
  r.read_int(node, path, "port", 1, 65535, out.port);
  read_seconds(r, node, path, "session_idle_timeout_s", 60, 86400, out.session_idle_timeout);
  std::vector<Pos> host_pos;
  r.read_string_list(node, path, "allowed_hosts", out.allowed_hosts, host_pos);

  const YAML::Node tls = Reader::find(node, "tls");
  const std::string tp = join(path, "tls");
  if (tls.IsDefined() && !tls.IsNull() && r.check_map(tls, tp, section_keys(tp))) {
    read_file_key(r, tls, tp, "cert_file", "certificate file", out.tls_cert_file);
    read_file_key(r, tls, tp, "key_file", "key file", out.tls_key_file);
    if (out.tls_cert_file.empty() != out.tls_key_file.empty())
      r.error(pos_of(tls), tp, "cert_file and key_file must be given together (HTTPS)");
  }

  const YAML::Node users = Reader::find(node, "users");
  const std::string up = join(path, "users");
  if (!users.IsDefined() || users.IsNull()) return;
  if (!users.IsSequence()) {
    r.error(pos_of(users), up, "expected a list of users, got " + describe(users));
    return;
  }
  out.users.clear();
  std::set<std::string> names;
  for (std::size_t i = 0; i < users.size(); ++i) {
    const YAML::Node u = users[i];
    const std::string p = index(up, i);
    if (!r.check_map(u, p, section_keys("web.users[]"))) continue;
    WebUserConfig user;
    const bool have_name = r.require(u, p, "name", "login name");
    const bool have_role = r.require(u, p, "role", "viewer | technician");
    const bool have_hash = r.require(
        u, p, "password_hash", "pbkdf2-sha256$<iterations>$<salt-b64>$<hash-b64>");
    if (have_name && r.read_id(u, p, "name", user.name) && !names.insert(user.name).second)
      r.error(pos_of(Reader::find(u, "name")), join(p, "name"),
              "duplicate user name '" + user.name + "'; user names must be unique");
    int role = 0;
    if (have_role && r.read_choice(u, p, "role", {"viewer", "technician"}, role))
      user.role = static_cast<WebRole>(role);
    if (have_hash && r.read_string(u, p, "password_hash", user.password_hash, true)) {
      const std::string problem = password_hash_problem(user.password_hash);
      if (!problem.empty())
        r.error(pos_of(Reader::find(u, "password_hash")), join(p, "password_hash"), problem);
    }
    out.users.push_back(std::move(user));
  }
}

}  // namespace floorgate::config::detail
