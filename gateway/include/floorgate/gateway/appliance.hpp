#pragma once
// Appliance: the whole gateway wired on one event loop — configuration → store → drivers
// (through StoreSink) → MQTT delivery, status/health and the technician web page. The daemon's
// main() only parses the command line, builds this and runs the loop.

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "floorgate/config/config.hpp"

namespace floorgate::gateway {

// Writes `text` to `path` atomically: temp file in the same directory, fsync, rename, fsync of
// the directory. Returns an empty string or the error. (The web editor and `floorgate user
// add` write the configuration file with it.)
std::string write_file_atomically(const std::filesystem::path& path, const std::string& text);

class Appliance {
 public:
  // `config_path` is re-read on reload() and rewritten by the web configuration editor; empty
  // when running on the embedded defaults.
  Appliance(boost::asio::io_context& io, config::Config cfg, std::filesystem::path config_path);
  ~Appliance();
  Appliance(const Appliance&) = delete;
  Appliance& operator=(const Appliance&) = delete;

  // Opens the store and starts everything. On failure returns the error and a sentence.
  std::error_code start(std::string& detail);

  // SIGHUP: re-reads the configuration file and applies it (EGMs added/removed/changed without
  // touching unaffected buses; consumers and log level updated). An invalid file is rejected
  // with its errors and the running configuration is kept.
  std::vector<config::ConfigError> reload();

  // SIGTERM: stops polling, lets in-flight commits finish, publishes offline, closes the store;
  // `done` runs on the loop when everything is down.
  void stop(std::function<void()> done);

  // Runs the event loop (like io.run(), measuring each handler's CPU time for /metrics) until
  // it is stopped. Thread: the one loop thread.
  void run();

  // One line for systemd's STATUS= (EGMs online, queue depth, broker state).
  std::string status_line() const;

  // The composition root (appliance.cpp); named here so app::Runtime can name it its friend.
  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace floorgate::gateway
