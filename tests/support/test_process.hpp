#pragma once
// Test support: real child processes, temp dirs and free loopback ports. Header-only, used by
// the integration, fault and benchmark suites (never by product code).

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace floorgate::testing {

// A fresh directory under $TMPDIR, removed (recursively) when destroyed.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "floorgate-test-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    if (std::getenv("FLOORGATE_KEEP_TEST_DIRS")) return;  // debugging: keep the evidence
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// A TCP port on 127.0.0.1 that was free a moment ago (bind to 0, read it, close).
inline int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    throw std::runtime_error("bind failed");
  }
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// True once something accepts TCP connections on 127.0.0.1:port.
inline bool port_open(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  ::close(fd);
  return ok;
}

// Polls `pred` every `poll_every` (10 ms) until it holds or `timeout` passes.
inline bool wait_until(const std::function<bool()>& pred,
                       std::chrono::milliseconds timeout = std::chrono::seconds(10),
                       std::chrono::milliseconds poll_every = std::chrono::milliseconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(poll_every);  // the polling interval of the condition
  }
  return pred();
}

// A child process (fork/exec). stdout/stderr go to the given files (or are inherited).
// The destructor kills it (SIGKILL) if still running.
class ChildProcess {
 public:
  ChildProcess() = default;
  ChildProcess(std::vector<std::string> argv, const std::string& stdout_path = {},
               const std::string& stderr_path = {}) {
    start(std::move(argv), stdout_path, stderr_path);
  }
  ~ChildProcess() { kill(SIGKILL); wait(); }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  void start(std::vector<std::string> argv, const std::string& stdout_path = {},
             const std::string& stderr_path = {}) {
#if defined(FLOORGATE_TEST_EMULATOR) && defined(FLOORGATE_BINARY_DIR)
    // A cross-built test starting a program of the same build: run it in the emulator.
    if (!argv.empty() && argv[0].rfind(FLOORGATE_BINARY_DIR, 0) == 0) {
      argv.insert(argv.begin(), FLOORGATE_TEST_EMULATOR);
    }
#endif
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      ::setpgid(0, 0);
      redirect(stdout_path, STDOUT_FILENO);
      redirect(stderr_path, STDERR_FILENO);
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      ::execvp(args[0], args.data());
      ::_exit(127);
    }
    exited_ = false;
  }
  pid_t pid() const { return pid_; }
  bool running() {
    if (pid_ <= 0 || exited_) return false;
    int st = 0;
    pid_t r = ::waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      exited_ = true;
      status_ = st;
      return false;
    }
    return true;
  }
  void kill(int sig) {
    if (pid_ > 0 && !exited_) ::kill(pid_, sig);
  }
  // Waits for exit (up to timeout); returns the raw wait status, or -1 on timeout.
  int wait(std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    if (pid_ <= 0) return -1;
    if (exited_) return status_;
    if (!wait_until([this] { return !running(); }, timeout)) return -1;
    return status_;
  }

 private:
  static void redirect(const std::string& path, int target) {
    if (path.empty()) return;
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, target);
      ::close(fd);
    }
  }
  pid_t pid_ = -1;
  bool exited_ = true;
  int status_ = 0;
};

// Path of a program built in this tree, e.g. build_path("firmware-host/egm-sim/floorgate-egm-sim").
inline std::string build_path(const std::string& rel) {
#ifdef FLOORGATE_BINARY_DIR
  return std::string(FLOORGATE_BINARY_DIR) + "/" + rel;
#else
  return rel;
#endif
}

}  // namespace floorgate::testing
