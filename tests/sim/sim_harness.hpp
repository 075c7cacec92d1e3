#pragma once
// Host-side harness for the real floorgate-egm-sim: starts the program, opens its pty with raw
// bytes (the escaped 9th-bit convention written out by hand here, independent of the
// simulator's code), and talks to its control socket.
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "test_process.hpp"

namespace floorgate::sim::testing {

using Bytes = std::vector<std::uint8_t>;
namespace ft = floorgate::testing;

inline std::string sim_binary() {
  return ft::build_path("firmware-host/egm-sim/floorgate-egm-sim");
}

// CRC-16/KERMIT written independently of the simulator (bitwise, reflected 0x8408).
inline Bytes with_crc(Bytes f) {
  std::uint16_t crc = 0;
  for (std::uint8_t b : f) {
    crc ^= b;
    for (int i = 0; i < 8; ++i) crc = (crc & 1) ? (crc >> 1) ^ 0x8408 : crc >> 1;
  }
  f.push_back(static_cast<std::uint8_t>(crc & 0xFF));
  f.push_back(static_cast<std::uint8_t>(crc >> 8));
  return f;
}

// The simulator as a child process with its pty and control socket in a temp dir.
class SimProcess {
 public:
  explicit SimProcess(std::vector<std::string> args, bool add_pty = true) {
    pty_ = (dir_ / "sas0").string();
    control_ = (dir_ / "ctl").string();
    std::vector<std::string> argv{sim_binary()};
    if (add_pty) {
      argv.push_back("--pty");
      argv.push_back(pty_);
    }
    for (auto& a : args) argv.push_back(a);
    argv.push_back("--control");
    argv.push_back(control_);
    log_ = (dir_ / "sim.log").string();
    child_.start(argv, log_, log_);
    ready_ = ft::wait_until([&] {
      return std::filesystem::exists(control_) && (!add_pty || std::filesystem::exists(pty_));
    });
  }
  bool ready() const { return ready_; }
  bool running() { return child_.running(); }
  const std::string& pty() const { return pty_; }
  const std::string& control() const { return control_; }
  const ft::TempDir& dir() const { return dir_; }
  ft::ChildProcess& child() { return child_; }

 private:
  ft::TempDir dir_;
  std::string pty_, control_, log_;
  ft::ChildProcess child_;
  bool ready_ = false;
};

// The host end of a bus: raw bytes over the pty slave (or a TCP socket).
class Host {
 public:
  explicit Host(const std::string& path) { open_pty(path); }
  explicit Host(int fd) : fd_(fd) {}
  ~Host() { close(); }
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  void open_pty(const std::string& path) {
    fd_ = ::open(path.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK);
    if (fd_ >= 0) ::tcflush(fd_, TCIOFLUSH);
  }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  bool ok() const { return fd_ >= 0; }
  int fd() const { return fd_; }

  void write_raw(const Bytes& b) {
    std::size_t off = 0;
    while (off < b.size()) {
      ssize_t n = ::write(fd_, b.data() + off, b.size() - off);
      if (n > 0) {
        off += static_cast<std::size_t>(n);
      } else {
        ::poll(nullptr, 0, 1);
      }
    }
  }
  // General poll: FF 00 (80|addr).
  void gp(std::uint8_t addr) { write_raw({0xFF, 0x00, static_cast<std::uint8_t>(0x80 | addr)}); }
  // Long poll: first byte with the wakeup mark, 0xFF data bytes doubled.
  void lp(const Bytes& frame) {
    Bytes out{0xFF, 0x00, frame[0]};
    for (std::size_t i = 1; i < frame.size(); ++i) {
      out.push_back(frame[i]);
      if (frame[i] == 0xFF) out.push_back(0xFF);
    }
    write_raw(out);
  }
  // Reads until `n` data bytes arrived (wakeup-marked bytes go to chirps) or `timeout_ms`.
  Bytes read(std::size_t n, int timeout_ms = 2000) {
    Bytes data;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (data.size() < n) {
      if (!pending_.empty()) {
        if (!decode_one(data)) {
          if (!fill(deadline)) break;
        }
        continue;
      }
      if (!fill(deadline)) break;
    }
    return data;
  }
  // True if no data byte arrives within `ms` (chirps are ignored).
  bool quiet(int ms) { return read(1, ms).empty(); }
  // Discards whatever arrives within `ms`.
  void drain(int ms) {
    read(1'000'000, ms);
    pending_.clear();
  }
  const Bytes& chirps() const { return chirps_; }

 private:
  bool fill(std::chrono::steady_clock::time_point deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0) return false;
    std::uint8_t buf[512];
    ssize_t n = ::read(fd_, buf, sizeof buf);
    if (n <= 0) return false;
    pending_.insert(pending_.end(), buf, buf + n);
    return true;
  }
  // Decodes one escaped unit from pending_; false if more bytes are needed.
  bool decode_one(Bytes& data) {
    if (pending_[0] != 0xFF) {
      data.push_back(pending_[0]);
      pending_.erase(pending_.begin());
      return true;
    }
    if (pending_.size() < 2) return false;
    if (pending_[1] == 0xFF) {
      data.push_back(0xFF);
      pending_.erase(pending_.begin(), pending_.begin() + 2);
      return true;
    }
    if (pending_.size() < 3) return false;
    chirps_.push_back(pending_[2]);
    pending_.erase(pending_.begin(), pending_.begin() + 3);
    return true;
  }

  int fd_ = -1;
  Bytes pending_;
  Bytes chirps_;
};

// A control-socket client: one command line out, one JSON line back.
class Control {
 public:
  explicit Control(const std::string& path) {
    // The socket file appears at bind(), a moment before listen(): retry briefly.
    ft::wait_until([&] {
      fd_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
      sockaddr_un a{};
      a.sun_family = AF_UNIX;
      std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
      if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) return true;
      ::close(fd_);
      fd_ = -1;
      return false;
    });
  }
  ~Control() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool ok() const { return fd_ >= 0; }
  // Sends `line` and returns the first answer line (without the newline).
  std::string cmd(const std::string& line) {
    std::string l = line + "\n";
    if (::write(fd_, l.data(), l.size()) != static_cast<ssize_t>(l.size())) return {};
    return read_line();
  }
  // The ledger lines (without the final {"end":true}).
  std::vector<std::string> ledger() {
    std::vector<std::string> out;
    for (std::string l = cmd("ledger"); !l.empty() && l != "{\"end\":true}"; l = read_line()) {
      out.push_back(l);
    }
    return out;
  }
  std::string read_line() {
    std::string line;
    char c;
    while (::read(fd_, &c, 1) == 1) {
      if (c == '\n') return line;
      line += c;
    }
    return line;
  }

 private:
  int fd_ = -1;
};

// Count of lines containing `needle`.
inline int count_with(const std::vector<std::string>& lines, const std::string& needle) {
  int n = 0;
  for (const auto& l : lines) n += l.find(needle) != std::string::npos;
  return n;
}

}  // namespace floorgate::sim::testing
