#pragma once
// `floorgate --mqtt-acl FILE --out DIR`: the broker side of MQTT authorization for one
// gateway configuration. Every party gets its own user and only the topics it needs, so that
// no client can ack, replay or publish events for another (docs/mqtt.md, Security).

#include <string>
#include <vector>

#include "floorgate/config/config.hpp"

namespace floorgate::host {

// One broker account and what it may do (Mosquitto ACL "topic read|write|readwrite").
struct AclUser {
  std::string name;
  std::string role;  // "gateway" | "consumer" | "monitor"
  std::vector<std::string> read, write;
};

// The accounts a configuration needs: the gateway (mqtt.username, default
// "floorgate-<gateway id>"), one per consumer (named after it) and a read-only "monitor".
// Fails (empty, `error` set) when two accounts would share a name.
std::vector<AclUser> acl_users(const config::Config& cfg, std::string& error);

// Mosquitto acl_file text for `users`.
std::string mosquitto_acl(const std::vector<AclUser>& users);

// Writes DIR/acl, DIR/passwd (through Debian's mosquitto_passwd), DIR/<user>.password
// (mode 0600, one per account; the gateway's own is reused when mqtt.password_file exists)
// and DIR/mosquitto-auth.conf; prints what to do next. Returns the process exit code.
int write_mqtt_acl(const std::string& config_path, const std::string& out_dir);

}  // namespace floorgate::host
