#pragma once
// Command line of the floorgate daemon.

#include <optional>
#include <string>
#include <vector>

namespace floorgate::host {

struct CommandLine {
  enum class Mode {
    run, check_config, print_default_config, print_config_schema, hash_password, mqtt_acl, user_add, user_passwd, help, version
  };
  Mode mode = Mode::run;
  std::optional<std::string> config_path;  // --config FILE / --check-config FILE
  std::optional<std::string> store_path;   // --store PATH overrides store.path
  std::optional<std::string> log_level;    // --log-level overrides logging.level
  std::optional<std::string> out_dir;      // --out DIR of --mqtt-acl
  std::string user_name, user_role;        // user add NAME --role ROLE / user passwd NAME
};

// Parses argv; on a usage error returns nullopt and fills `error`.
std::optional<CommandLine> parse_command_line(const std::vector<std::string>& args,
                                              std::string& error);

// The --help text.
std::string usage_text();

}  // namespace floorgate::host
