#pragma once
// Process-wide logging: spdlog to stderr, one line per record, prefixed with the sd-daemon
// priority ("<3>" error ... "<7>" debug) so journald files each line at the right level when
// floorgate runs under systemd, and a plain timestamp when it runs in a terminal.

#include <optional>
#include <string_view>

namespace floorgate::gateway {

// Installs the stderr logger as spdlog's default. `level`: trace|debug|info|warn|error.
// Returns false (and keeps "info") for an unknown level name. Call once from main().
bool setup_logging(std::string_view level);

// Changes the level at run time (configuration reload). False for an unknown name.
bool set_log_level(std::string_view level);

}  // namespace floorgate::gateway
