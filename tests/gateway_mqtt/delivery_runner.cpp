// floorgate-delivery-runner: Delivery over a real store file, as its own process, so tests
// can SIGKILL it mid-stream and restart it. Optionally produces events at a given rate.
//
//   floorgate-delivery-runner --store F --port P --root R [--produce N] [--rate EV_PER_S]
//       [--consumer NAME[:required=0][:window=N][:ack_timeout_ms=N][:classes=a,b]]...
//
// Prints "produced last_seq=<seq>" once production finished; exits 0 on SIGTERM/SIGINT.
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "floorgate/gateway/delivery.hpp"

namespace fg = floorgate::gateway;
namespace store = floorgate::store;
namespace asio = boost::asio;

namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string part; std::getline(ss, part, sep);)
    if (!part.empty()) out.push_back(part);
  return out;
}

fg::ConsumerOptions parse_consumer(const std::string& spec) {
  auto parts = split(spec, ':');
  fg::ConsumerOptions c;
  c.name = parts.at(0);
  c.window = 500;
  c.ack_timeout = std::chrono::milliseconds(2000);
  for (std::size_t i = 1; i < parts.size(); ++i) {
    auto eq = parts[i].find('=');
    auto k = parts[i].substr(0, eq), v = parts[i].substr(eq + 1);
    if (k == "required") c.required = v != "0";
    if (k == "window") c.window = std::stoul(v);
    if (k == "ack_timeout_ms") c.ack_timeout = std::chrono::milliseconds(std::stol(v));
    if (k == "classes") c.route.classes = split(v, ',');
  }
  return c;
}

store::Record event(std::uint64_t i) {
  static const char* types[] = {"door.opened", "bill.stacked", "game.started", "meters.snapshot"};
  static const store::EventClass classes[] = {store::EventClass::security,
                                              store::EventClass::financial,
                                              store::EventClass::operational,
                                              store::EventClass::telemetry};
  store::Record r;
  r.egm = "egm-" + std::to_string(i % 8);
  r.type = types[i % 4];
  r.cls = classes[i % 4];
  r.ts_gw_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
  r.source = "sas:0x11";
  r.attrs_json = "{\"i\":" + std::to_string(i) + "}";
  r.raw_hex = "01ff";
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  std::string store_path, root = "floor/v1/test/gw1";
  int port = 1883;
  std::uint64_t produce = 0;
  double rate = 1000;
  std::vector<fg::ConsumerOptions> consumers;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--store") store_path = v;
    else if (k == "--port") port = std::stoi(v);
    else if (k == "--root") root = v;
    else if (k == "--produce") produce = std::stoull(v);
    else if (k == "--rate") rate = std::stod(v);
    else if (k == "--consumer") consumers.push_back(parse_consumer(v));
    else {
      std::cerr << "unknown option " << k << "\n";
      return 2;
    }
  }
  store::Options so;
  so.path = store_path;
  std::error_code ec;
  auto st = store::Store::open(so, ec);
  if (!st) {
    std::cerr << "cannot open store " << store_path << ": " << ec.message() << "\n";
    return 1;
  }
  asio::io_context ioc;
  fg::MqttOptions mo;
  mo.port = port;
  mo.topic_root = root;
  mo.client_id = "floorgate-runner";  // same id across restarts: the broker keeps its session
  mo.backoff_initial = std::chrono::milliseconds(100);
  mo.backoff_max = std::chrono::milliseconds(1000);
  mo.health_period = std::chrono::seconds(1);
  fg::Delivery delivery(ioc.get_executor(), *st, mo, consumers);
  delivery.start();

  // Producer: batches of events every 10 ms at the requested rate.
  asio::steady_timer timer(ioc);
  std::uint64_t queued = 0, durable = 0, last_seq = 0;
  auto t0 = std::chrono::steady_clock::now();
  std::function<void()> tick = [&] {
    auto due = static_cast<std::uint64_t>(
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() * rate);
    for (; queued < std::min(due, produce); ++queued) {
      st->append(event(queued), [&](std::error_code e, const store::Record& r) {
        asio::post(ioc, [&, e, seq = r.seq] {
          ++durable;
          if (!e) {
            last_seq = std::max(last_seq, seq);
            delivery.notify_appended(seq);
          }
          if (durable == produce) std::printf("produced last_seq=%llu\n",
                                              static_cast<unsigned long long>(last_seq)),
                                  std::fflush(stdout);
        });
      });
    }
    if (queued < produce) {
      timer.expires_after(std::chrono::milliseconds(10));
      timer.async_wait([&](boost::system::error_code e) { if (!e) tick(); });
    }
  };
  if (produce > 0) tick();
  else std::printf("produced last_seq=%llu\n", static_cast<unsigned long long>(st->stats().last_seq)), std::fflush(stdout);

  asio::signal_set signals(ioc, SIGTERM, SIGINT);
  signals.async_wait([&](boost::system::error_code, int) {
    timer.cancel();
    delivery.stop([&] { ioc.stop(); });
  });
  ioc.run();
  st->close();
  return 0;
}
