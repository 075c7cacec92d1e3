#pragma once
// A real MQTT consumer for the delivery tests: libmosquitto with its own network thread,
// subscribed to <root>/c/<name>/#, recording every event it receives and (optionally)
// acking cumulatively on <root>/ack/<name>. Also a generic publisher/recorder for status,
// health and bad-input tests.

#include <mosquitto.h>
#include <mqtt_protocol.h>

#include <boost/json.hpp>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "test_process.hpp"

namespace floorgate::testing {

struct Received {
  std::string topic;
  std::string payload;
  std::uint64_t seq = 0;
  bool replay = false;
  bool retained = false;
  std::map<std::string, std::string> user_props;
};

class TestClient {
 public:
  struct Options {
    int port = 1883;
    std::string id;
    std::vector<std::string> subscriptions;
    std::string ack_topic;      // non-empty: ack received events cumulatively here
    std::size_t ack_every = 1;  // ack after this many new (non-replay) events
    bool mqtt5 = true;
    std::string username, password, ca_file;
    bool clean = true;
    bool contiguous = false;  // ack the highest gap-free seq (consumers that get every event)
    bool track_seqs = true;   // false: only max seq and counts (benchmarks: flat memory)
    std::function<void(std::uint64_t seq)> on_event;  // called on receipt (client thread)
  };

  explicit TestClient(Options o) : o_(std::move(o)) {
    static std::once_flag once;
    std::call_once(once, [] { mosquitto_lib_init(); });
    m_ = mosquitto_new(o_.id.empty() ? nullptr : o_.id.c_str(), o_.clean, this);
    if (!m_) throw std::runtime_error("mosquitto_new");
    mosquitto_int_option(m_, MOSQ_OPT_PROTOCOL_VERSION, o_.mqtt5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311);
    mosquitto_int_option(m_, MOSQ_OPT_TCP_NODELAY, 1);
    if (!o_.username.empty()) mosquitto_username_pw_set(m_, o_.username.c_str(), o_.password.c_str());
    if (!o_.ca_file.empty()) mosquitto_tls_set(m_, o_.ca_file.c_str(), nullptr, nullptr, nullptr, nullptr);
    mosquitto_connect_v5_callback_set(m_, &TestClient::on_connect);
    mosquitto_message_v5_callback_set(m_, &TestClient::on_message);
    mosquitto_connect_async(m_, "127.0.0.1", o_.port, 30);  // before the thread (go_online)
    mosquitto_loop_start(m_);
    if (!wait_until([this] { return connected(); }, std::chrono::seconds(20)))
      throw std::runtime_error("test client could not connect");
  }
  ~TestClient() {
    mosquitto_disconnect(m_);
    mosquitto_loop_stop(m_, true);
    mosquitto_destroy(m_);
  }

  // Disconnects cleanly; with clean=false and MQTT 3.1.1 the broker keeps the session and
  // queues QoS 1 messages until go_online().
  void go_offline() {
    {
      std::lock_guard l(mu_);
      subscribed_ = false;
      offline_ = true;
    }
    mosquitto_disconnect(m_);
    mosquitto_loop_stop(m_, false);
  }
  void go_online() {
    {
      std::lock_guard l(mu_);
      offline_ = false;
    }
    // The connection first, then the network thread: started first, the thread can find the
    // session still "disconnected" (go_offline's clean DISCONNECT) and end at once, leaving the
    // queued CONNECT unsent (the broker saw a socket that never spoke and timed it out; the
    // consumer never came back and RealStore.BrokerCrashes... waited out its 400 s).
    mosquitto_reconnect_async(m_);
    mosquitto_loop_start(m_);
    if (!wait_until([this] { return connected(); }, std::chrono::seconds(20)))
      throw std::runtime_error("test client could not connect again");
  }
  bool connected() {
    std::lock_guard l(mu_);
    return subscribed_;
  }
  void publish(const std::string& topic, const std::string& payload, int qos = 1,
               bool retain = false) {
    mosquitto_publish(m_, nullptr, topic.c_str(), static_cast<int>(payload.size()),
                      payload.data(), qos, retain);
  }
  void set_acking(bool on) {
    std::lock_guard l(mu_);
    acking_ = on;
  }
  // Acks everything received so far (the highest seq, or the highest gap-free one).
  void ack_now() {
    std::uint64_t upto;
    {
      std::lock_guard l(mu_);
      upto = o_.contiguous ? contig_ : max_seq_;
    }
    if (upto) publish(o_.ack_topic, "{\"upto\":" + std::to_string(upto) + "}");
  }
  std::vector<Received> messages() {
    std::lock_guard l(mu_);
    return msgs_;
  }
  // Every message received (also when recording is off).
  std::uint64_t received() const { return received_; }
  std::size_t count() {
    std::lock_guard l(mu_);
    return msgs_.size();
  }
  std::set<std::uint64_t> distinct_seqs() {
    std::lock_guard l(mu_);
    return seqs_;
  }
  // Number of distinct event seqs seen (cheap, unlike distinct_seqs()).
  std::size_t distinct_count() {
    std::lock_guard l(mu_);
    return seqs_.size();
  }
  std::uint64_t max_seq() {
    std::lock_guard l(mu_);
    return max_seq_;
  }
  void clear() {
    std::lock_guard l(mu_);
    msgs_.clear();
  }
  void set_recording(bool on) {
    std::lock_guard l(mu_);
    record_ = on;
  }

 private:
  static void on_connect(mosquitto* m, void* obj, int rc, int, const mosquitto_property*) {
    auto* self = static_cast<TestClient*>(obj);
    if (rc != 0) return;
    for (auto& s : self->o_.subscriptions) mosquitto_subscribe(m, nullptr, s.c_str(), 1);
    std::lock_guard l(self->mu_);
    self->subscribed_ = true;
  }
  static void on_message(mosquitto* m, void* obj, const mosquitto_message* msg,
                         const mosquitto_property* props) {
    auto* self = static_cast<TestClient*>(obj);
    Received r;
    r.topic = msg->topic;
    r.payload.assign(static_cast<const char*>(msg->payload), msg->payloadlen);
    r.retained = msg->retain;
    for (const mosquitto_property* p = props; p; p = mosquitto_property_next(p)) {
      if (mosquitto_property_identifier(p) != MQTT_PROP_USER_PROPERTY) continue;
      char *k = nullptr, *v = nullptr;
      mosquitto_property_read_string_pair(p, MQTT_PROP_USER_PROPERTY, &k, &v, false);
      if (k && v) r.user_props[k] = v;
      free(k);
      free(v);
    }
    if (r.topic.find("/c/") != std::string::npos) {
      boost::system::error_code ec;
      auto v = boost::json::parse(r.payload, ec);
      if (!ec && v.is_object()) {
        auto& o = v.as_object();
        if (auto* s = o.if_contains("seq")) r.seq = s->to_number<std::uint64_t>();
        if (auto* rp = o.if_contains("replay")) r.replay = rp->is_bool() && rp->get_bool();
      }
    }
    ++self->received_;
    if (self->o_.on_event && r.seq) self->o_.on_event(r.seq);
    std::string ack;
    {
      std::lock_guard l(self->mu_);
      if (r.seq && !r.replay) {
        bool fresh = self->o_.track_seqs ? self->seqs_.insert(r.seq).second
                                         : r.seq > self->max_seq_;
        self->max_seq_ = std::max(self->max_seq_, r.seq);
        while (self->seqs_.count(self->contig_ + 1)) ++self->contig_;
        std::uint64_t upto = self->o_.contiguous ? self->contig_ : self->max_seq_;
        // Duplicates are acked every ack_every too, and at once when one is the newest event
        // received (a resend reached its end): a consumer that batches acks flushes them when
        // it has caught up, as the kit does on its timer. Counting alone, a tail shorter than
        // ack_every needed that many resends, which come less often while it stays silent.
        bool due = fresh ? ++self->since_ack_ >= self->o_.ack_every
                         : ++self->dups_ % self->o_.ack_every == 0 || r.seq == self->max_seq_;
        // A resend (e.g. after a gateway restart): ack the seq just received, which the
        // gateway has certainly sent, rather than a higher one it may not have re-sent yet.
        if (!fresh && r.seq <= upto) upto = r.seq;
        if (due && upto && self->acking_ && !self->o_.ack_topic.empty()) {
          self->since_ack_ = 0;
          ack = "{\"upto\":" + std::to_string(upto) + "}";
        }
      }
      if (self->record_) self->msgs_.push_back(std::move(r));
    }
    if (!ack.empty())
      mosquitto_publish(m, nullptr, self->o_.ack_topic.c_str(), static_cast<int>(ack.size()),
                        ack.data(), 1, false);
  }

  Options o_;
  mosquitto* m_ = nullptr;
  std::mutex mu_;
  bool subscribed_ = false, acking_ = true, record_ = true, offline_ = false;
  std::vector<Received> msgs_;
  std::set<std::uint64_t> seqs_;
  std::uint64_t max_seq_ = 0;
  std::size_t since_ack_ = 0, dups_ = 0;
  std::uint64_t contig_ = 0;
  std::atomic<std::uint64_t> received_{0};
};

}  // namespace floorgate::testing
