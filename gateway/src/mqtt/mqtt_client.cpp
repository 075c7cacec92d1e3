// libmosquitto on the Asio loop: see mqtt_client.hpp for why and how.
#include "mqtt/mqtt_client.hpp"

#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <openssl/ssl.h>
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <algorithm>
#include <mutex>
#include <tuple>
#include "floorgate/core/loop_site.hpp"

namespace floorgate::gateway {
namespace {

namespace asio = boost::asio;
constexpr auto kClientTick = std::chrono::milliseconds(250);
constexpr int kPacketsPerRead = 256;

void lib_init_once() {
  static std::once_flag once;
  std::call_once(once, [] { mosquitto_lib_init(); });
}

bool refused_protocol(int rc) {
  // MQTT 5 reason 0x84, or the 3.1.1 return code 1 some brokers send to a v5 CONNECT.
  return rc == MQTT_RC_UNSUPPORTED_PROTOCOL_VERSION || rc == 1;
}

}  // namespace

MqttClient::MqttClient(asio::any_io_executor ex, MqttOptions options, Handlers handlers)
    : ex_(ex),
      opt_(std::move(options)),
      h_(std::move(handlers)),
      backoff_(opt_.backoff_initial, opt_.backoff_max),
      sd_(ex),
      tick_timer_(ex),
      retry_timer_(ex),
      protocol_(opt_.mqtt5 ? 5 : 4) {
  lib_init_once();
  brokers_ = opt_.brokers;
  if (brokers_.empty()) brokers_.emplace_back(opt_.host, opt_.port);
  protocol_by_broker_.assign(brokers_.size(), {protocol_, false});
  counters_.protocol = protocol_;
  counters_.broker = broker_name();
}

std::string MqttClient::broker_name() const {
  const auto& [host, port] = broker();
  const bool v6 = host.find(':') != std::string::npos;
  return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

void MqttClient::next_broker() {
  if (brokers_.size() < 2) return;
  protocol_by_broker_[current_] = {protocol_, fell_back_};
  current_ = (current_ + 1) % brokers_.size();
  std::tie(protocol_, fell_back_) = protocol_by_broker_[current_];
  counters_.protocol = protocol_;
  counters_.broker = broker_name();
  spdlog::info("mqtt: trying the next broker, {}", counters_.broker);
}

MqttClient::~MqttClient() {
  teardown();
  for (auto& e : props_lists_) mosquitto_property_free_all(&e.list);
}

void MqttClient::set_will(std::string topic, std::string payload) {
  will_topic_ = std::move(topic);
  will_payload_ = std::move(payload);
}

void MqttClient::set_subscriptions(std::vector<std::string> filters) { subs_ = std::move(filters); }

void MqttClient::start() {
  if (running_) return;
  running_ = true;
  stopping_ = false;
  on_tick();
  do_connect();
}

void MqttClient::do_connect() {
  teardown();
  if (!running_) return;
  ++generation_;
  m_ = mosquitto_new(opt_.client_id.c_str(), false, this);
  if (!m_) {
    counters_.last_error = "mosquitto_new failed";
    schedule_reconnect();
    return;
  }
  mosquitto_int_option(m_, MOSQ_OPT_PROTOCOL_VERSION,
                       protocol_ == 5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311);
  mosquitto_int_option(m_, MOSQ_OPT_TCP_NODELAY, 1);
  mosquitto_connect_v5_callback_set(m_, &MqttClient::cb_connect);
  mosquitto_disconnect_v5_callback_set(m_, &MqttClient::cb_disconnect);
  mosquitto_publish_v5_callback_set(m_, &MqttClient::cb_publish);
  mosquitto_message_v5_callback_set(m_, &MqttClient::cb_message);
  if (!opt_.username.empty()) {
    mosquitto_username_pw_set(m_, opt_.username.c_str(),
                              opt_.password.empty() ? nullptr : opt_.password.c_str());
  }
  int rc = MOSQ_ERR_SUCCESS;
  if (!opt_.ca_file.empty()) {
    rc = mosquitto_tls_set(m_, opt_.ca_file.c_str(), nullptr,
                           opt_.cert_file.empty() ? nullptr : opt_.cert_file.c_str(),
                           opt_.key_file.empty() ? nullptr : opt_.key_file.c_str(), nullptr);
  }
  if (rc == MOSQ_ERR_SUCCESS && !will_topic_.empty()) {
    rc = mosquitto_will_set(m_, will_topic_.c_str(), static_cast<int>(will_payload_.size()),
                            will_payload_.data(), 1, true);
  }
  if (rc == MOSQ_ERR_SUCCESS) {
    rc = mosquitto_connect_async(m_, broker().first.c_str(), broker().second, opt_.keepalive_s);
  }
  if (rc != MOSQ_ERR_SUCCESS) {
    std::string why = rc == MOSQ_ERR_ERRNO ? std::string(std::strerror(errno))
                                           : std::string(mosquitto_strerror(rc));
    ++counters_.connect_failures;
    counters_.last_error = "connect to " + broker_name() + " failed: " + why;
    spdlog::warn("mqtt: {}", counters_.last_error);
    teardown();
    next_broker();
    schedule_reconnect();
    return;
  }
  attempt_started_ = std::chrono::steady_clock::now();
  boost::system::error_code ec;
  sd_.assign(mosquitto_socket(m_), ec);
  if (ec) {
    lose("cannot watch the broker socket: " + ec.message(), true);
    return;
  }
  arm_read();
  arm_write();
}

void MqttClient::hold_writes(bool on) {
  if (on == corked_) return;
  if (on && (!connected_ || !sd_.is_open())) return;
  corked_ = on;
  if (!sd_.is_open()) return;
  const int v = on ? 1 : 0;
  // A failure only costs the coalescing (every publish then goes out on its own).
  ::setsockopt(sd_.native_handle(), IPPROTO_TCP, TCP_CORK, &v, sizeof v);
}

mosquitto_property* MqttClient::props_list(const UserProps& props) {
  if (props.empty()) return nullptr;
  for (auto& e : props_lists_) {
    // From the back: an event's ids (seq, egm_seq) are last, the schema name first.
    if (e.list && e.props.size() == props.size() &&
        std::equal(props.rbegin(), props.rend(), e.props.rbegin())) {
      return e.list;
    }
  }
  PropsList& e = props_lists_[props_next_];
  props_next_ = (props_next_ + 1) % props_lists_.size();
  mosquitto_property_free_all(&e.list);
  e.props = props;
  // A pair libmosquitto refuses (not UTF-8) is left out, as before: the payload has the ids.
  for (auto& [k, v] : props) {
    mosquitto_property_add_string_pair(&e.list, MQTT_PROP_USER_PROPERTY, k.c_str(), v.c_str());
  }
  return e.list;
}

void MqttClient::arm_read() {
  if (read_armed_ || !m_ || !sd_.is_open()) return;
  read_armed_ = true;
  sd_.async_wait(asio::posix::descriptor_base::wait_read,
                 [self = shared_from_this(), gen = generation_](boost::system::error_code ec) {
                   if (gen != self->generation_) return;
                   core::LoopSite site("mqtt.read");
                   self->read_armed_ = false;
                   if (ec || !self->m_ || self->lost_pending_) return;
                   int rc = mosquitto_loop_read(self->m_, kPacketsPerRead);
                   // TLS may hold decrypted bytes the kernel no longer reports as readable.
                   for (int i = 0; rc == MOSQ_ERR_SUCCESS && self->m_ && !self->lost_pending_ &&
                                   i < kPacketsPerRead; ++i) {
                     auto* ssl = static_cast<SSL*>(mosquitto_ssl_get(self->m_));
                     if (!ssl || SSL_pending(ssl) <= 0) break;
                     rc = mosquitto_loop_read(self->m_, kPacketsPerRead);
                   }
                   if (gen != self->generation_ || self->lost_pending_) return;
                   if (rc != MOSQ_ERR_SUCCESS) {
                     if (!self->connected_ && rc == MOSQ_ERR_CONN_LOST) self->closed_before_connack();
                     self->lose(std::string("read: ") + mosquitto_strerror(rc), true);
                     return;
                   }
                   self->arm_read();
                   self->after_io();
                 });
}

void MqttClient::arm_write() {
  if (write_armed_ || !m_ || !sd_.is_open()) return;
  write_armed_ = true;
  sd_.async_wait(asio::posix::descriptor_base::wait_write,
                 [self = shared_from_this(), gen = generation_](boost::system::error_code ec) {
                   if (gen != self->generation_) return;
                   core::LoopSite site("mqtt.write");
                   self->write_armed_ = false;
                   if (ec || !self->m_ || self->lost_pending_) return;
                   int rc = mosquitto_loop_write(self->m_, kPacketsPerRead);
                   if (gen != self->generation_ || self->lost_pending_) return;
                   if (rc != MOSQ_ERR_SUCCESS) {
                     self->lose(std::string("write: ") + mosquitto_strerror(rc), true);
                     return;
                   }
                   self->after_io();
                 });
}

void MqttClient::after_io() {
  if (m_ && !lost_pending_ && mosquitto_want_write(m_)) arm_write();
}

void MqttClient::on_tick() {
  tick_timer_.expires_after(kClientTick);
  tick_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (ec || !self->running_) return;
    self->on_tick();
  });
  core::LoopSite site("mqtt.tick");
  if (!m_ || lost_pending_) return;
  auto now = std::chrono::steady_clock::now();
  if (!connected_) {
    auto deadline = std::chrono::seconds(std::max(10, opt_.keepalive_s));
    if (now - attempt_started_ > deadline) lose("no CONNACK within the connect deadline", true);
    return;
  }
  int rc = mosquitto_loop_misc(m_);
  if (rc != MOSQ_ERR_SUCCESS) {
    lose(std::string("keepalive: ") + mosquitto_strerror(rc), true);
    return;
  }
  if (!qos1_mids_.empty() && now - last_progress_ > opt_.stall_timeout) {
    ++counters_.stall_recycles;
    lose("stalled: " + std::to_string(qos1_mids_.size()) + " publishes without PUBACK for " +
             std::to_string(opt_.stall_timeout.count()) + " s",
         true);
    return;
  }
  after_io();
}

int MqttClient::publish(const std::string& topic, std::string_view payload, int qos, bool retain,
                        const UserProps* props) {
  if (!connected_ || !m_ || lost_pending_) return -1;
  const mosquitto_property* p = props && protocol_ == 5 ? props_list(*props) : nullptr;
  int mid = 0;
  int rc = mosquitto_publish_v5(m_, &mid, topic.c_str(), static_cast<int>(payload.size()),
                                payload.data(), qos, retain, p);
  if (rc != MOSQ_ERR_SUCCESS) {
    spdlog::warn("mqtt: publish to {} refused: {}", topic, mosquitto_strerror(rc));
    if (rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST) lose("publish: no connection", true);
    return -1;
  }
  if (qos > 0) {
    if (qos1_mids_.empty()) last_progress_ = std::chrono::steady_clock::now();
    qos1_mids_.insert(mid);
  }
  after_io();
  return mid;
}

void MqttClient::recycle(const std::string& why) { lose(why, true); }

void MqttClient::lose(const std::string& why, bool retry) {
  if (lost_pending_) return;
  lost_pending_ = true;
  bool was_connected = connected_;
  connected_ = false;
  counters_.last_error = why;
  if (stopping_) {
    spdlog::info("mqtt: disconnected from {}", broker_name());
  } else if (was_connected) {
    ++counters_.disconnects;
    spdlog::warn("mqtt: connection to {} lost: {}", broker_name(), why);
  } else if (!stopping_) {
    ++counters_.connect_failures;
    spdlog::warn("mqtt: connecting to {} failed: {}", broker_name(), why);
  }
  // Deferred: we may be inside a libmosquitto callback, where destroying it is not allowed.
  asio::post(ex_, [self = shared_from_this(), was_connected, why, retry] {
    self->teardown();
    if (was_connected && self->h_.on_disconnected) self->h_.on_disconnected(why);
    if (retry && self->running_) {
      // A 3.1.1 fallback retries the same broker first; any other loss moves on.
      if (!self->retry_same_broker_) self->next_broker();
      self->retry_same_broker_ = false;
      self->schedule_reconnect();
    }
    if (!self->running_ && self->stop_done_) std::exchange(self->stop_done_, {})();
  });
}

void MqttClient::teardown() {
  ++generation_;
  read_armed_ = write_armed_ = false;
  if (sd_.is_open()) {
    boost::system::error_code ec;
    sd_.cancel(ec);
    (void)sd_.release();
  }
  if (m_) {
    mosquitto_destroy(m_);
    m_ = nullptr;
  }
  connected_ = false;
  corked_ = false;  // the option went with the socket
  lost_pending_ = false;
  qos1_mids_.clear();
}

void MqttClient::schedule_reconnect() {
  auto delay = backoff_.next();
  spdlog::info("mqtt: reconnecting in {} ms", delay.count());
  retry_timer_.expires_after(delay);
  retry_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (!ec && self->running_) self->do_connect();
  });
}

void MqttClient::stop(std::string final_topic, std::string final_payload,
                      std::function<void()> done) {
  running_ = false;
  stopping_ = true;
  retry_timer_.cancel();
  tick_timer_.cancel();
  if (!connected_ || !m_) {
    teardown();
    if (done) asio::post(ex_, std::move(done));
    return;
  }
  stop_done_ = std::move(done);
  if (!final_topic.empty()) {
    mosquitto_publish(m_, nullptr, final_topic.c_str(), static_cast<int>(final_payload.size()),
                      final_payload.data(), 1, true);
  }
  // A clean DISCONNECT suppresses the Will; the retained "offline" above replaces it.
  mosquitto_disconnect(m_);
  after_io();
  // Give the socket a bounded moment to flush, then close regardless.
  retry_timer_.expires_after(std::chrono::milliseconds(500));
  retry_timer_.async_wait([self = shared_from_this()](boost::system::error_code) {
    if (self->m_) self->lose("stopped", false);
  });
}

void MqttClient::closed_before_connack() {
  // Once per attempt: the read path and the disconnect callback may both report the close.
  if (opt_.protocol_fixed || closed_attempt_ == generation_) return;
  closed_attempt_ = generation_;
  if (protocol_ == 5) {
    protocol_ = 4;
    fell_back_ = true;
    if (!fallback_logged_) {
      fallback_logged_ = true;
      spdlog::warn("mqtt: {} closed the connection during an MQTT 5 CONNECT without a "
                   "CONNACK; trying MQTT 3.1.1", broker_name());
    }
    retry_same_broker_ = true;
  } else if (fell_back_) {
    protocol_ = 5;  // 3.1.1 met the same end: the broker is going away, not refusing 5
    fell_back_ = false;
  }
  counters_.protocol = protocol_;
}

void MqttClient::cb_connect(mosquitto*, void* obj, int rc, int, const mqtt5__property*) {
  auto* self = static_cast<MqttClient*>(obj);
  if (rc != 0) {
    if (self->protocol_ == 5 && refused_protocol(rc) && !self->opt_.protocol_fixed) {
      spdlog::warn("mqtt: broker refused MQTT 5, falling back to 3.1.1");
      self->protocol_ = 4;
      self->fell_back_ = false;  // an explicit refusal: stay on 3.1.1
      self->counters_.protocol = 4;
      self->retry_same_broker_ = true;
    }
    std::string why = std::string("broker refused the connection: ") +
                      (self->protocol_ == 5 ? mosquitto_reason_string(rc)
                                            : mosquitto_connack_string(rc));
    self->lose(why, true);
    return;
  }
  self->connected_ = true;
  self->backoff_.reset();
  if (self->last_connected_ && *self->last_connected_ != self->current_) {
    ++self->counters_.failovers;
    spdlog::warn("mqtt: failed over to broker {} (failover {})", self->broker_name(),
                 self->counters_.failovers);
  }
  self->last_connected_ = self->current_;
  self->last_progress_ = std::chrono::steady_clock::now();
  ++self->counters_.connects;
  self->counters_.last_error.clear();
  spdlog::info("mqtt: connected to {} (MQTT {})", self->broker_name(),
               self->protocol_ == 5 ? "5" : "3.1.1");
  for (auto& s : self->subs_) mosquitto_subscribe(self->m_, nullptr, s.c_str(), 1);
  if (self->h_.on_connected) self->h_.on_connected();
}

void MqttClient::cb_disconnect(mosquitto*, void* obj, int rc, const mqtt5__property*) {
  auto* self = static_cast<MqttClient*>(obj);
  if (self->stopping_) {
    self->lose("stopped", false);
    return;
  }
  if (!self->connected_ && rc == MOSQ_ERR_CONN_LOST) self->closed_before_connack();
  self->lose(std::string("broker disconnected: ") + mosquitto_strerror(rc), true);
}

void MqttClient::cb_publish(mosquitto*, void* obj, int mid, int reason, const mqtt5__property*) {
  auto* self = static_cast<MqttClient*>(obj);
  if (self->qos1_mids_.erase(mid) == 0) return;  // QoS 0 "sent" or the final status
  self->last_progress_ = std::chrono::steady_clock::now();
  ++self->counters_.pubacks;
  if (reason == MQTT_RC_NO_MATCHING_SUBSCRIBERS) ++self->counters_.puback_no_subscribers;
  if (self->h_.on_puback) self->h_.on_puback(mid, reason);
}

void MqttClient::cb_message(mosquitto*, void* obj, const mosquitto_message* msg,
                            const mqtt5__property*) {
  auto* self = static_cast<MqttClient*>(obj);
  if (!self->h_.on_message || !msg || !msg->topic) return;
  std::string_view payload(static_cast<const char*>(msg->payload),
                           static_cast<std::size_t>(std::max(0, msg->payloadlen)));
  self->h_.on_message(msg->topic, payload);
}

}  // namespace floorgate::gateway
