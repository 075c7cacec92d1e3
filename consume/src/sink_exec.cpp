// exec sink: one command run per batch, the batch's jsonl on its stdin; exit 0 = applied.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "floorgate/consume/sink.hpp"
#include "lines.hpp"

extern char** environ;

namespace floorgate::consume {
namespace {

constexpr std::size_t kStderrKept = 2048;

struct RunResult {
  bool ok = false;
  std::string error;
};

// Runs /bin/sh -c command with `input` on stdin; keeps the first bytes of stderr.
RunResult run(const std::string& command, const std::string& input) {
  int in[2], err[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return {false, std::string("pipe: ") + std::strerror(errno)};
  if (::pipe2(err, O_CLOEXEC) != 0) {
    ::close(in[0]);
    ::close(in[1]);
    return {false, std::string("pipe: ") + std::strerror(errno)};
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
  posix_spawn_file_actions_adddup2(&fa, err[1], STDERR_FILENO);
  const char* argv[] = {"/bin/sh", "-c", command.c_str(), nullptr};
  pid_t pid = -1;
  int rc = posix_spawn(&pid, "/bin/sh", &fa, nullptr, const_cast<char**>(argv), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(in[0]);
  ::close(err[1]);
  if (rc != 0) {
    ::close(in[1]);
    ::close(err[0]);
    return {false, std::string("cannot run /bin/sh: ") + std::strerror(rc)};
  }
  // Feed stdin and drain stderr together: a command that writes much to stderr before it
  // reads its input must not deadlock against us. So stdin is written without blocking: a
  // blocking write of the whole batch returned only once the pipe took all of it, while the
  // command waited for us to read its stderr.
  if (const int fl = ::fcntl(in[1], F_GETFL); fl >= 0) ::fcntl(in[1], F_SETFL, fl | O_NONBLOCK);
  std::size_t written = 0;
  std::string errtext;
  int to_child = in[1];
  if (input.empty()) {
    ::close(to_child);
    to_child = -1;
  }
  bool err_open = true;
  while (to_child >= 0 || err_open) {
    pollfd fds[2];
    int n = 0;
    if (to_child >= 0) fds[n++] = {to_child, POLLOUT, 0};
    if (err_open) fds[n++] = {err[0], POLLIN, 0};
    if (::poll(fds, static_cast<nfds_t>(n), -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < n; ++i) {
      if (fds[i].fd == to_child && fds[i].revents) {
        ssize_t w = ::write(to_child, input.data() + written, input.size() - written);
        if (w > 0) written += static_cast<std::size_t>(w);
        if (w < 0 && errno != EINTR && errno != EAGAIN) written = input.size();  // EPIPE: gone
        if (written >= input.size()) {
          ::close(to_child);
          to_child = -1;
        }
      } else if (fds[i].fd == err[0] && fds[i].revents) {
        char buf[4096];
        ssize_t r = ::read(err[0], buf, sizeof buf);
        if (r <= 0) {
          err_open = false;
        } else if (errtext.size() < kStderrKept) {
          errtext.append(buf, std::min<std::size_t>(static_cast<std::size_t>(r),
                                                    kStderrKept - errtext.size()));
        }
      }
    }
  }
  if (to_child >= 0) ::close(to_child);
  ::close(err[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  while (!errtext.empty() && (errtext.back() == '\n' || errtext.back() == '\r')) errtext.pop_back();
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {true, {}};
  std::string why = WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                                      : "killed by signal " + std::to_string(WTERMSIG(status));
  return {false, why + (errtext.empty() ? "" : ": " + errtext)};
}

class ExecSink final : public Sink {
 public:
  ExecSink(std::string command, int attempts)
      : command_(std::move(command)), attempts_(attempts < 1 ? 1 : attempts) {
    ::signal(SIGPIPE, SIG_IGN);  // a command that exits without reading must not kill us
  }
  const char* name() const override { return "exec"; }
  LoadResult load_positions() override { return {}; }
  CommitResult commit(const std::vector<Delivered>& batch, const Positions&) override {
    if (batch.empty()) return {};
    auto r = run(command_, jsonl_lines(batch));
    if (r.ok) {
      failures_ = 0;
      return {};
    }
    const bool permanent = ++failures_ >= attempts_;
    if (permanent) failures_ = 0;
    return {false, r.error, permanent};
  }

 private:
  std::string command_;
  int attempts_;
  int failures_ = 0;  // in a row, for the batch being tried
};

}  // namespace

std::unique_ptr<Sink> make_exec_sink(const std::string& command, int attempts) {
  return std::make_unique<ExecSink>(command, attempts);
}

}  // namespace floorgate::consume
