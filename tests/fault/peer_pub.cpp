// fg-peer-pub: the event source of the `peer` benchmark (an edge Mosquitto bridged to a central
// one, the setup a site would deploy instead of floorgate). Publishes JSON events QoS 1 at a
// fixed rate to one broker and keeps every message the broker did not PUBACK for a resend, like
// an EGM keeps an exception until it is acknowledged.
//   fg-peer-pub --port P --rate N --seconds S --topic T --out FILE
// FILE gets one line per PUBACK: "<seq>" (the events the edge broker took responsibility for).
#include <mosquitto.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>

namespace {

volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

struct State {
  std::map<int, long long> inflight;  // mid -> seq
  FILE* out = nullptr;
  long long acked = 0;
};

void on_publish(mosquitto*, void* ud, int mid) {
  auto& s = *static_cast<State*>(ud);
  auto it = s.inflight.find(mid);
  if (it == s.inflight.end()) return;
  std::fprintf(s.out, "%lld\n", it->second);
  s.inflight.erase(it);
  ++s.acked;
}

long long now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

int main(int argc, char** argv) {
  int port = 1883;
  double rate = 100, seconds = 10;
  std::string topic = "floor/v1/lab/peer/events", out_path = "/dev/null";
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--port") port = std::atoi(argv[i + 1]);
    else if (a == "--rate") rate = std::atof(argv[i + 1]);
    else if (a == "--seconds") seconds = std::atof(argv[i + 1]);
    else if (a == "--topic") topic = argv[i + 1];
    else if (a == "--out") out_path = argv[i + 1];
  }
  signal(SIGTERM, on_signal);
  State s;
  s.out = std::fopen(out_path.c_str(), "w");
  if (!s.out) return 1;
  mosquitto_lib_init();
  mosquitto* m = mosquitto_new("fg-peer-pub", false, &s);
  mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
  mosquitto_publish_callback_set(m, on_publish);
  mosquitto_max_inflight_messages_set(m, 0);
  mosquitto_connect(m, "127.0.0.1", port, 10);
  const auto t0 = std::chrono::steady_clock::now();
  long long next = 1, produced = 0;
  std::string pad(200, 'p');
  while (!g_stop) {
    double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (el >= seconds) break;
    const auto due = static_cast<long long>(el * rate) + 1;
    while (next <= due) {
      std::string body = "{\"seq\":" + std::to_string(next) + ",\"t_ms\":" +
                         std::to_string(now_ms()) + ",\"type\":\"game.ended\",\"pad\":\"" + pad +
                         "\"}";
      int mid = 0;
      int rc = mosquitto_publish(m, &mid, topic.c_str(), static_cast<int>(body.size()),
                                 body.data(), 1, false);
      if (rc != MOSQ_ERR_SUCCESS) break;  // not connected: the source keeps it, retries
      s.inflight[mid] = next++;
      ++produced;
    }
    if (mosquitto_loop(m, 5, 1) != MOSQ_ERR_SUCCESS) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      mosquitto_reconnect(m);
    }
  }
  // Drain: give outstanding PUBACKs a few seconds.
  for (int i = 0; i < 600 && !s.inflight.empty(); ++i) {
    if (mosquitto_loop(m, 10, 1) != MOSQ_ERR_SUCCESS) mosquitto_reconnect(m);
  }
  std::fflush(s.out);
  std::fprintf(stderr, "fg-peer-pub: produced %lld, acked %lld, never acked %zu\n", produced,
               s.acked, s.inflight.size());
  std::printf("{\"produced\":%lld,\"acked\":%lld,\"unacked\":%zu}\n", produced, s.acked,
              s.inflight.size());
  mosquitto_disconnect(m);
  mosquitto_destroy(m);
  mosquitto_lib_cleanup();
  std::fclose(s.out);
  return 0;
}
