// Benchmark group `mqtt` (tests/bench/groups/mqtt): one local Mosquitto, one run.
//   mqtt.bare_rate          bare libmosquitto QoS 1 publisher (20 in flight) -> QoS 1 subscriber
//                           (median of three rounds, each next to a delivery run)
//   mqtt.delivery_rate      store -> Delivery -> broker -> acking consumer, one consumer (median)
//   mqtt.delivery_ratio     median of the rounds' delivery/bare ratios     (target >= 0.8)
//   mqtt.drain_ratio        1M backlog drain rate / bare_rate              (target >= 0.8)
//   mqtt.drain_rss_ratio    peak RSS draining 1M / draining 100k           (target <= 1.1)
//   mqtt.latency_p99_ms     store commit -> consumer receipt at 2,000 ev/s (target <= 20)
// Env: FLOORGATE_BENCH_SCALE (default 1.0) scales the event counts for quick runs.
#include <mosquitto.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "bench_json.hpp"
#include "floorgate/gateway/mqtt_codec.hpp"
#include "harness.hpp"
#include "mosquitto_broker.hpp"

namespace fg = floorgate::gateway;
namespace store = floorgate::store;
using namespace floorgate::testing;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

const std::string kRoot = "floor/v1/bench/gw1";

double scale() {
  const char* s = std::getenv("FLOORGATE_BENCH_SCALE");
  return s ? std::max(0.001, std::atof(s)) : 1.0;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

std::size_t rss_kb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stoul(line.substr(6));
  return 0;
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::string sample_payload() {
  auto r = make_event(1);
  r.seq = 123456;
  r.epoch = 1;
  return fg::encode_event(r);
}

// A bare libmosquitto QoS 1 publisher keeping 20 messages in flight, to a QoS 1 subscriber.
double bare_rate(int port, int n) {
  TestClient::Options so;
  so.port = port;
  so.id = "bare-sub";
  so.subscriptions = {"bench/bare"};
  TestClient sub(so);
  sub.set_recording(false);
  struct Pub {
    std::mutex mu;
    std::condition_variable cv;
    int inflight = 0;
  } st;
  mosquitto* m = mosquitto_new("bare-pub", true, &st);
  mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
  mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
  mosquitto_publish_v5_callback_set(m, [](mosquitto*, void* obj, int, int, const mosquitto_property*) {
    auto* p = static_cast<Pub*>(obj);
    std::lock_guard l(p->mu);
    --p->inflight;
    p->cv.notify_one();
  });
  mosquitto_connect(m, "127.0.0.1", port, 30);
  mosquitto_loop_start(m);
  auto payload = sample_payload();
  auto t0 = Clock::now();
  for (int i = 0; i < n; ++i) {
    {
      std::unique_lock l(st.mu);
      st.cv.wait(l, [&] { return st.inflight < 20; });
      ++st.inflight;
    }
    mosquitto_publish(m, nullptr, "bench/bare", static_cast<int>(payload.size()), payload.data(), 1,
                      false);
  }
  wait_until([&] { return sub.received() >= static_cast<std::uint64_t>(n); }, 120s);
  double rate = n / seconds_since(t0);
  mosquitto_disconnect(m);
  mosquitto_loop_stop(m, false);
  mosquitto_destroy(m);
  return rate;
}

std::unique_ptr<store::Store> open_store(const std::filesystem::path& p) {
  store::Options o;
  o.path = p;
  o.retention_interval = std::chrono::hours(24);
  std::error_code ec;
  auto s = store::Store::open(o, ec);
  if (!s) {
    std::fprintf(stderr, "store open failed: %s\n", ec.message().c_str());
    std::exit(1);
  }
  return s;
}

// Appends n events in chunks (bounded memory), waits until durable; returns the last seq.
std::uint64_t fill(store::Store& s, std::size_t n) {
  std::atomic<std::size_t> done{0};
  std::atomic<std::uint64_t> last{0};
  for (std::size_t i = 0; i < n; ++i) {
    s.append(make_event(static_cast<int>(i)), [&](std::error_code, const store::Record& r) {
      std::uint64_t cur = last.load();
      while (r.seq > cur && !last.compare_exchange_weak(cur, r.seq)) {
      }
      ++done;
    });
    if (i % 5000 == 4999) wait_until([&] { return done + 5000 > i; }, 60s);
  }
  wait_until([&] { return done == n; }, 600s);
  return last;
}

std::uint64_t acked(store::Store& s, const std::string& name) {
  for (auto& c : s.stats().consumers)
    if (c.name == name) return c.acked_upto;
  return 0;
}

struct DrainResult {
  double rate = 0;
  std::size_t peak_rss_kb = 0;
};

// Delivers a pre-filled store to one acking consumer; times until the last ack is durable.
DrainResult drain(int port, store::Store& s, std::uint64_t last, std::size_t window) {
  TestClient::Options co;
  co.port = port;
  co.id = "bench-consumer";
  co.subscriptions = {kRoot + "/c/a/#"};
  co.ack_topic = kRoot + "/ack/a";
  co.ack_every = 100;
  co.track_seqs = false;
  TestClient consumer(co);
  consumer.set_recording(false);
  auto mo = mqtt_options(port, kRoot);
  mo.client_id = "bench-gw";
  auto c = floorgate::testing::consumer("a", {}, window);
  c.ack_timeout = 30s;
  std::atomic<bool> sampling{true};
  std::atomic<std::size_t> peak{rss_kb()};
  std::thread sampler([&] {
    while (sampling) {
      peak = std::max(peak.load(), rss_kb());
      std::this_thread::sleep_for(20ms);
    }
  });
  auto t0 = Clock::now();
  DeliveryHarness h(s, mo, {c});
  h.notify(last);
  wait_until([&] {
    if (consumer.max_seq() == last) consumer.ack_now();
    return acked(s, "a") == last;
  }, 900s);
  DrainResult r;
  r.rate = static_cast<double>(last) / seconds_since(t0);
  sampling = false;
  sampler.join();
  r.peak_rss_kb = peak;
  return r;
}

double latency_p99_ms(int port, const std::filesystem::path& path, int seconds) {
  auto s = open_store(path);
  std::mutex mu;
  std::unordered_map<std::uint64_t, Clock::time_point> committed, received;
  TestClient::Options co;
  co.port = port;
  co.id = "latency-consumer";
  co.subscriptions = {kRoot + "/c/a/#"};
  co.ack_topic = kRoot + "/ack/a";
  co.ack_every = 20;
  co.track_seqs = false;
  co.on_event = [&](std::uint64_t seq) {
    auto now = Clock::now();
    std::lock_guard l(mu);
    received.emplace(seq, now);
  };
  TestClient consumer(co);
  consumer.set_recording(false);
  auto mo = mqtt_options(port, kRoot);
  mo.client_id = "bench-gw-latency";
  DeliveryHarness h(*s, mo, {floorgate::testing::consumer("a", {}, 256)});
  const int per_tick = 10;  // every 5 ms -> 2,000 events/s
  auto next = Clock::now();
  int total = seconds * 2000;
  for (int i = 0; i < total; i += per_tick) {
    for (int k = 0; k < per_tick; ++k) {
      s->append(make_event(i + k), [&](std::error_code ec, const store::Record& r) {
        if (ec) return;
        {
          std::lock_guard l(mu);
          committed.emplace(r.seq, Clock::now());
        }
        h.post_notify(r.seq);  // from the writer thread onto the loop, as the daemon does
      });
    }
    next += 5ms;
    std::this_thread::sleep_until(next);
  }
  wait_until([&] {
    std::lock_guard l(mu);
    return received.size() >= static_cast<std::size_t>(total);
  }, 60s);
  std::vector<double> lat;
  {
    std::lock_guard l(mu);
    for (auto& [seq, t] : committed)
      if (auto it = received.find(seq); it != received.end())
        lat.push_back(std::chrono::duration<double, std::milli>(it->second - t).count());
  }
  h.shutdown();
  s->close();
  if (lat.empty()) return -1;
  std::sort(lat.begin(), lat.end());
  return lat[static_cast<std::size_t>(std::ceil(0.99 * lat.size())) - 1];
}

}  // namespace

int main() {
  spdlog::set_level(spdlog::level::err);  // stdout carries only the JSON figure lines
  MosquittoBroker broker;
  TempDir dir;
  const double k = scale();
  const int n_rate = static_cast<int>(30000 * k);
  // One bare run and one delivery run take a second or two each, and this machine's speed moves
  // between seconds: three rounds, each a bare run next to a delivery run, and the medians (the
  // ratio is the median of the rounds' own ratios, so a slow second hits both sides of one).
  constexpr int kRounds = 3;
  std::vector<double> bares, rates, ratios;
  for (int round = 0; round < kRounds; ++round) {
    bares.push_back(bare_rate(broker.port(), n_rate));
    auto small = open_store(dir / ("small" + std::to_string(round) + ".db"));
    auto last_rate = fill(*small, static_cast<std::size_t>(n_rate));
    rates.push_back(drain(broker.port(), *small, last_rate, 1000).rate);
    ratios.push_back(rates.back() / bares.back());
    small->close();
    std::fprintf(stderr, "mqtt: round %d: bare %.0f msg/s, delivery %.0f events/s, ratio %.3f\n",
                 round + 1, bares.back(), rates.back(), ratios.back());
  }
  const double bare = median(bares);
  print_figure("mqtt.bare_rate", bare, "msg/s");
  print_figure("mqtt.delivery_rate", median(rates), "events/s");
  print_figure("mqtt.delivery_ratio", median(ratios), "ratio");
  auto big = open_store(dir / "big.db");

  auto mid = open_store(dir / "mid.db");
  auto last_mid = fill(*mid, static_cast<std::size_t>(100000 * k));
  auto last_big = fill(*big, static_cast<std::size_t>(1000000 * k));
  auto d_mid = drain(broker.port(), *mid, last_mid, 1000);
  auto d_big = drain(broker.port(), *big, last_big, 1000);
  print_figure("mqtt.drain_rate", d_big.rate, "events/s");
  print_figure("mqtt.drain_ratio", d_big.rate / bare, "ratio");
  print_figure("mqtt.drain_rss_ratio",
               static_cast<double>(d_big.peak_rss_kb) / static_cast<double>(d_mid.peak_rss_kb),
               "ratio");
  mid->close();
  big->close();

  print_figure("mqtt.latency_p99_ms",
               latency_p99_ms(broker.port(), dir / "lat.db", std::max(2, static_cast<int>(10 * k))),
               "ms");
  return 0;
}
