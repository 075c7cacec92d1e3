// SAS benchmarks (group `sas`, run by tests/bench/groups/sas): codec throughput, and the driver
// polling 64 simulated EGMs (16 multi-drop ptys x 4) for poll-rate ratio and CPU use.
#include <sys/resource.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "bench_json.hpp"
#include "floorgate/drivers/sas/bus.hpp"
#include "floorgate/drivers/sas/codec.hpp"
#include "test_process.hpp"

namespace asio = boost::asio;
using namespace floorgate::drivers;
using floorgate::testing::print_figure;

namespace {

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// Frames per second through the parser (CRC included), a realistic mix of answers.
double codec_frames_per_s() {
  std::vector<std::pair<sas::Expectation, std::vector<std::uint8_t>>> frames;
  frames.push_back({{1, true, 0, false}, {0x7E}});
  frames.push_back({{1, true, 0, false}, {0x00}});
  std::vector<std::uint8_t> m{0x01, 0x2F, 0x07, 0x00, 0x00, 0x0C, 0x00, 0x00, 0x12, 0x34};
  sas::append_crc(m);
  frames.push_back({{1, false, 0x2F, false}, m});
  std::vector<std::uint8_t> r{0x01, 0xFF, 0x4F, 0x37, 0x04, 0x00, 0x00, 0x00, 0x05};
  sas::append_crc(r);
  frames.push_back({{1, true, 0, true}, r});
  std::vector<std::uint8_t> c{0x01, 0x1A, 0x00, 0x00, 0x12, 0x34};
  sas::append_crc(c);
  frames.push_back({{1, false, 0x1A, false}, c});
  std::uint64_t n = 0, ok = 0;
  auto start = std::chrono::steady_clock::now();
  double elapsed = 0;
  while (elapsed < 1.0) {
    for (int k = 0; k < 100000; ++k) {
      const auto& f = frames[n % frames.size()];
      ok += sas::parse_response(f.first, f.second).status == sas::ParseStatus::complete;
      ++n;
    }
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  if (ok != n) std::fprintf(stderr, "sas_bench: codec rejected frames\n");
  return static_cast<double>(n) / elapsed;
}

class CountingSink : public EventSink {
 public:
  explicit CountingSink(asio::io_context& io) : io_(io) {}
  void submit(Event, DurableHandler h) override {
    ++events;
    asio::post(io_, [h = std::move(h), s = events] { h({}, s); });
  }
  std::uint64_t events = 0;

 private:
  asio::io_context& io_;
};

std::uint64_t total_polls(const std::vector<std::unique_ptr<sas::Bus>>& buses) {
  std::uint64_t n = 0;
  for (const auto& b : buses) {
    for (const auto& s : b->status()) n += s.polls;
  }
  return n;
}

}  // namespace

int main() {
  print_figure("sas.codec_frames_per_s", codec_frames_per_s(), "frames/s");

  constexpr int kBuses = 16, kPerBus = 4, kEgms = kBuses * kPerBus;
  constexpr double kWindowS = 10.0, kPeriodS = 0.2;
  floorgate::testing::TempDir dir;
  std::vector<std::string> args{floorgate::testing::build_path("firmware-host/egm-sim/floorgate-egm-sim")};
  std::vector<std::string> ptys;
  for (int b = 0; b < kBuses; ++b) {
    ptys.push_back((dir / ("bus" + std::to_string(b))).string());
    args.insert(args.end(), {"--pty", ptys.back()});
    for (int k = 0; k < kPerBus; ++k) args.insert(args.end(), {"--egm", std::to_string(1 + b * kPerBus + k)});
  }
  args.insert(args.end(), {"--rate", std::to_string(10.0 / kEgms), "--seed", "5"});
  std::string log = (dir / "sim.log").string();
  floorgate::testing::ChildProcess sim(args, log, log);
  if (!floorgate::testing::wait_until([&] {
        std::ifstream in(log);
        std::string all((std::istreambuf_iterator<char>(in)), {});
        return all.find("ready") != std::string::npos;
      })) {
    std::fprintf(stderr, "sas_bench: simulator did not start\n");
    return 1;
  }
  asio::io_context io(1);
  auto guard = asio::make_work_guard(io);
  CountingSink sink(io);
  std::vector<std::unique_ptr<sas::Bus>> buses;
  for (int b = 0; b < kBuses; ++b) {
    sas::BusConfig cfg;
    cfg.link = sas::BusConfig::Link::pty;
    cfg.port = ptys[static_cast<std::size_t>(b)];
    for (int k = 0; k < kPerBus; ++k) {
      sas::EgmConfig e;
      e.address = static_cast<std::uint8_t>(1 + b * kPerBus + k);
      e.id = "egm-" + std::to_string(e.address);
      e.poll_period = std::chrono::milliseconds(200);
      cfg.egms.push_back(e);
    }
    buses.push_back(std::make_unique<sas::Bus>(io.get_executor(), cfg, sink));
    buses.back()->start();
  }
  io.run_for(std::chrono::seconds(5));  // warm-up: links up, identification, first meters
  std::uint64_t polls0 = total_polls(buses);
  double cpu0 = cpu_seconds();
  auto t0 = std::chrono::steady_clock::now();
  io.run_for(std::chrono::milliseconds(static_cast<int>(kWindowS * 1000)));
  double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double cpu = cpu_seconds() - cpu0;
  std::uint64_t polls = total_polls(buses) - polls0;
  for (auto& b : buses) b->stop();
  double expected = kEgms * wall / kPeriodS;
  print_figure("sas.poll_rate_ratio", static_cast<double>(polls) / expected, "ratio");
  print_figure("sas.cpu_pct_64egm", 100.0 * cpu / wall, "%");
  std::fprintf(stderr, "sas_bench: %llu polls in %.1f s for %d EGMs, %llu events\n",
               static_cast<unsigned long long>(polls), wall, kEgms,
               static_cast<unsigned long long>(sink.events));
  return 0;
}
