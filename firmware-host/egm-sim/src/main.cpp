// floorgate-egm-sim: virtual SAS gaming machines on ptys and TCP. main() only wires parts:
// options (and scenario) -> Simulator -> one link per bus from the link-kind table ->
// control socket -> one io_context on one thread.
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "control_server.hpp"
#include "link.hpp"
#include "options.hpp"
#include "scenario.hpp"
#include "simulator.hpp"

namespace {

using floorgate::sim::LinkStarter;

// Link kinds a bus can be served on. Another protocol (e.g. G2S machines) adds one row here.
struct LinkKind {
  std::string_view name;
  LinkStarter start;
};
constexpr LinkKind kLinkKinds[] = {
    {"pty", &floorgate::sim::start_pty_link},
    {"tcp", &floorgate::sim::start_tcp_link},
};

const LinkKind* find_link_kind(std::string_view name) {
  for (const LinkKind& k : kLinkKinds) {
    if (k.name == name) return &k;
  }
  return nullptr;
}

// Ticks the simulator (timeline, random traffic, chirps) every 20 ms on the loop.
void schedule_tick(boost::asio::steady_timer& t, floorgate::sim::Simulator& sim) {
  t.expires_after(std::chrono::milliseconds(20));
  t.async_wait([&t, &sim](const boost::system::error_code& ec) {
    if (ec) return;
    sim.tick();
    schedule_tick(t, sim);
  });
}

}  // namespace

int main(int argc, char** argv) {
  namespace sim = floorgate::sim;
  sim::Options opt;
  std::string error;
  if (!sim::parse_options({argv + 1, argv + argc}, opt, error)) {
    std::fprintf(stderr, "floorgate-egm-sim: %s\n", error.c_str());
    return 2;
  }
  if (opt.help) {
    std::fputs(sim::usage().c_str(), stdout);
    return 0;
  }
  if (!opt.scenario.empty() && !sim::load_scenario(opt.scenario, opt, error)) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return 2;
  }
  if (!sim::validate_config(opt.sim, error)) {
    std::fprintf(stderr, "floorgate-egm-sim: %s\n", error.c_str());
    return 2;
  }
  boost::asio::io_context io(1);
  sim::Simulator simulator(opt.sim, floorgate::core::system_clock());
  std::vector<std::unique_ptr<sim::Link>> links;
  for (const auto& bus : simulator.buses()) {
    const LinkKind* kind = find_link_kind(bus->config().kind);
    std::error_code ec;
    auto link = kind ? kind->start(io, *bus, ec) : nullptr;
    if (!link) {
      std::fprintf(stderr, "floorgate-egm-sim: cannot start %s link at %s: %s\n",
                   bus->config().kind.c_str(), bus->config().target.c_str(),
                   kind ? ec.message().c_str() : "unknown link kind");
      return 1;
    }
    std::fprintf(stderr, "floorgate-egm-sim: bus %d on %s\n", bus->index(),
                 link->where().c_str());
    links.push_back(std::move(link));
  }
  sim::ControlServer control(io, simulator);
  if (!opt.sim.control_path.empty()) {
    std::error_code ec;
    if (!control.start(opt.sim.control_path, ec)) {
      std::fprintf(stderr, "floorgate-egm-sim: cannot open control socket %s: %s\n",
                   opt.sim.control_path.c_str(), ec.message().c_str());
      return 1;
    }
  }
  boost::asio::steady_timer ticker(io);
  schedule_tick(ticker, simulator);
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int) {
    ticker.cancel();
    control.stop();
    for (auto& l : links) l->stop();
    io.stop();
  });
  std::fprintf(stderr, "floorgate-egm-sim: ready\n");
  io.run();
  control.stop();
  for (auto& l : links) l->stop();
  return 0;
}
