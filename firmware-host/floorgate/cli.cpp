#include "cli.hpp"

namespace floorgate::host {

std::string usage_text() {
  return R"(usage: floorgate [--config FILE] [--store PATH] [--log-level LEVEL]
       floorgate --check-config FILE
       floorgate --print-default-config
       floorgate --hash-password          (reads the password from standard input)
       floorgate --mqtt-acl FILE --out DIR
       floorgate --help | --version

Slot-floor edge gateway: polls EGMs (SAS serial/TCP, G2S), stores every event durably in
SQLite and delivers it over MQTT to acknowledging consumers.

  --config FILE          configuration file (YAML); without it the embedded defaults are used
  --store PATH           override store.path from the configuration
  --log-level LEVEL      trace | debug | info | warn | error (overrides logging.level)
  --check-config FILE    validate FILE, print every error as file:line:col, exit 1 if any
  --print-default-config print the embedded default configuration (annotated YAML)
  --hash-password        print a password hash for web.users[].password_hash
  --mqtt-acl FILE        write the Mosquitto accounts and ACL for configuration FILE into
                         --out DIR: one user for the gateway, one per consumer, a read-only
                         "monitor" (see docs/mqtt.md, Security)

Signals: SIGTERM/SIGINT stop cleanly; SIGHUP reloads the configuration file.
)";
}

std::optional<CommandLine> parse_command_line(const std::vector<std::string>& args,
                                              std::string& error) {
  CommandLine cl;
  auto value = [&](std::size_t& i, const std::string& opt) -> std::optional<std::string> {
    if (i + 1 >= args.size()) {
      error = opt + " needs a value";
      return std::nullopt;
    }
    return args[++i];
  };
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      cl.mode = CommandLine::Mode::help;
    } else if (a == "--version") {
      cl.mode = CommandLine::Mode::version;
    } else if (a == "--print-default-config") {
      cl.mode = CommandLine::Mode::print_default_config;
    } else if (a == "--hash-password") {
      cl.mode = CommandLine::Mode::hash_password;
    } else if (a == "--config" || a == "--check-config") {
      auto v = value(i, a);
      if (!v) return std::nullopt;
      cl.config_path = *v;
      if (a == "--check-config") cl.mode = CommandLine::Mode::check_config;
    } else if (a == "--mqtt-acl") {
      auto v = value(i, a);
      if (!v) return std::nullopt;
      cl.config_path = *v;
      cl.mode = CommandLine::Mode::mqtt_acl;
    } else if (a == "--out") {
      auto v = value(i, a);
      if (!v) return std::nullopt;
      cl.out_dir = *v;
    } else if (a == "--store") {
      auto v = value(i, a);
      if (!v) return std::nullopt;
      cl.store_path = *v;
    } else if (a == "--log-level") {
      auto v = value(i, a);
      if (!v) return std::nullopt;
      cl.log_level = *v;
    } else {
      error = "unknown option '" + a + "'";
      return std::nullopt;
    }
  }
  if (cl.mode == CommandLine::Mode::mqtt_acl && !cl.out_dir) {
    error = "--mqtt-acl needs --out DIR";
    return std::nullopt;
  }
  return cl;
}

}  // namespace floorgate::host
