// floorgate: the slot-floor edge gateway daemon. See cli.cpp for the options.
#include <termios.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <spdlog/spdlog.h>

#include "cli.hpp"
#include "daemon.hpp"
#include "mqtt_acl.hpp"
#include "floorgate/config/config.hpp"
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

int hash_password() {
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
    return 1;
  }
  std::cout << floorgate::gateway::web::hash_password(pw) << '\n';
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  using floorgate::host::CommandLine;
  std::string error;
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
    case CommandLine::Mode::check_config: return check_config(*cl->config_path);
    case CommandLine::Mode::hash_password: return hash_password();
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
