#pragma once
// Test support: a real Mosquitto broker on a free loopback port, started per test and
// stopped by pid. Raises max_queued_messages and sets TCP_NODELAY (shared/reference/
// performance.md: the defaults drop PUBACKed messages to lagging subscribers and stall PUBACKs).

#include <unistd.h>

#include <fstream>
#include <string>

#include "test_process.hpp"

namespace floorgate::testing {

class MosquittoBroker {
 public:
  // extra_config: appended to the generated mosquitto.conf (TLS, password_file, ...).
  explicit MosquittoBroker(std::string extra_config = {}, int port = 0)
      : port_(port ? port : free_port()), extra_(std::move(extra_config)) {
    start();
  }
  ~MosquittoBroker() { stop(); }

  int port() const { return port_; }
  const std::filesystem::path& dir() const { return dir_.path(); }
  std::string log() const {
    std::ifstream in(dir_ / "mosquitto.log");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  // (Re)starts on the same port; waits until it accepts connections.
  void start() {
    auto conf = dir_ / "mosquitto.conf";
    std::ofstream out(conf);
    out << "listener " << port_ << " 127.0.0.1\n"
        << (extra_.find("allow_anonymous") == std::string::npos ? "allow_anonymous true\n" : "")
        << "max_queued_messages 1000000\n"
        << "max_inflight_messages 0\n"
        << "set_tcp_nodelay true\n"
        << "persistence false\n"
        // As root, mosquitto drops to user "mosquitto", which cannot enter the test's 0700
        // temp dir to read a password or ACL file: stay root (tests only).
        << (::geteuid() == 0 ? "user root\n" : "")
        << extra_ << "\n";
    out.close();
    proc_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{"mosquitto", "-c", conf.string()},
        (dir_ / "mosquitto.log").string(), (dir_ / "mosquitto.log").string());
    if (!wait_until([this] { return port_open(port_); })) {
      throw std::runtime_error("mosquitto did not start on port " + std::to_string(port_) +
                               ": " + log());
    }
  }
  // SIGKILL (an abrupt broker crash) or SIGTERM, then wait.
  void stop(int sig = SIGTERM) {
    if (!proc_) return;
    proc_->kill(sig);
    proc_->wait();
    proc_.reset();
  }
  bool running() { return proc_ && proc_->running(); }

 private:
  int port_;
  std::string extra_;
  TempDir dir_;
  std::unique_ptr<ChildProcess> proc_;
};

}  // namespace floorgate::testing
