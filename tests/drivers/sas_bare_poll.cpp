// fg-bench-bare-poll: the bare reference for benchmark figure efficiency.cpu_us_per_poll
// (issue 19). One thread polls idle simulated machines the way the daemon does, and does
// nothing else: a SAS general poll (the address byte with the wakeup bit, sent on the link as
// the escape FF 00 then the byte) to each machine once per period, one exchange in flight per
// bus, the bus's next due poll written as soon as an answer is read, and every other poll on a
// wake grid shared by the buses (one timerfd, epoll). No decoding, no state, no events: what
// remains is the system calls and wake-ups a poll cannot avoid on this machine.
// Prints one JSON line over the measured part of the run (after a one-second warm-up):
//   {"polls":N,"answers":N,"timeouts":N,"cpu_s":X,"wall_s":Y,"switches":N}
// Usage: fg-bench-bare-poll --bus PATH:ADDR,ADDR,... [--bus ...] [--period-ms 40] [--grid-ms 5]
//                           --seconds S
#include <fcntl.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/timerfd.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using Ns = std::int64_t;
constexpr Ns kMs = 1'000'000;
constexpr Ns kReplyTimeout = 20 * kMs;

// The daemon's engine keeps time in whole milliseconds (core::steady_now_ms), so a sub-ms
// exchange ends in the millisecond it began and the next poll falls due on the same grid
// point: the reference does the same, or it would poll 5 % slower.
Ns floor_ms(Ns t) { return t / kMs * kMs; }

Ns now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<Ns>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

struct Usage {
  double cpu_s = 0;
  long switches = 0;
};

Usage usage() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return {static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
              static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6,
          ru.ru_nvcsw + ru.ru_nivcsw};
}

struct Bus {
  int fd = -1;
  std::vector<int> addrs;
  std::vector<Ns> due;  // next poll of addrs[i]
  std::size_t next = 0;  // round-robin start of the search for a due machine
  std::size_t current = 0;
  bool in_flight = false;
  Ns sent_at = 0;
};

struct Counts {
  std::uint64_t polls = 0, answers = 0, timeouts = 0;
};

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fg-bench-bare-poll: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

Bus open_bus(const std::string& spec) {
  const auto colon = spec.rfind(':');
  if (colon == std::string::npos) {
    std::fprintf(stderr, "fg-bench-bare-poll: --bus wants PATH:ADDR,ADDR,...\n");
    std::exit(2);
  }
  Bus b;
  b.fd = ::open(spec.substr(0, colon).c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (b.fd < 0) fail(spec.c_str());
  termios t{};
  if (::tcgetattr(b.fd, &t) == 0) {
    ::cfmakeraw(&t);
    ::tcsetattr(b.fd, TCSANOW, &t);
  }
  ::tcflush(b.fd, TCIFLUSH);
  std::string list = spec.substr(colon + 1);
  for (std::size_t p = 0; p < list.size();) {
    std::size_t q = list.find(',', p);
    if (q == std::string::npos) q = list.size();
    b.addrs.push_back(std::atoi(list.substr(p, q - p).c_str()));
    p = q + 1;
  }
  return b;
}

// Writes the next due poll of an idle bus, if one is due.
void send_due(Bus& b, Ns now, Counts& c) {
  if (b.in_flight) return;
  for (std::size_t k = 0; k < b.addrs.size(); ++k) {
    const std::size_t i = (b.next + k) % b.addrs.size();
    if (b.due[i] > now) continue;
    const unsigned char frame[3] = {0xFF, 0x00, static_cast<unsigned char>(0x80 | b.addrs[i])};
    if (::write(b.fd, frame, sizeof frame) != static_cast<ssize_t>(sizeof frame)) {
      fail("write");
    }
    b.in_flight = true;
    b.sent_at = now;
    b.current = i;
    b.next = i + 1;
    ++c.polls;
    return;
  }
}

// The next wake-up: a reply timeout, or the earliest due poll rounded up to the grid.
Ns next_wake(const std::vector<Bus>& buses, Ns grid) {
  Ns wake = INT64_MAX;
  for (const Bus& b : buses) {
    if (b.in_flight) {
      wake = std::min(wake, b.sent_at + kReplyTimeout);
      continue;
    }
    for (Ns d : b.due) wake = std::min(wake, grid > 0 ? (d + grid - 1) / grid * grid : d);
  }
  return wake;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<Bus> buses;
  Ns period = 40 * kMs, grid = 5 * kMs;
  double seconds = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--bus") {
      buses.push_back(open_bus(argv[i + 1]));
    } else if (k == "--period-ms") {
      period = std::atoll(argv[i + 1]) * kMs;
    } else if (k == "--grid-ms") {
      grid = std::atoll(argv[i + 1]) * kMs;
    } else if (k == "--seconds") {
      seconds = std::atof(argv[i + 1]);
    }
  }
  if (buses.empty() || seconds <= 0 || period <= 0) {
    std::fprintf(stderr,
                 "usage: fg-bench-bare-poll --bus PATH:ADDR,... [--period-ms 40] [--grid-ms 5] "
                 "--seconds S\n");
    return 2;
  }
  const int ep = epoll_create1(EPOLL_CLOEXEC);
  const int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (ep < 0 || tfd < 0) fail("epoll/timerfd");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = buses.size();  // the timer
  if (epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev) != 0) fail("epoll_ctl");
  const Ns start = now_ns();
  for (std::size_t n = 0; n < buses.size(); ++n) {
    Bus& b = buses[n];
    // Spread over the first period, as the daemon's machines are after their resume polls.
    for (std::size_t i = 0; i < b.addrs.size(); ++i) {
      b.due.push_back(start + period * static_cast<Ns>(i) / static_cast<Ns>(b.addrs.size()));
    }
    ev.data.u64 = n;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, b.fd, &ev) != 0) fail("epoll_ctl");
  }
  const Ns measure_from = start + 1000 * kMs;
  const Ns end = measure_from + static_cast<Ns>(seconds * 1e9);
  Counts c, at_start;
  Usage u0{};
  bool measuring = false;
  Ns armed = 0, measured_at = 0;
  epoll_event events[16];
  unsigned char buf[256];
  for (;;) {
    Ns now = now_ns();
    if (!measuring && now >= measure_from) {
      measuring = true;
      at_start = c;
      u0 = usage();
      measured_at = now;
    }
    if (now >= end) break;
    for (Bus& b : buses) {
      if (b.in_flight && now - b.sent_at >= kReplyTimeout) {
        b.in_flight = false;
        b.due[b.current] = floor_ms(now) + period;
        ++c.timeouts;
      }
      send_due(b, now, c);
    }
    const Ns wake = std::min(next_wake(buses, grid), end);
    if (wake != armed) {
      itimerspec its{};
      its.it_value.tv_sec = wake / 1'000'000'000;
      its.it_value.tv_nsec = wake % 1'000'000'000;
      if (timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, nullptr) != 0) fail("timerfd_settime");
      armed = wake;
    }
    const int n = epoll_wait(ep, events, 16, -1);
    if (n < 0 && errno != EINTR) fail("epoll_wait");
    now = now_ns();
    for (int i = 0; i < n; ++i) {
      if (events[i].data.u64 == buses.size()) {
        std::uint64_t ticks = 0;
        (void)::read(tfd, &ticks, sizeof ticks);
        armed = 0;
        continue;
      }
      Bus& b = buses[events[i].data.u64];
      const ssize_t got = ::read(b.fd, buf, sizeof buf);
      if (got <= 0 || !b.in_flight) continue;  // a late or second part of an answer
      b.in_flight = false;
      b.due[b.current] = floor_ms(now) + period;
      ++c.answers;
    }
  }
  const Usage u1 = usage();
  std::printf(
      "{\"polls\":%llu,\"answers\":%llu,\"timeouts\":%llu,\"cpu_s\":%.4f,\"wall_s\":%.3f,"
      "\"switches\":%ld}\n",
      static_cast<unsigned long long>(c.polls - at_start.polls),
      static_cast<unsigned long long>(c.answers - at_start.answers),
      static_cast<unsigned long long>(c.timeouts - at_start.timeouts), u1.cpu_s - u0.cpu_s,
      static_cast<double>(now_ns() - measured_at) / 1e9, u1.switches - u0.switches);
  return 0;
}
