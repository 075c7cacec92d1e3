#pragma once
// Runs the appliance on one io_context until SIGTERM/SIGINT: signals, systemd readiness,
// status and the event-loop watchdog.

#include <filesystem>

#include "floorgate/config/config.hpp"

namespace floorgate::host {

// Returns the process exit code (0 after a clean stop).
int run_daemon(config::Config cfg, std::filesystem::path config_path);

}  // namespace floorgate::host
