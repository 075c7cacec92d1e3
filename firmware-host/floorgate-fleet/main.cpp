// floorgate-fleet: a live table of a floor of gateways for central engineers (issue 23):
// gateway, state, EGMs up/total, events/s, and per consumer unacked, oldest unacked age,
// backlog growth per minute and the time to clear it, from each gateway's retained
// <root>/status and its <root>/health (docs/mqtt.md, docs/scale.md).
//
//   floorgate-fleet [--broker HOST:PORT ...] [--username U --password-file F]
//                   [--prefix floor/v1] [--site SITE] [--interval S]
//                   [--once [--json] [--expect N] [--wait S]]
//
// --once prints one table (or JSON) and exits: as soon as N gateways (--expect) have sent two
// health messages, or after --wait seconds (default 30) with what it has. Exit status 0; 1 when
// --expect was not reached in time; 2 on usage errors.
#include <mosquitto.h>
#include <unistd.h>

#include <boost/json/serialize.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <thread>
#include <string>
#include <vector>

#include "fleet_view.hpp"

namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Options {
  std::vector<std::pair<std::string, int>> brokers;
  std::string username, password, prefix = "floor/v1", site = "+";
  double interval_s = 2, wait_s = 30;
  bool once = false, json = false;
  std::size_t expect = 0;
};

struct Context {
  floorgate::fleet::FleetView view;
  std::string prefix, site;
};

constexpr const char* kUsage =
    "usage: floorgate-fleet [--broker HOST:PORT ...] [--username U --password-file F]\n"
    "                       [--prefix floor/v1] [--site SITE] [--interval S]\n"
    "                       [--once [--json] [--expect N] [--wait S]]\n";

bool parse(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
      return argv[++i];
    };
    if (a == "--broker") {
      const std::string b = next();
      const auto colon = b.rfind(':');
      if (colon == std::string::npos) throw std::invalid_argument("--broker wants HOST:PORT");
      o.brokers.emplace_back(b.substr(0, colon), std::stoi(b.substr(colon + 1)));
    } else if (a == "--username") {
      o.username = next();
    } else if (a == "--password-file") {
      std::ifstream in(next());
      std::getline(in, o.password);
    } else if (a == "--prefix") {
      o.prefix = next();
    } else if (a == "--site") {
      o.site = next();
    } else if (a == "--interval") {
      o.interval_s = std::stod(next());
    } else if (a == "--wait") {
      o.wait_s = std::stod(next());
    } else if (a == "--expect") {
      o.expect = static_cast<std::size_t>(std::stoul(next()));
    } else if (a == "--once") {
      o.once = true;
    } else if (a == "--json") {
      o.json = true;
    } else if (a == "--help" || a == "-h") {
      std::cout << kUsage;
      std::exit(0);
    } else {
      throw std::invalid_argument("unknown option " + a);
    }
  }
  if (o.brokers.empty()) o.brokers.emplace_back("127.0.0.1", 1883);
  return true;
}

// Gateways that sent two health messages (so their event rate is known).
std::size_t complete(const floorgate::fleet::FleetView& v, std::int64_t now) {
  std::size_t n = 0;
  const auto j = v.to_json(now);
  for (const auto& g : j.at("gateways").as_array()) {
    n += g.as_object().at("events_per_s").is_number() ? 1 : 0;
  }
  return n;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  try {
    parse(argc, argv, o);
  } catch (const std::exception& e) {
    std::cerr << "floorgate-fleet: " << e.what() << '\n' << kUsage;
    return 2;
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  mosquitto_lib_init();
  Context ctx{floorgate::fleet::FleetView(o.prefix), o.prefix, o.site};
  mosquitto* m = mosquitto_new(nullptr, true, &ctx);
  if (!o.username.empty()) mosquitto_username_pw_set(m, o.username.c_str(), o.password.c_str());
  mosquitto_connect_callback_set(m, [](mosquitto* mq, void* ud, int rc) {
    if (rc != 0) return;
    auto& c = *static_cast<Context*>(ud);
    for (const char* kind : {"status", "health"}) {
      const std::string t = c.prefix + "/" + c.site + "/+/" + kind;
      mosquitto_subscribe(mq, nullptr, t.c_str(), 0);
    }
  });
  mosquitto_message_callback_set(m, [](mosquitto*, void* ud, const mosquitto_message* msg) {
    auto& c = *static_cast<Context*>(ud);
    c.view.on_message(msg->topic,
                      std::string_view(static_cast<const char*>(msg->payload),
                                       static_cast<std::size_t>(msg->payloadlen)),
                      now_ms());
  });
  std::size_t broker = 0;
  mosquitto_connect(m, o.brokers[0].first.c_str(), o.brokers[0].second, 10);
  const auto start = std::chrono::steady_clock::now();
  auto last_print = start;
  const bool tty = ::isatty(STDOUT_FILENO);
  int rc = 0;
  while (!g_stop) {
    if (mosquitto_loop(m, 100, 1) != MOSQ_ERR_SUCCESS) {
      // Lost or refused: the next broker of the list after a pause (the retry interval).
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
      broker = (broker + 1) % o.brokers.size();
      mosquitto_connect(m, o.brokers[broker].first.c_str(), o.brokers[broker].second, 10);
    }
    const auto now = std::chrono::steady_clock::now();
    const double elapsed = std::chrono::duration<double>(now - start).count();
    if (o.once) {
      const bool done = o.expect > 0 ? complete(ctx.view, now_ms()) >= o.expect : false;
      if (done || elapsed >= o.wait_s) {
        if (o.expect > 0 && !done) rc = 1;
        break;
      }
      continue;
    }
    if (std::chrono::duration<double>(now - last_print).count() >= o.interval_s) {
      last_print = now;
      if (tty) std::cout << "\x1b[H\x1b[2J";
      std::cout << ctx.view.to_table(now_ms()) << std::flush;
    }
  }
  if (o.once) {
    if (o.json) {
      std::cout << boost::json::serialize(ctx.view.to_json(now_ms())) << '\n';
    } else {
      std::cout << ctx.view.to_table(now_ms());
    }
    if (rc) std::cerr << "floorgate-fleet: " << complete(ctx.view, now_ms()) << " of " << o.expect
                      << " gateways seen within " << o.wait_s << " s\n";
  }
  mosquitto_disconnect(m);
  mosquitto_destroy(m);
  mosquitto_lib_cleanup();
  return rc;
}
