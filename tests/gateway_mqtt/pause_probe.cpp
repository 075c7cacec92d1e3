// fg-bench-pause-probe: the machine's own reference for the loop meter's figures (benchmark
// figure daemon.machine_pause_max_ms). The loop meter charges a handler with the CPU time
// its thread was charged (CLOCK_THREAD_CPUTIME_ID). On a virtual machine that reports no steal
// time (this development VM's /proc/stat steal column stays 0), a vCPU the hypervisor
// deschedules keeps charging the thread it was running; interrupt work the kernel does not
// account separately lands on the running thread too. Neither is the handler's work.
//
// This program does nothing but read the wall clock and the thread CPU clock back to back, in
// short busy stretches separated by sleeps (a duty cycle like a loop's). Between two reads
// that are normally a microsecond apart, a gap of a millisecond or more is either
//   - "charged": the thread's CPU clock advanced with the wall clock (at least 90 % of the
//     gap), so the thread was charged time no code of its own used; or
//   - "preempted": it did not, so the guest's scheduler ran something else (a gap the loop
//     meter does not count as CPU).
// Prints one JSON line at the end:
//   {"busy_s":X,"charged_max_ms":X,"charged_over_1ms":N,"charged_over_5ms":N,
//    "preempted_max_ms":X,"preempted_over_1ms":N}
// and one line on stderr per gap of 5 ms or more (wall time, both deltas).
// Usage: fg-bench-pause-probe --seconds S [--busy-us 200] [--sleep-us 1800]
#include <time.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace {

using Ns = std::int64_t;
constexpr Ns kUs = 1'000;
constexpr Ns kMs = 1'000'000;

Ns read_ns(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<Ns>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

struct Gaps {
  Ns busy = 0;
  Ns charged_max = 0, preempted_max = 0;
  long charged_over_1ms = 0, charged_over_5ms = 0, preempted_over_1ms = 0;

  void record(Ns at_wall, Ns wall, Ns cpu) {
    if (wall < kMs) return;
    const bool charged = cpu * 10 >= wall * 9;
    if (charged) {
      charged_max = std::max(charged_max, wall);
      ++charged_over_1ms;
      charged_over_5ms += wall >= 5 * kMs;
    } else {
      preempted_max = std::max(preempted_max, wall);
      ++preempted_over_1ms;
    }
    if (wall >= 5 * kMs) {
      std::fprintf(stderr, "%.3f s: gap %.2f ms wall, %.2f ms charged to the thread (%s)\n",
                   static_cast<double>(at_wall) / 1e9, static_cast<double>(wall) / 1e6,
                   static_cast<double>(cpu) / 1e6, charged ? "charged" : "preempted");
    }
  }
};

// One busy stretch of `busy` wall time: clock pairs read back to back.
void busy_stretch(Ns busy, Gaps& g) {
  const Ns start = read_ns(CLOCK_MONOTONIC);
  Ns prev_wall = start, prev_cpu = read_ns(CLOCK_THREAD_CPUTIME_ID);
  for (;;) {
    const Ns wall = read_ns(CLOCK_MONOTONIC);
    const Ns cpu = read_ns(CLOCK_THREAD_CPUTIME_ID);
    g.record(wall, wall - prev_wall, cpu - prev_cpu);
    prev_wall = wall;
    prev_cpu = cpu;
    if (wall - start >= busy) break;
  }
  g.busy += prev_wall - start;
}

long arg_long(int argc, char** argv, const char* name, long fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0) return std::strtol(argv[i + 1], nullptr, 10);
  }
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  const long seconds = arg_long(argc, argv, "--seconds", 0);
  const long busy_us = arg_long(argc, argv, "--busy-us", 200);
  const long sleep_us = arg_long(argc, argv, "--sleep-us", 1800);
  if (seconds <= 0 || busy_us <= 0 || sleep_us < 0 || sleep_us >= 1'000'000) {
    std::fprintf(stderr,
                 "usage: fg-bench-pause-probe --seconds S [--busy-us 200] [--sleep-us 1800]\n");
    return 2;
  }
  Gaps g;
  const Ns end = read_ns(CLOCK_MONOTONIC) + seconds * 1'000 * kMs;
  const timespec pause{0, sleep_us * kUs};
  while (read_ns(CLOCK_MONOTONIC) < end) {
    busy_stretch(busy_us * kUs, g);
    nanosleep(&pause, nullptr);
  }
  std::printf(
      "{\"busy_s\":%.3f,\"charged_max_ms\":%.3f,\"charged_over_1ms\":%ld,"
      "\"charged_over_5ms\":%ld,\"preempted_max_ms\":%.3f,\"preempted_over_1ms\":%ld}\n",
      static_cast<double>(g.busy) / 1e9, static_cast<double>(g.charged_max) / 1e6,
      g.charged_over_1ms, g.charged_over_5ms, static_cast<double>(g.preempted_max) / 1e6,
      g.preempted_over_1ms);
  return 0;
}
