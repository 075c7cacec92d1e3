// fg-test-consumer: a central-system stand-in for tests, the demo and benchmarks. Subscribes
// to one consumer's stream of a floorgate gateway, writes one line per received event to a
// file (or stdout) and acknowledges cumulatively on <root>/ack/<consumer>.
//
// It keeps the consumer contract's ordering rule (docs/consumers.md, rule 6): an event whose
// `after` mark lies beyond what it has processed arrived after a gap (a restarted broker drops
// what was published before this consumer subscribed again). Such an event is written to the
// output file (it did arrive) but not processed: the ack never passes the gap, and a replay
// from the first missing seq is asked for (at most once per 2 s). Without this rule a broker
// restart would let the ack jump over events the consumer never saw.
//
//   fg-test-consumer --port P --root ROOT --consumer NAME [--out FILE] [--no-ack]
//                    [--username U --password-file F]
//                    [--ack-batch N] [--client-id ID] [--host H]
//                    [--root ROOT2 ...] [--broker H:P ...] [--presence]
//
// --presence: announces itself as the contract says (docs/mqtt.md, Consumer presence): a
// Last Will "offline" and, once subscribed, a retained "online" on <root>/consumer/NAME/status;
// "offline" again on a clean stop.
//
// More than one --root: one stream per gateway, acked per gateway. --broker (repeatable, in
// order) instead of --host/--port: on a lost connection the next broker is tried (a broker
// cluster whose node went away).
//
// Output line: {"rx_ms":N,"topic":"...","msg":<the event payload as received>}
// The consumer's session is persistent (clean session off) so it keeps its queue across its
// own restarts like a real central system would.

#include <fstream>
#include <mosquitto.h>
#include <signal.h>

#include <boost/json.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

struct Stream {
  std::string root;
  std::uint64_t highest = 0;  // processed without a gap up to here (what the ack says)
  int since_ack = 0;
  std::int64_t replay_asked_ms = 0;
};

struct State {
  std::vector<Stream> streams;
  std::string consumer;
  FILE* out = stdout;
  bool ack = true;
  int ack_batch = 1;
  bool presence = false;
  int subacks = 0;
  std::chrono::steady_clock::time_point last_event{};  // when the last event arrived
  mosquitto* mosq = nullptr;
};

constexpr const char* kOnline = "{\"schema\":\"floorgate.consumer_status/1\",\"state\":\"online\"}";
constexpr const char* kOffline = "{\"schema\":\"floorgate.consumer_status/1\",\"state\":\"offline\"}";

void announce(State& s, const char* what) {
  for (auto& st : s.streams) {
    const std::string topic = st.root + "/consumer/" + s.consumer + "/status";
    mosquitto_publish(s.mosq, nullptr, topic.c_str(), static_cast<int>(std::strlen(what)), what, 1, true);
  }
}

volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void send_ack(State& s, Stream& st) {
  std::string topic = st.root + "/ack/" + s.consumer;
  std::string body = "{\"upto\":" + std::to_string(st.highest) + "}";
  mosquitto_publish(s.mosq, nullptr, topic.c_str(), static_cast<int>(body.size()), body.data(),
                    1, false);
  st.since_ack = 0;
}

// Asks the gateway to send again from the first seq this stream is missing.
void ask_replay(State& s, Stream& st) {
  const std::int64_t now = now_ms();
  if (now - st.replay_asked_ms < 2000) return;  // the gateway allows one request per 2 s
  st.replay_asked_ms = now;
  std::fprintf(stderr, "fg-test-consumer: gap after seq %llu on %s; asking for a replay\n",
               static_cast<unsigned long long>(st.highest), st.root.c_str());
  std::string topic = st.root + "/replay/" + s.consumer;
  std::string body = "{\"from_seq\":" + std::to_string(st.highest + 1) + "}";
  mosquitto_publish(s.mosq, nullptr, topic.c_str(), static_cast<int>(body.size()), body.data(),
                    1, false);
}

// The stream a topic belongs to: <root>/c/<consumer>/...
Stream* stream_of(State& s, std::string_view topic) {
  for (auto& st : s.streams) {
    if (topic.size() > st.root.size() + 3 && topic.compare(0, st.root.size(), st.root) == 0 &&
        topic.compare(st.root.size(), 3, "/c/") == 0) {
      return &st;
    }
  }
  return nullptr;
}

void on_message(mosquitto*, void* ud, const mosquitto_message* m) {
  auto& s = *static_cast<State*>(ud);
  boost::system::error_code ec;
  auto v = boost::json::parse(
      std::string_view(static_cast<const char*>(m->payload), static_cast<size_t>(m->payloadlen)),
      ec);
  if (ec || !v.is_object()) {
    std::fprintf(stderr, "fg-test-consumer: unparsable message on %s\n", m->topic);
    return;
  }
  auto& o = v.as_object();
  auto seq = o.contains("seq") && o.at("seq").is_number() ? o.at("seq").to_number<std::uint64_t>() : 0;
  // One line per message: the payload as received, plus topic and receive time.
  std::string line = "{\"rx_ms\":" + std::to_string(now_ms()) + ",\"topic\":" +
                     boost::json::serialize(boost::json::value(m->topic)) + ",\"msg\":" +
                     boost::json::serialize(v) + "}\n";
  std::fwrite(line.data(), 1, line.size(), s.out);
  std::fflush(s.out);
  Stream* st = stream_of(s, m->topic);
  if (!st) return;
  auto mark = [&](const char* key) -> std::optional<std::uint64_t> {
    if (!o.contains(key) || !o.at(key).is_number()) return std::nullopt;
    return o.at(key).to_number<std::uint64_t>();
  };
  const auto after = mark("after");
  if (mark("live_from")) {
    // A live_first consumer's live lane runs ahead of the ordered one: not a gap, not acked.
  } else if (st->highest == 0 || !after || *after <= st->highest) {
    // A fresh process takes its first event as its position (it keeps no state on disk).
    if (seq > st->highest) st->highest = seq;
  } else {
    ask_replay(s, *st);
    return;
  }
  s.last_event = std::chrono::steady_clock::now();
  if (s.ack && ++st->since_ack >= s.ack_batch) send_ack(s, *st);
}

void on_connect(mosquitto* mosq, void* ud, int rc) {
  auto& s = *static_cast<State*>(ud);
  if (rc != 0) return;
  s.subacks = 0;
  for (auto& st : s.streams) {
    std::string topic = st.root + "/c/" + s.consumer + "/#";
    mosquitto_subscribe(mosq, nullptr, topic.c_str(), 1);
  }
}

// The broker granted the subscription: from here on nothing published is missed. Said on
// stderr so harnesses can wait for it instead of sleeping.
void on_subscribe(mosquitto*, void* ud, int, int, const int*) {
  auto& s = *static_cast<State*>(ud);
  std::fprintf(stderr, "fg-test-consumer: subscribed to %s/c/%s/#\n", s.streams.front().root.c_str(),
               s.consumer.c_str());
  // Online only once every stream is subscribed: nothing the gateway sends then is missed.
  if (s.presence && ++s.subacks == static_cast<int>(s.streams.size())) announce(s, kOnline);
}

}  // namespace

int main(int argc, char** argv) {
  State s;
  std::string host = "127.0.0.1", client_id, out_path, username, password;
  int port = 1883;
  std::vector<std::pair<std::string, int>> brokers;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--port") port = std::stoi(next());
    else if (a == "--host") host = next();
    else if (a == "--root") s.streams.push_back({next()});
    else if (a == "--broker") {
      std::string b = next();
      auto colon = b.rfind(':');
      if (colon == std::string::npos) return 2;
      brokers.emplace_back(b.substr(0, colon), std::stoi(b.substr(colon + 1)));
    }
    else if (a == "--consumer") s.consumer = next();
    else if (a == "--out") out_path = next();
    else if (a == "--no-ack") s.ack = false;
    else if (a == "--presence") s.presence = true;
    else if (a == "--ack-batch") s.ack_batch = std::max(1, std::stoi(next()));
    else if (a == "--client-id") client_id = next();
    else if (a == "--username") username = next();
    else if (a == "--password-file") {
      std::ifstream in(next());
      std::getline(in, password);
    }
    else {
      std::fprintf(stderr, "fg-test-consumer: unknown option %s\n", a.c_str());
      return 2;
    }
  }
  if (s.streams.empty() || s.consumer.empty()) {
    std::fprintf(stderr, "usage: fg-test-consumer --port P --root ROOT --consumer NAME [--out FILE]\n");
    return 2;
  }
  if (brokers.empty()) brokers.emplace_back(host, port);
  std::size_t broker = 0;
  if (!out_path.empty()) {
    s.out = std::fopen(out_path.c_str(), "a");
    if (!s.out) return 1;
  }
  if (client_id.empty()) client_id = "fg-test-consumer-" + s.consumer;
  signal(SIGTERM, on_signal);
  signal(SIGINT, on_signal);
  mosquitto_lib_init();
  s.mosq = mosquitto_new(client_id.c_str(), false, &s);
  mosquitto_int_option(s.mosq, MOSQ_OPT_TCP_NODELAY, 1);
  if (!username.empty()) mosquitto_username_pw_set(s.mosq, username.c_str(), password.c_str());
  if (s.presence) {
    // One will per connection: the first stream's status (the harnesses use one root with it).
    const std::string will = s.streams.front().root + "/consumer/" + s.consumer + "/status";
    mosquitto_will_set(s.mosq, will.c_str(), static_cast<int>(std::strlen(kOffline)), kOffline, 1, true);
  }
  mosquitto_connect_callback_set(s.mosq, on_connect);
  mosquitto_message_callback_set(s.mosq, on_message);
  mosquitto_subscribe_callback_set(s.mosq, on_subscribe);
  mosquitto_reconnect_delay_set(s.mosq, 1, 2, false);
  if (mosquitto_connect(s.mosq, brokers[0].first.c_str(), brokers[0].second, 10) != MOSQ_ERR_SUCCESS) {
    // The loop below keeps retrying: the broker may come up later.
    std::fprintf(stderr, "fg-test-consumer: broker not reachable yet, retrying\n");
  }
  // Reconnect backoff: without it a refused connection (broker down) makes mosquitto_loop and
  // mosquitto_reconnect return at once and this process spins a core, which distorts every
  // benchmark on a small machine. 50 ms doubling to 2 s; reset once connected.
  auto backoff = std::chrono::milliseconds(50);
  while (!g_stop) {
    int rc = mosquitto_loop(s.mosq, 50, 1);
    if (rc != MOSQ_ERR_SUCCESS) {
      std::this_thread::sleep_for(backoff);  // the retry interval, not a wait for a state
      backoff = std::min(backoff * 2, std::chrono::milliseconds(2000));
      if (g_stop) continue;
      if (brokers.size() > 1) {
        broker = (broker + 1) % brokers.size();
        mosquitto_connect(s.mosq, brokers[broker].first.c_str(), brokers[broker].second, 10);
      } else {
        mosquitto_reconnect(s.mosq);
      }
      continue;
    }
    backoff = std::chrono::milliseconds(50);
    // Flush a partial ack batch when traffic pauses (200 ms without an event). mosquitto_loop
    // returns as soon as it handled traffic, so its 50 ms is not a measure of idle time.
    if (s.ack && std::chrono::steady_clock::now() - s.last_event >= std::chrono::milliseconds(200)) {
      for (auto& st : s.streams) {
        if (st.since_ack > 0) send_ack(s, st);
      }
    }
  }
  for (auto& st : s.streams) {
    if (s.ack && st.highest > 0) send_ack(s, st);
  }
  if (s.presence) announce(s, kOffline);
  mosquitto_loop(s.mosq, 100, 1);
  mosquitto_disconnect(s.mosq);
  mosquitto_destroy(s.mosq);
  mosquitto_lib_cleanup();
  if (s.out != stdout) std::fclose(s.out);
  return 0;
}
