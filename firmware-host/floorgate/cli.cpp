#include "cli.hpp"

namespace floorgate::host {

std::string usage_text() {
  return R"(usage: floorgate [--config FILE] [--store PATH] [--log-level LEVEL]
       floorgate --check-config FILE
       floorgate --print-default-config
       floorgate --print-config-schema
       floorgate --hash-password          (reads the password from standard input)
       floorgate --mqtt-acl FILE --out DIR
       floorgate user add NAME --role viewer|technician --config FILE  (password from stdin)
       floorgate user passwd NAME --config FILE                         (password from stdin)
       floorgate consumer reset NAME --to SEQ [--db PATH]               (audited)
       floorgate store stats|verify|export [--db PATH] ...   (read-only; `floorgate store`)
       floorgate --help | --version

Slot-floor edge gateway: polls EGMs (SAS serial/TCP, G2S), stores every event durably in
SQLite and delivers it over MQTT to acknowledging consumers.

  --config FILE          configuration file (YAML); without it the embedded defaults are used
  --store PATH           override store.path from the configuration
  --log-level LEVEL      trace | debug | info | warn | error (overrides logging.level)
  --check-config FILE    validate FILE, print every error as file:line:col, exit 1 if any
  --print-default-config print the embedded default configuration (annotated YAML)
  --print-config-schema  print the JSON Schema of the configuration file (for editors)
  --hash-password        print a password hash for web.users[].password_hash
  user add NAME          add (or re-key) a web page account in the --config FILE; the
                         password is read from standard input and only its hash is stored
  user passwd NAME       set a new password for an existing account (role kept)
  consumer reset NAME    move a consumer's acked cursor to --to SEQ (back: redelivers from
                         SEQ+1; forward: skips). Through the running daemon's control socket
                         (<store dir>/control.sock) or, when no daemon holds the store, on the
                         file itself; either way stored as a `gateway.consumer_reset` event
  store stats            rows per class, bytes, oldest row, last seq, per-consumer cursor and
                         lag of a store file (default /var/lib/floorgate/floorgate.db)
  store verify           recompute the hash chain (--from SEQ --to SEQ); exit 1 and the
                         first bad seq when it does not hold
  store export           --since/--until TIME --egm ID --type TYPE|PREFIX.* --format jsonl|csv
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
  std::size_t first = 1;
  if (args.size() > 1 && args[1] == "user") {
    if (args.size() < 4 || (args[2] != "add" && args[2] != "passwd") || args[3].empty() ||
        args[3][0] == '-') {
      error = "usage: floorgate user add NAME --role viewer|technician --config FILE\n"
              "       floorgate user passwd NAME --config FILE";
      return std::nullopt;
    }
    cl.mode = args[2] == "add" ? CommandLine::Mode::user_add : CommandLine::Mode::user_passwd;
    cl.user_name = args[3];
    first = 4;
  }
  for (std::size_t i = first; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--help" || a == "-h") {
      cl.mode = CommandLine::Mode::help;
    } else if (a == "--version") {
      cl.mode = CommandLine::Mode::version;
    } else if (a == "--print-default-config") {
      cl.mode = CommandLine::Mode::print_default_config;
    } else if (a == "--print-config-schema") {
      cl.mode = CommandLine::Mode::print_config_schema;
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
    } else if (a == "--role" && cl.mode == CommandLine::Mode::user_add) {
      auto v = value(i, a);
      if (!v) return std::nullopt;
      cl.user_role = *v;
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
  if (cl.mode == CommandLine::Mode::user_passwd && !cl.config_path) {
    error = "user passwd needs --config FILE";
    return std::nullopt;
  }
  if (cl.mode == CommandLine::Mode::user_add) {
    if (cl.user_role != "viewer" && cl.user_role != "technician") {
      error = "user add needs --role viewer or --role technician";
      return std::nullopt;
    }
    if (!cl.config_path) {
      error = "user add needs --config FILE";
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
