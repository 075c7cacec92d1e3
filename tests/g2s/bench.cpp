// Benchmark g2s.event_rate: 32 simulated EGMs (one simulator process) each report a burst of
// persisted events; every event goes EGM POST -> Host -> durable (fdatasync'ed journal,
// grouped per loop turn) -> eventAck -> the EGM sends the next. Figure: events/s end to end.
#include <boost/asio/io_context.hpp>

#include <cstdio>
#include <fstream>
#include <regex>

#include "bench_json.hpp"
#include "store_sink.hpp"
#include "harness.hpp"

using namespace floorgate;

int main(int argc, char** argv) {
  const int kEgms = argc > 2 ? std::atoi(argv[2]) : 32;
  const int per_egm = argc > 1 ? std::atoi(argv[1]) : 200;
  testing::TempDir dir;
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  store::Options so;
  so.path = dir / "events.db";
  std::error_code sec;
  auto st = store::Store::open(so, sec);
  if (!st) {
    std::fprintf(stderr, "store open: %s\n", sec.message().c_str());
    return 1;
  }
  g2stest::StoreSink sink(io.get_executor(), *st);
  drivers::g2s::HostConfig cfg;
  cfg.keepalive = std::chrono::seconds(5);
  for (int i = 1; i <= kEgms; ++i) {
    char id[32];
    std::snprintf(id, sizeof id, "SIM_%04d", i);
    cfg.egms.push_back({"bench-" + std::to_string(i), id, ""});
  }
  drivers::g2s::Host host(io.get_executor(), cfg, sink, g2stest::wall_ms);
  if (auto ec = host.start()) {
    std::fprintf(stderr, "host start: %s\n", ec.message().c_str());
    return 1;
  }
  std::thread loop([&] { io.run(); });
  auto call = [&](auto f) {
    std::promise<decltype(f())> p;
    boost::asio::post(io, [&] { p.set_value(f()); });
    return p.get_future().get();
  };
  int port = call([&] { return host.port(); });
  testing::ChildProcess sim({g2stest::sim_path(), "--host-url", "http://127.0.0.1:" + std::to_string(port) + "/G2S",
                             "--count", std::to_string(kEgms), "--resend-ms", "5000", "--heartbeat-ms", "200"},
                            (dir / "sim.out").string(), (dir / "sim.err").string());
  auto all_up = [&] {
    return call([&] {
      for (auto& s : host.status()) {
        if (!s.link_up) return false;
      }
      return true;
    });
  };
  auto shutdown = [&] {
    sim.kill(SIGTERM);
    sim.wait();
    call([&] { host.stop(); return 0; });
    work.reset();
    io.stop();
    loop.join();
    st->close();
  };
  if (!testing::wait_until(all_up, std::chrono::seconds(60))) {
    std::fprintf(stderr, "not all EGMs came online\n");
    shutdown();
    return 1;
  }
  std::vector<int> ports;
  testing::wait_until([&] {
    ports.clear();
    std::ifstream f(dir / "sim.out");
    std::regex re("listening on 127.0.0.1:(\\d+)");
    for (std::string l; std::getline(f, l);) {
      std::smatch m;
      if (std::regex_search(l, m, re)) ports.push_back(std::stoi(m[1]));
    }
    return static_cast<int>(ports.size()) == kEgms;
  });
  for (int p : ports) testing::wait_until([&] { return g2stest::http_post(p, "/control", "status").body.find("\"subscribed\":true") != std::string::npos; });
  auto committed = [&] {
    return call([&] {
      std::uint64_t n = 0;
      for (auto& s : host.status()) n += s.events_committed;
      return n;
    });
  };
  std::uint64_t base = committed();
  auto t0 = std::chrono::steady_clock::now();
  for (int p : ports) g2stest::http_post(p, "/control", "event G2S_CBE309 " + std::to_string(per_egm));
  std::uint64_t target = base + static_cast<std::uint64_t>(kEgms) * per_egm;
  bool ok = testing::wait_until([&] { return committed() >= target; }, std::chrono::seconds(300));
  auto t1 = std::chrono::steady_clock::now();
  // Wait for the last eventAcks to land so the figure covers the whole round trip.
  for (int p : ports) testing::wait_until([&] { return g2stest::http_post(p, "/control", "status").body.find("\"queued\":0,") != std::string::npos; }, std::chrono::seconds(30));
  auto t2 = std::chrono::steady_clock::now();
  double secs = std::chrono::duration<double>(t2 - t0).count();
  std::fprintf(stderr, "g2s bench: %llu events committed in %.3f s (acks drained at %.3f s)%s\n",
               static_cast<unsigned long long>(committed() - base),
               std::chrono::duration<double>(t1 - t0).count(), secs, ok ? "" : " [TIMEOUT]");
  testing::print_figure("g2s.event_rate", ok ? (static_cast<double>(kEgms) * per_egm) / secs : 0, "events/s");
  shutdown();
  return ok ? 0 : 1;
}
