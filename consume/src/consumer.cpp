// The kit's runtime (consumer.hpp): MQTT sessions, batches, positions, acks, replays, presence.
#include "floorgate/consume/consumer.hpp"

#include <fcntl.h>
#include <mosquitto.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <spdlog/spdlog.h>
#include <sstream>
#include <thread>

#include "floorgate/consume/stream.hpp"

namespace floorgate::consume {
namespace {
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

constexpr const char* kOnline = "{\"schema\":\"floorgate.consumer_status/1\",\"state\":\"online\"}";
constexpr const char* kOffline =
    "{\"schema\":\"floorgate.consumer_status/1\",\"state\":\"offline\"}";
constexpr auto kReplayEvery = std::chrono::seconds(3);  // gateway allows one per 2 s
// Reconnects wait 100 ms doubling to 5 s. The wait starts again from 100 ms only after a
// session that stayed up this long: a broker that accepts and drops at once (a client id taken
// over by another kit, a broker that refuses the subscription) is not retried ten times a second.
constexpr auto kFirstBackoff = std::chrono::milliseconds(100);
constexpr auto kMaxBackoff = std::chrono::seconds(5);
constexpr auto kStableSession = std::chrono::seconds(10);

struct Message {
  std::string root, payload;
};

// One MQTT session: a fixed gateway root, or a wildcard root for many.
struct Session {
  std::string root;  // as subscribed (may hold wildcards)
  bool fixed = true;
  mosquitto* mosq = nullptr;
  bool connected = false;
  Clock::duration backoff = kFirstBackoff;
  Clock::time_point retry_at{};
  Clock::time_point up_since{};  // when the broker last accepted the session (zero: not up)
  int stream_mid = 0;  // the event subscription's message id (its SUBACK says "subscribed")
};

struct Runtime {
  const ConsumeOptions& opt;
  Sink& sink;
  std::vector<std::unique_ptr<Session>> sessions;
  std::vector<Message> pending;
  Clock::time_point first_pending{};
  std::map<std::string, StreamState> streams;      // by gateway root
  std::map<std::string, Clock::time_point> replay_asked;
  std::map<std::string, GatewayStatus> status;     // by gateway root
  std::string sub_suffix;                          // "/c/<consumer>/#"
  std::uint64_t applied = 0, duplicates = 0, gaps = 0, nacked = 0;
};

// The gateway root an event topic belongs to: everything before /c/<consumer>/.
std::optional<std::string> root_of(const std::string& topic, const std::string& consumer) {
  const std::string mid = "/c/" + consumer + "/";
  auto pos = topic.find(mid);
  if (pos == std::string::npos || pos == 0) return std::nullopt;
  return topic.substr(0, pos);
}

Session* session_for(Runtime& rt, const std::string& root) {
  for (auto& s : rt.sessions)
    if (!s->fixed || s->root == root) return s.get();
  return nullptr;
}

void publish(Runtime& rt, const std::string& root, const std::string& topic,
             const std::string& body, bool retain = false) {
  if (auto* s = session_for(rt, root))
    mosquitto_publish(s->mosq, nullptr, topic.c_str(), static_cast<int>(body.size()),
                      body.data(), 1, retain);
}

// --- state file (sinks without positions of their own) ---------------------------------------

bool load_state_file(const std::string& path, Runtime& rt, std::string& mark, std::string& error) {
  std::ifstream in(path);
  if (!in) return true;  // first run
  std::stringstream ss;
  ss << in.rdbuf();
  json::error_code ec;
  auto v = json::parse(ss.str(), ec);
  if (ec || !v.is_object() || !v.get_object().contains("streams") ||
      !v.at("streams").is_object()) {
    error = "state file " + path + " is not a floorgate-consume state";
    return false;
  }
  if (auto* m = v.get_object().if_contains("mark"); m && m->is_string()) mark = m->get_string();
  for (const auto& [root, st] : v.at("streams").get_object()) {
    auto s = StreamState::from_json(st);
    if (!s) {
      error = "state file " + path + ": bad position for " + std::string(root);
      return false;
    }
    rt.streams[std::string(root)] = *s;
  }
  return true;
}

bool save_state_file(const std::string& path, const Runtime& rt, const std::string& mark,
                     std::string& error) {
  json::object streams;
  for (const auto& [root, s] : rt.streams) streams[root] = s.to_json();
  const std::string text =
      json::serialize(json::object{{"consumer", rt.opt.consumer}, {"mark", mark},
                                   {"streams", std::move(streams)}}) + "\n";
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) {
    error = "cannot write " + tmp + ": " + std::strerror(errno);
    return false;
  }
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    error = "cannot write " + path + ": " + std::strerror(errno);
    return false;
  }
  auto slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash + 1);
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return true;
}

// --- batches ------------------------------------------------------------------------------

struct BatchOutcome {
  int exit_code = -1;  // >= 0: stop with it
  bool retry = false;  // keep the batch, try again after a pause
};

// A stream position as a sink stores it (StreamState::to_json text); nullopt if unreadable.
std::optional<StreamState> parse_position(const std::string& text) {
  json::error_code ec;
  auto v = json::parse(text, ec);
  return ec ? std::nullopt : StreamState::from_json(v);
}

enum class Adopted { same, ahead, unknown, unreadable };

// Reads the sink's stored positions again. Every one that differs from ours must be ahead of it
// (a later epoch, or the same one further on): then they are taken. Otherwise (behind: a
// restored backup, another writer) they are the contradiction, and nothing is taken.
Adopted adopt_sink_positions(Runtime& rt) {
  auto loaded = rt.sink.load_positions();
  if (!loaded.ok) {
    spdlog::error("floorgate-consume: reading the {} sink's positions again: {} (retrying)",
                  rt.sink.name(), loaded.error);
    return Adopted::unknown;
  }
  if (!loaded.positions) return Adopted::same;  // a sink without positions: nothing to adopt
  std::map<std::string, StreamState> ahead;
  for (const auto& [root, text] : *loaded.positions) {
    auto stored = parse_position(text);
    if (!stored) {
      spdlog::critical("floorgate-consume: the {} sink's stored position of {} is unreadable",
                       rt.sink.name(), root);
      return Adopted::unreadable;
    }
    auto it = rt.streams.find(root);
    if (it != rt.streams.end() && it->second.to_json() == stored->to_json()) continue;
    // Same upto but different: a commit that only nacked or merged lanes went in.
    const bool further = it == rt.streams.end() || stored->epoch() > it->second.epoch() ||
                         (stored->epoch() == it->second.epoch() &&
                          stored->upto() >= it->second.upto());
    if (!further) {
      spdlog::error("floorgate-consume: {}: the sink's stored position (epoch {}, seq {}) is not "
                    "ahead of ours (epoch {}, seq {})",
                    root, stored->epoch(), stored->upto(), it->second.epoch(), it->second.upto());
      return Adopted::same;
    }
    ahead.emplace(root, *stored);
  }
  if (ahead.empty()) return Adopted::same;
  for (auto& [root, st] : ahead) {
    const auto it = rt.streams.find(root);
    spdlog::info("floorgate-consume: {}: the sink's stored position is seq {} (ours {})", root,
                 st.upto(), it == rt.streams.end() ? 0 : it->second.upto());
    rt.streams[root] = st;
  }
  return Adopted::ahead;
}

BatchOutcome process(Runtime& rt) {
  auto tentative = rt.streams;
  std::vector<Delivered> batch;
  // Each event with its verdict (and its index in `batch` when applied): a nack pass replays
  // these, never classifies again (a nack changes what a later copy of the same seq is).
  struct Classified {
    const Message* m;
    EventMeta e;
    Verdict v;
    std::size_t index;
  };
  std::vector<Classified> parsed_events;
  std::map<std::string, bool> touched;  // root -> saw a gap
  std::uint64_t dups = 0, gaps = 0;
  for (const auto& m : rt.pending) {
    auto parsed = parse_event(m.payload);
    if (!parsed.meta) {
      if (parsed.unsupported_schema) {
        spdlog::critical("floorgate-consume: {} on {}; stopping without acking it", parsed.error,
                         m.root);
        return {kExitSchema, false};
      }
      spdlog::warn("floorgate-consume: ignoring a message from {}: {}", m.root, parsed.error);
      continue;
    }
    const auto& e = *parsed.meta;
    auto& st = tentative[m.root];
    touched.emplace(m.root, false);
    const Verdict verdict = st.classify(e);
    parsed_events.push_back({&m, e, verdict, batch.size()});
    switch (verdict) {
      case Verdict::apply:
        batch.push_back({m.root, e.epoch, e.seq, m.payload});
        st.record(e);
        break;
      case Verdict::duplicate:
        ++dups;
        st.record(e);
        break;
      case Verdict::gap:
        ++gaps;
        st.gap_seen(e);
        touched[m.root] = true;
        spdlog::warn("floorgate-consume: {} seq {} follows seq {} which we do not have "
                     "(have up to {}): asking for a replay",
                     m.root, e.seq, *e.after, st.upto());
        break;
      case Verdict::stale:
        break;
    }
  }
  auto positions = [&](const std::map<std::string, StreamState>& from) {
    Positions p;
    for (const auto& [root, gap] : touched) p[root] = json::serialize(from.at(root).to_json());
    return p;
  };
  auto result = rt.sink.commit(batch, positions(tentative));
  if (!result.ok && result.fatal) {
    // A commit we took for failed may have gone through (its answer was lost) while more
    // events joined the batch we retry: the sink's stored positions are then ahead of ours.
    // They were stored with its rows, so they are the truth: take them and classify the
    // batch again. Positions equal to ours are a real contradiction.
    switch (adopt_sink_positions(rt)) {
      case Adopted::ahead:
        spdlog::warn("floorgate-consume: the {} sink already holds an earlier commit whose "
                     "answer was lost ({}); continuing from its stored positions",
                     rt.sink.name(), result.error);
        return {-1, true};
      case Adopted::unknown:
        return {-1, true};  // could not read them: the next try decides
      case Adopted::unreadable:
        return {kExitState, false};
      case Adopted::same:
        break;
    }
    spdlog::critical("floorgate-consume: the {} sink contradicts the stored positions: {}",
                     rt.sink.name(), result.error);
    return {kExitSinkFatal, false};
  }
  if (!result.ok && !result.permanent && result.refused.empty()) {
    spdlog::error("floorgate-consume: {} sink failed, retrying: {}", rt.sink.name(), result.error);
    return {-1, true};
  }
  if (!result.ok) {
    // Refused for good, the whole batch (permanent) or some of its events (refused): those are
    // nacked (dead letters on the gateway) and counted as known, so the stream goes on past
    // them; the rest is committed.
    const std::set<std::size_t> refused(result.refused.begin(), result.refused.end());
    spdlog::error("floorgate-consume: {} sink refused {} of {} events, nacking them: {}",
                  rt.sink.name(), result.permanent ? batch.size() : refused.size(),
                  batch.size(), result.error);
    tentative = rt.streams;
    std::vector<Delivered> rest;
    std::set<std::pair<std::string, std::uint64_t>> nacked_now;  // (root, seq)
    for (const auto& [m, e, v, index] : parsed_events) {
      auto& st = tentative[m->root];
      if (v == Verdict::apply) {
        if (result.permanent || refused.count(index)) {
          st.nacked(e);
          nacked_now.emplace(m->root, e.seq);
          json::object nack{{"nack", e.seq}, {"reason", result.error.substr(0, 500)}};
          publish(rt, m->root, m->root + "/ack/" + rt.opt.consumer, json::serialize(nack));
          ++rt.nacked;
        } else {
          rest.push_back(batch.at(index));
          st.record(e);
        }
      } else if (v == Verdict::duplicate) {
        // A copy of an event nacked just now is not "processed" by its duplicate.
        if (!nacked_now.count({m->root, e.seq})) st.record(e);
      } else if (v == Verdict::gap) {
        st.gap_seen(e);
      }
    }
    auto again = rt.sink.commit(rest, positions(tentative));
    if (!again.ok) {
      spdlog::error("floorgate-consume: committing the rest of the batch failed, retrying: {}",
                    again.error);
      return {-1, true};
    }
    batch = std::move(rest);
  }
  rt.streams = std::move(tentative);
  if (!rt.opt.state_path.empty()) {
    std::string error;
    if (!save_state_file(rt.opt.state_path, rt, rt.sink.effect_mark(), error)) {
      spdlog::critical("floorgate-consume: {}", error);
      return {kExitState, false};
    }
  }
  rt.applied += batch.size();
  rt.duplicates += dups;
  rt.gaps += gaps;
  const auto now = Clock::now();
  for (const auto& [root, gap] : touched) {
    auto& st = rt.streams.at(root);
    if (auto ack = st.take_ack())
      publish(rt, root, root + "/ack/" + rt.opt.consumer, ack->json());
    if (gap) {
      auto& last = rt.replay_asked[root];
      if (now - last >= kReplayEvery) {
        last = now;
        publish(rt, root, root + "/replay/" + rt.opt.consumer,
                "{\"from_seq\":" + std::to_string(st.replay_from()) + "}");
      }
    }
  }
  rt.pending.clear();
  return {};
}

// --- sessions -----------------------------------------------------------------------------

void on_gateway_status(Runtime& rt, const std::string& root, std::string_view payload) {
  if (payload.empty()) return;  // a cleared retained message
  switch (rt.status[root].on_status(payload)) {
    case GatewayStatus::Change::online:
      spdlog::info("floorgate-consume: gateway {} is online (boot {})", root, rt.status[root].boot_id());
      break;
    case GatewayStatus::Change::offline:
      spdlog::warn("floorgate-consume: gateway {} is offline; its events wait in its store", root);
      break;
    case GatewayStatus::Change::stale_will:
      spdlog::info("floorgate-consume: ignoring a late Last Will of {} (an earlier boot)", root);
      break;
    case GatewayStatus::Change::unreadable:
      spdlog::warn("floorgate-consume: unreadable status from {}", root);
      break;
    case GatewayStatus::Change::none:
      break;
  }
}

struct SessionContext {
  Runtime* rt;
  Session* s;
};

void start_session(Runtime& rt, Session& s, SessionContext* ctx) {
  std::string id = rt.opt.client_id.empty() ? "floorgate-consume-" + rt.opt.consumer
                                            : rt.opt.client_id;
  if (rt.sessions.size() > 1) id += "-" + s.root;
  for (auto& ch : id)
    if (ch == '/' || ch == '+' || ch == '#') ch = '_';
  s.mosq = mosquitto_new(id.c_str(), false, ctx);  // persistent session: the broker queues
  mosquitto_int_option(s.mosq, MOSQ_OPT_TCP_NODELAY, 1);
  if (!rt.opt.username.empty())
    mosquitto_username_pw_set(s.mosq, rt.opt.username.c_str(), rt.opt.password.c_str());
  if (!rt.opt.cafile.empty()) mosquitto_tls_set(s.mosq, rt.opt.cafile.c_str(), nullptr, nullptr, nullptr, nullptr);
  if (rt.opt.presence && s.fixed) {
    const std::string will = s.root + "/consumer/" + rt.opt.consumer + "/status";
    mosquitto_will_set(s.mosq, will.c_str(), static_cast<int>(std::strlen(kOffline)), kOffline,
                       1, true);
  }
  mosquitto_connect_callback_set(s.mosq, [](mosquitto* m, void* ud, int rc) {
    auto* c = static_cast<SessionContext*>(ud);
    if (rc != 0) {
      spdlog::warn("floorgate-consume: broker refused the session for {}: {}", c->s->root,
                   mosquitto_connack_string(rc));
      return;
    }
    c->s->connected = true;
    c->s->up_since = Clock::now();
    const std::string topic = c->s->root + c->rt->sub_suffix;
    mosquitto_subscribe(m, &c->s->stream_mid, topic.c_str(), 1);
    const std::string status = c->s->root + "/status";  // the gateway's online/offline
    mosquitto_subscribe(m, nullptr, status.c_str(), 1);
  });
  mosquitto_disconnect_callback_set(s.mosq, [](mosquitto*, void* ud, int) {
    static_cast<SessionContext*>(ud)->s->connected = false;
  });
  mosquitto_subscribe_callback_set(s.mosq, [](mosquitto* m, void* ud, int mid, int count,
                                              const int* granted) {
    auto* c = static_cast<SessionContext*>(ud);
    const bool refused = count < 1 || granted[0] >= 0x80;  // 0x80: failure (MQTT 3.1.1 SUBACK)
    if (mid != c->s->stream_mid) {  // the gateway's status: presence still works without it
      if (refused)
        spdlog::warn("floorgate-consume: the broker refused the subscription to {}/status",
                     c->s->root);
      return;
    }
    if (refused) {
      // Nothing would ever arrive on this session: say so, and try again (an ACL may change).
      spdlog::error("floorgate-consume: the broker refused the subscription to {}{} (not "
                    "authorised for it?); reconnecting in {} ms",
                    c->s->root, c->rt->sub_suffix,
                    std::chrono::duration_cast<std::chrono::milliseconds>(c->s->backoff).count());
      mosquitto_disconnect(m);
      return;
    }
    // Said on stderr so that harnesses can wait for it; online only now, so nothing the
    // gateway starts sending is missed.
    std::fprintf(stderr, "floorgate-consume: subscribed to %s%s\n", c->s->root.c_str(),
                 c->rt->sub_suffix.c_str());
    if (c->rt->opt.presence && c->s->fixed) {
      const std::string topic = c->s->root + "/consumer/" + c->rt->opt.consumer + "/status";
      mosquitto_publish(m, nullptr, topic.c_str(), static_cast<int>(std::strlen(kOnline)),
                        kOnline, 1, true);
    }
  });
  mosquitto_message_callback_set(s.mosq, [](mosquitto*, void* ud, const mosquitto_message* msg) {
    auto* c = static_cast<SessionContext*>(ud);
    const std::string_view topic = msg->topic;
    const std::string_view body(static_cast<const char*>(msg->payload),
                                static_cast<std::size_t>(msg->payloadlen));
    if (topic.size() > 7 && topic.substr(topic.size() - 7) == "/status" &&
        topic.find("/c/") == std::string_view::npos) {
      on_gateway_status(*c->rt, std::string(topic.substr(0, topic.size() - 7)), body);
      return;
    }
    auto root = c->s->fixed ? std::optional<std::string>(c->s->root)
                            : root_of(msg->topic, c->rt->opt.consumer);
    if (!root) return;
    if (c->rt->pending.empty()) c->rt->first_pending = Clock::now();
    c->rt->pending.push_back(
        {*root, std::string(static_cast<const char*>(msg->payload),
                            static_cast<std::size_t>(msg->payloadlen))});
  });
  if (mosquitto_connect(s.mosq, rt.opt.host.c_str(), rt.opt.port, 30) != MOSQ_ERR_SUCCESS) {
    spdlog::warn("floorgate-consume: broker {}:{} not reachable yet; retrying", rt.opt.host,
                 rt.opt.port);
    s.retry_at = Clock::now() + s.backoff;
  }
}

// One pass of a session's network loop; reconnects with a bounded backoff.
void service(Session& s, int timeout_ms) {
  const auto now = Clock::now();
  if (s.retry_at != Clock::time_point{} && now < s.retry_at) {
    std::this_thread::sleep_for(std::min<Clock::duration>(s.retry_at - now,
                                                          std::chrono::milliseconds(timeout_ms)));
    return;
  }
  if (s.retry_at != Clock::time_point{}) {
    s.retry_at = {};
    if (mosquitto_reconnect(s.mosq) != MOSQ_ERR_SUCCESS) {
      s.backoff = std::min<Clock::duration>(s.backoff * 2, kMaxBackoff);
      s.retry_at = Clock::now() + s.backoff;
      return;
    }
  }
  int rc = mosquitto_loop(s.mosq, timeout_ms, 1);
  if (rc != MOSQ_ERR_SUCCESS) {
    const auto lost = Clock::now();
    if (s.up_since != Clock::time_point{} && lost - s.up_since >= kStableSession)
      s.backoff = kFirstBackoff;
    s.up_since = {};
    s.connected = false;
    s.retry_at = lost + s.backoff;
    s.backoff = std::min<Clock::duration>(s.backoff * 2, kMaxBackoff);
  }
}

}  // namespace

int run(const ConsumeOptions& opt, Sink& sink, const std::atomic<bool>& stop) {
  Runtime rt{opt, sink};
  rt.sub_suffix = "/c/" + opt.consumer + "/#";
  // Where we are: from the sink (postgres) or the state file, before anything is received.
  for (auto backoff = std::chrono::milliseconds(200);;) {
    auto loaded = sink.load_positions();
    if (loaded.ok) {
      if (loaded.positions) {
        for (const auto& [root, text] : *loaded.positions) {
          auto s = parse_position(text);
          if (!s) {
            spdlog::critical("floorgate-consume: the stored position of {} is unreadable", root);
            return kExitState;
          }
          rt.streams[root] = *s;
        }
      }
      break;
    }
    if (stop) return kExitOk;
    spdlog::error("floorgate-consume: loading positions from the {} sink: {} (retrying)",
                  sink.name(), loaded.error);
    std::this_thread::sleep_for(backoff);  // the retry interval, not a wait for a state
    backoff = std::min(backoff * 2, std::chrono::milliseconds(5000));
  }
  if (!opt.state_path.empty()) {
    std::string mark, error;
    if (!load_state_file(opt.state_path, rt, mark, error)) {
      spdlog::critical("floorgate-consume: {}", error);
      return kExitState;
    }
    sink.restore_mark(mark);
  }
  for (const auto& [root, s] : rt.streams)
    spdlog::info("floorgate-consume: {} epoch {}: processed up to seq {}", root, s.epoch(), s.upto());

  mosquitto_lib_init();
  for (const auto& g : opt.gateways) rt.sessions.push_back(std::make_unique<Session>(Session{g, true}));
  if (!opt.gateway_pattern.empty())
    rt.sessions.push_back(std::make_unique<Session>(Session{opt.gateway_pattern, false}));
  std::vector<std::unique_ptr<SessionContext>> contexts;
  for (auto& s : rt.sessions) {
    contexts.push_back(std::make_unique<SessionContext>(SessionContext{&rt, s.get()}));
    start_session(rt, *s, contexts.back().get());
  }
  const int slice = rt.sessions.size() > 1 ? 5 : 20;
  int code = kExitOk;
  auto retry_at = Clock::time_point{};
  auto retry_backoff = std::chrono::milliseconds(100);
  while (!stop) {
    for (auto& s : rt.sessions) service(*s, slice);
    const auto now = Clock::now();
    if (rt.pending.empty() || now < retry_at) continue;
    if (rt.pending.size() < opt.batch_max && now - rt.first_pending < opt.batch_wait) continue;
    auto outcome = process(rt);
    if (outcome.exit_code >= 0) {
      code = outcome.exit_code;
      break;
    }
    if (outcome.retry) {
      retry_at = now + retry_backoff;
      retry_backoff = std::min(retry_backoff * 2, std::chrono::milliseconds(5000));
    } else {
      retry_at = {};
      retry_backoff = std::chrono::milliseconds(100);
    }
  }
  if (code == kExitOk && !rt.pending.empty()) process(rt);  // a clean stop keeps what it got
  for (auto& s : rt.sessions) {
    if (opt.presence && s->fixed && s->connected) {
      const std::string topic = s->root + "/consumer/" + opt.consumer + "/status";
      mosquitto_publish(s->mosq, nullptr, topic.c_str(), static_cast<int>(std::strlen(kOffline)),
                        kOffline, 1, true);
    }
    mosquitto_loop(s->mosq, 100, 1);
    mosquitto_disconnect(s->mosq);
    mosquitto_loop(s->mosq, 50, 1);
    mosquitto_destroy(s->mosq);
  }
  mosquitto_lib_cleanup();
  spdlog::info("floorgate-consume: stopped; applied {}, duplicates {}, gaps {}, nacked {}",
               rt.applied, rt.duplicates, rt.gaps, rt.nacked);
  return code;
}

}  // namespace floorgate::consume
