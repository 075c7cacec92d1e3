#include "daemon.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>

#include "floorgate/gateway/appliance.hpp"
#include "systemd_notify.hpp"

namespace floorgate::host {
namespace {

// WATCHDOG=1 is sent from a timer on the event loop itself: if the loop stalls (a handler
// blocks), the pings stop and systemd restarts the process (WatchdogSec).
class LoopWatchdog {
 public:
  LoopWatchdog(boost::asio::io_context& io, gateway::Appliance& app)
      : timer_(io), app_(app), interval_(watchdog_interval()) {}
  void start() { tick(); }
  void stop() { timer_.cancel(); }

 private:
  void tick() {
    if (interval_) notify_watchdog();
    if (++ticks_ % 10 == 0) notify_status(app_.status_line());
    auto period = interval_ ? std::min<std::chrono::microseconds>(*interval_ / 3, std::chrono::seconds(1))
                            : std::chrono::microseconds(std::chrono::seconds(1));
    timer_.expires_after(period);
    timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) tick();
    });
  }
  boost::asio::steady_timer timer_;
  gateway::Appliance& app_;
  std::optional<std::chrono::microseconds> interval_;
  unsigned ticks_ = 0;
};

}  // namespace

int run_daemon(config::Config cfg, std::filesystem::path config_path) {
  boost::asio::io_context io;
  gateway::Appliance app(io, std::move(cfg), config_path);
  std::string detail;
  if (auto ec = app.start(detail)) {
    spdlog::critical("start-up failed: {}", detail);
    return 1;
  }
  LoopWatchdog watchdog(io, app);
  watchdog.start();

  // The handlers are installed before anyone is told the daemon is ready: a SIGHUP sent the
  // moment "ready" is logged (systemctl reload, a test) would otherwise meet the default
  // action and end the process.
  boost::asio::signal_set signals(io, SIGTERM, SIGINT, SIGHUP);
  bool stopping = false;
  std::function<void()> wait_signal;
  wait_signal = [&] {
    signals.async_wait([&](boost::system::error_code ec, int sig) {
      if (ec) return;
      if (sig == SIGHUP) {
        notify_reloading();
        spdlog::info("SIGHUP: reloading {}", config_path.string());
        auto errors = app.reload();
        for (const auto& e : errors) spdlog::error("reload rejected: {}", e.to_string());
        if (!errors.empty()) spdlog::error("keeping the running configuration");
        notify_ready(app.status_line());
      } else if (!stopping) {
        stopping = true;
        spdlog::info("signal {}: stopping", sig);
        notify_stopping();
        app.stop([&] {
          watchdog.stop();
          signals.cancel();
          spdlog::info("stopped cleanly");
          io.stop();
        });
      }
      if (!stopping) wait_signal();
    });
  };
  wait_signal();
  notify_ready(app.status_line());
  spdlog::info("floorgate ready: {}", app.status_line());
  app.run();
  return 0;
}

}  // namespace floorgate::host
