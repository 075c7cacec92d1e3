// Benchmark group `sim`: CPU of one floorgate-egm-sim serving 64 EGMs on 8 ptys, each EGM
// general-polled every 40 ms by a tiny host-side poller (8 addresses per pty, one GP every
// 5 ms per pty, rotating addresses so no poll is a retry). Prints sim.cpu_pct_64egm (% of one
// core, from /proc/<pid>/stat) and sim.answer_ratio (answers received per poll sent).
#include <fcntl.h>
#include <poll.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "bench_json.hpp"
#include "test_process.hpp"

namespace ft = floorgate::testing;
using Clock = std::chrono::steady_clock;

namespace {

constexpr int kBuses = 8;
constexpr int kPerBus = 8;
constexpr auto kSlot = std::chrono::milliseconds(5);  // 8 slots = 40 ms per address
constexpr auto kWarmup = std::chrono::seconds(2);
constexpr auto kMeasure = std::chrono::seconds(10);

long cpu_ticks(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto close_paren = stat.rfind(')');
  if (close_paren == std::string::npos) return -1;
  std::istringstream rest(stat.substr(close_paren + 2));
  std::string field;
  long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stol(field);
    if (i == 15) stime = std::stol(field);
  }
  return utime + stime;
}

std::string sim_binary() {
  if (const char* dir = std::getenv("FLOORGATE_BUILD_DIR")) {
    return std::string(dir) + "/firmware-host/egm-sim/floorgate-egm-sim";
  }
  return ft::build_path("firmware-host/egm-sim/floorgate-egm-sim");
}

}  // namespace

int main() {
  ft::TempDir dir;
  std::vector<std::string> argv{sim_binary(), "--rate", "1", "--seed", "42"};
  std::vector<std::string> ptys;
  for (int b = 0; b < kBuses; ++b) {
    ptys.push_back((dir / ("sas" + std::to_string(b))).string());
    argv.push_back("--pty");
    argv.push_back(ptys.back());
    for (int a = 1; a <= kPerBus; ++a) {
      argv.push_back("--egm");
      argv.push_back(std::to_string(a));
    }
  }
  ft::ChildProcess sim(argv, (dir / "sim.log").string(), (dir / "sim.log").string());
  if (!ft::wait_until([&] {
        for (const auto& p : ptys) {
          if (access(p.c_str(), F_OK) != 0) return false;
        }
        return true;
      })) {
    std::fprintf(stderr, "sim bench: simulator did not start (%s)\n", sim_binary().c_str());
    return 1;
  }
  std::vector<pollfd> fds;
  for (const auto& p : ptys) {
    int fd = ::open(p.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK);
    if (fd < 0) return 1;
    ::tcflush(fd, TCIOFLUSH);
    fds.push_back({fd, POLLIN, 0});
  }
  long polls = 0, answer_bytes = 0;
  int slot = 0;
  auto start = Clock::now();
  auto measure_from = start + kWarmup;
  auto end = measure_from + kMeasure;
  auto next = start;
  long t0 = -1;
  long polls_at_t0 = 0, bytes_at_t0 = 0;
  while (Clock::now() < end) {
    auto now = Clock::now();
    if (t0 < 0 && now >= measure_from) {
      t0 = cpu_ticks(sim.pid());
      polls_at_t0 = polls;
      bytes_at_t0 = answer_bytes;
    }
    if (now >= next) {
      std::uint8_t gp[3] = {0xFF, 0x00, static_cast<std::uint8_t>(0x80 | (slot % kPerBus + 1))};
      for (auto& p : fds) {
        if (::write(p.fd, gp, 3) == 3) ++polls;
      }
      ++slot;
      next += kSlot;
    }
    auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(next - Clock::now());
    if (::poll(fds.data(), fds.size(), static_cast<int>(std::max<long>(0, wait.count()))) > 0) {
      for (auto& p : fds) {
        if (!(p.revents & POLLIN)) continue;
        std::uint8_t buf[256];
        ssize_t n = ::read(p.fd, buf, sizeof buf);
        if (n > 0) answer_bytes += n;
      }
    }
  }
  long t1 = cpu_ticks(sim.pid());
  double secs = std::chrono::duration<double>(kMeasure).count();
  double pct = 100.0 * static_cast<double>(t1 - t0) / static_cast<double>(sysconf(_SC_CLK_TCK)) /
               secs;
  long measured_polls = polls - polls_at_t0;
  std::fprintf(stderr, "sim bench: %ld polls in %.0f s (%.0f/s), %ld answer bytes\n",
               measured_polls, secs, static_cast<double>(measured_polls) / secs,
               answer_bytes - bytes_at_t0);
  floorgate::testing::print_figure("sim.cpu_pct_64egm", pct, "%");
  floorgate::testing::print_figure("sim.polls_per_s", static_cast<double>(measured_polls) / secs,
                                   "1/s");
  for (auto& p : fds) ::close(p.fd);
  sim.kill(SIGTERM);
  sim.wait();
  return 0;
}
