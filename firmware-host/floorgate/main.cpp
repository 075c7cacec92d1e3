// floorgate: the slot-floor edge gateway daemon. See cli.cpp for the options.
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <iostream>
#include <spdlog/spdlog.h>

#include "cli.hpp"
#include "store_cli.hpp"
#include "daemon.hpp"
#include "mqtt_acl.hpp"
#include "floorgate/config/config.hpp"
#include "floorgate/config/schema.hpp"
#include "floorgate/gateway/appliance.hpp"
#include "floorgate/gateway/logging.hpp"
#include "floorgate/gateway/web/password.hpp"

namespace {

int check_config(const std::string& path) {
  auto r = floorgate::config::load_file(path);
  for (const auto& e : r.errors) std::cerr << e.to_string() << '\n';
  if (!r.config) return 1;
  std::cout << path << ": ok\n";
  return 0;
}

std::optional<std::string> read_password();

int hash_password() {
  auto pw = read_password();
  if (!pw) return 1;
  std::cout << floorgate::gateway::web::hash_password(*pw) << '\n';
  return 0;
}

// `floorgate user add NAME --role ROLE --config FILE` adds an account (or replaces its role
// and password); `floorgate user passwd NAME --config FILE` gives an existing account a new
// password and keeps its role. The file is checked first and the result written atomically;
// the previous file is kept as FILE.prev. The file is re-emitted from the parsed
// configuration, so comments are not kept.
int user_write(const std::string& path, const std::string& name,
               std::optional<std::string> role) {
  auto loaded = floorgate::config::load_file(path);
  if (!loaded.config) {
    for (const auto& e : loaded.errors) std::cerr << e.to_string() << '\n';
    return 1;
  }
  auto cfg = std::move(*loaded.config);
  auto existing = std::find_if(cfg.web.users.begin(), cfg.web.users.end(),
                               [&](const auto& u) { return u.name == name; });
  if (!role && existing == cfg.web.users.end()) {
    std::cerr << "floorgate: no user '" << name << "' in " << path
              << " (add one with: floorgate user add " << name << " --role ROLE --config "
              << path << ")\n";
    return 1;
  }
  auto pw = read_password();
  if (!pw) return 1;
  floorgate::config::WebUserConfig user;
  user.name = name;
  if (role) {
    user.role = *role == "technician" ? floorgate::config::WebRole::technician
                                      : floorgate::config::WebRole::viewer;
  } else {
    user.role = existing->role;
  }
  user.password_hash = floorgate::gateway::web::hash_password(*pw);
  const bool replaced = existing != cfg.web.users.end();
  if (replaced) {
    *existing = user;
  } else {
    cfg.web.users.push_back(user);
  }
  std::string text = floorgate::config::to_yaml(cfg);
  auto check = floorgate::config::load_string(text, path);
  if (!check.config) {
    for (const auto& e : check.errors) std::cerr << e.to_string() << '\n';
    std::cerr << "floorgate: refusing to write an invalid configuration\n";
    return 1;
  }
  std::error_code ec;
  std::filesystem::copy_file(path, path + ".prev", std::filesystem::copy_options::overwrite_existing, ec);
  if (auto err = floorgate::gateway::write_file_atomically(path, text); !err.empty()) {
    std::cerr << "floorgate: " << err << '\n';
    return 1;
  }
  const char* what = !role ? "new password for" : replaced ? "updated" : "added";
  std::cout << what << " user " << name << " ("
            << (user.role == floorgate::config::WebRole::technician ? "technician" : "viewer")
            << ") in " << path << "; previous file: " << path << ".prev\n"
            << "reload the daemon (systemctl reload floorgate) to apply\n";
  return 0;
}

std::optional<std::string> read_password() {
  const bool tty = ::isatty(STDIN_FILENO);
  termios old{};
  if (tty) {
    std::cerr << "password: " << std::flush;
    ::tcgetattr(STDIN_FILENO, &old);
    termios quiet = old;
    quiet.c_lflag &= static_cast<tcflag_t>(~ECHO);
    ::tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::string pw;
  std::getline(std::cin, pw);
  if (tty) {
    ::tcsetattr(STDIN_FILENO, TCSANOW, &old);
    std::cerr << '\n';
  }
  if (pw.empty()) {
    std::cerr << "floorgate: empty password refused\n";
    return std::nullopt;
  }
  return pw;
}

}  // namespace

int main(int argc, char** argv) {
  using floorgate::host::CommandLine;
  std::string error;
  if (argc > 1 && std::string_view(argv[1]) == "store") {
    return floorgate::host::run_store_command({argv, argv + argc});
  }
  if (argc > 1 && std::string_view(argv[1]) == "consumer") {
    return floorgate::host::run_consumer_command({argv, argv + argc});
  }
  auto cl = floorgate::host::parse_command_line({argv, argv + argc}, error);
  if (!cl) {
    std::cerr << "floorgate: " << error << "\n\n" << floorgate::host::usage_text();
    return 2;
  }
  switch (cl->mode) {
    case CommandLine::Mode::help: std::cout << floorgate::host::usage_text(); return 0;
    case CommandLine::Mode::version: std::cout << "floorgate " FLOORGATE_VERSION "\n"; return 0;
    case CommandLine::Mode::print_default_config:
      std::cout << floorgate::config::default_config_yaml();
      return 0;
    case CommandLine::Mode::print_config_schema:
      std::cout << floorgate::config::config_schema_json();
      return 0;
    case CommandLine::Mode::check_config: return check_config(*cl->config_path);
    case CommandLine::Mode::hash_password: return hash_password();
    case CommandLine::Mode::user_add:
      return user_write(*cl->config_path, cl->user_name, cl->user_role);
    case CommandLine::Mode::user_passwd:
      return user_write(*cl->config_path, cl->user_name, std::nullopt);
    case CommandLine::Mode::mqtt_acl: return floorgate::host::write_mqtt_acl(*cl->config_path, *cl->out_dir);
    case CommandLine::Mode::run: break;
  }
  auto loaded = cl->config_path ? floorgate::config::load_file(*cl->config_path)
                                : floorgate::config::LoadResult{floorgate::config::default_config(), {}};
  if (!loaded.config) {
    for (const auto& e : loaded.errors) std::cerr << e.to_string() << '\n';
    std::cerr << "floorgate: configuration rejected (" << loaded.errors.size() << " error(s))\n";
    return 1;
  }
  auto cfg = std::move(*loaded.config);
  if (cl->store_path) cfg.store.path = *cl->store_path;
  auto level = cl->log_level.value_or(std::string(floorgate::config::to_string(cfg.log_level)));
  if (!floorgate::gateway::setup_logging(level)) {
    std::cerr << "floorgate: unknown log level '" << level << "'\n";
    return 2;
  }
  return floorgate::host::run_daemon(std::move(cfg), cl->config_path.value_or(""));
}
