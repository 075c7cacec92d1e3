#pragma once
// systemd readiness and watchdog (sd_notify). All calls are no-ops when the process was not
// started by systemd with Type=notify (no NOTIFY_SOCKET).

#include <chrono>
#include <optional>
#include <string_view>

namespace floorgate::host {

// READY=1 with a STATUS= line.
void notify_ready(std::string_view status);
// STATUS=<text> (shown by `systemctl status`).
void notify_status(std::string_view status);
// STOPPING=1.
void notify_stopping();
// RELOADING=1 / READY=1 around a configuration reload.
void notify_reloading();
// WATCHDOG=1: call only from the event loop, so a stalled loop stops the pings.
void notify_watchdog();
// The watchdog interval systemd expects (WatchdogSec), when enabled for this process.
std::optional<std::chrono::microseconds> watchdog_interval();

}  // namespace floorgate::host
