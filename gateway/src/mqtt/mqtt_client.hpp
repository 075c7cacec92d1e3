#pragma once
// libmosquitto driven from the daemon's single Asio io_context.
//
// Why on the loop and not mosquitto_loop_start()'s own thread: every piece of delivery state
// (windows, cursors, replay) lives on the io_context; a second thread would need locks or a
// hand-off queue around every publish and every callback. Instead the broker socket
// (mosquitto_socket) is wrapped in a posix::stream_descriptor that only *waits* for
// readiness (async_wait read/write); the reads and writes themselves are done by
// mosquitto_loop_read/mosquitto_loop_write, and a 250 ms timer drives mosquitto_loop_misc
// (keepalive), the connect deadline and the progress watchdog. libmosquitto callbacks
// therefore run inside our handlers on the loop thread. The descriptor is release()d before
// libmosquitto closes the fd, so ownership of the fd stays with libmosquitto.
//
// One mosquitto instance per connection attempt: on any loss it is destroyed, which also
// frees libmosquitto's in-memory out-queue (the store is the only buffer; the caller resends
// unacked rows from SQLite after a reconnect).

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <optional>
#include <unordered_set>
#include <utility>
#include <vector>

#include "floorgate/gateway/backoff.hpp"
#include "floorgate/gateway/delivery.hpp"
#include "floorgate/gateway/mqtt_transport.hpp"

struct mosquitto;
struct mqtt5__property;
struct mosquitto_message;

namespace floorgate::gateway {

class MqttClient final : public MqttTransport,
                         public std::enable_shared_from_this<MqttClient> {
 public:
  using Handlers = MqttTransport::Handlers;
  using Counters = MqttTransport::Counters;

  MqttClient(boost::asio::any_io_executor ex, MqttOptions options, Handlers handlers);
  ~MqttClient() override;

  // The Last Will (QoS 1, retained) set on every connection attempt.
  void set_will(std::string topic, std::string payload) override;
  // Subscriptions (QoS 1) made after every CONNACK.
  void set_subscriptions(std::vector<std::string> filters) override;
  // Begins connecting (and reconnecting with backoff until stop()).
  void start() override;
  // Publishes `final_topic`/`final_payload` (retained, QoS 1) if connected, then disconnects
  // cleanly; `done` runs on the loop once closed. No reconnect afterwards.
  void stop(std::string final_topic, std::string final_payload,
            std::function<void()> done) override;
  // QoS 0/1 publish; returns the mid, or -1 when not connected or the library refused.
  int publish(const std::string& topic, std::string_view payload, int qos, bool retain,
              const UserProps* props = nullptr) override;
  bool connected() const override { return connected_; }
  // TCP_CORK on the broker socket while held; releasing it sends what is queued at once.
  void hold_writes(bool on) override;
  // QoS 1 publishes without PUBACK yet on the current connection.
  std::size_t outstanding() const override { return qos1_mids_.size(); }
  // Drops the connection now and reconnects after a backoff delay.
  void recycle(const std::string& why) override;
  const Counters& counters() const override { return counters_; }

 private:
  void do_connect();
  // The broker being tried or used, and moving on to the next one after a loss.
  const std::pair<std::string, int>& broker() const { return brokers_[current_]; }
  std::string broker_name() const;
  void next_broker();
  // The broker closed the socket after our CONNECT and before any CONNACK (auto protocol).
  void closed_before_connack();
  void arm_read();
  void arm_write();
  void on_tick();
  void lose(const std::string& why, bool retry);
  void teardown();
  void schedule_reconnect();
  void after_io();
  // libmosquitto's list for `props`, built once for the last few distinct sets: delivery sends
  // each event's properties to every consumer in turn (libmosquitto copies the list into
  // each QoS 1 message it keeps; ours stays here). nullptr for no properties.
  mqtt5__property* props_list(const UserProps& props);

  static void cb_connect(mosquitto*, void*, int rc, int flags, const mqtt5__property*);
  static void cb_disconnect(mosquitto*, void*, int rc, const mqtt5__property*);
  static void cb_publish(mosquitto*, void*, int mid, int reason, const mqtt5__property*);
  static void cb_message(mosquitto*, void*, const mosquitto_message*,
                         const mqtt5__property*);

  boost::asio::any_io_executor ex_;
  MqttOptions opt_;
  Handlers h_;
  Backoff backoff_;
  boost::asio::posix::stream_descriptor sd_;
  boost::asio::steady_timer tick_timer_, retry_timer_;
  mosquitto* m_ = nullptr;
  std::string will_topic_, will_payload_;
  std::vector<std::string> subs_;
  bool running_ = false, connected_ = false, read_armed_ = false, write_armed_ = false;
  bool corked_ = false;  // hold_writes(true) set TCP_CORK on the current socket
  bool stopping_ = false, lost_pending_ = false;
  bool retry_same_broker_ = false;  // the next reconnect is a protocol fallback on this broker
  std::vector<std::pair<std::string, int>> brokers_;  // never empty
  std::size_t current_ = 0;                           // index into brokers_
  std::optional<std::size_t> last_connected_;         // broker of the last CONNACK
  // What each broker speaks (auto): protocol_/fell_back_ belong to brokers_[current_] and
  // are saved here when moving on.
  std::vector<std::pair<int, bool>> protocol_by_broker_;
  int protocol_ = 5;
  bool fell_back_ = false;      // protocol_ 4 came from a fallback (auto), not the options
  bool fallback_logged_ = false;
  std::uint64_t closed_attempt_ = 0;  // generation_ of the attempt closed_before_connack judged
  std::unordered_set<int> qos1_mids_;  // QoS 1 publishes awaiting PUBACK
  std::chrono::steady_clock::time_point attempt_started_, last_progress_;
  std::uint64_t generation_ = 0;  // bumps per connection; stale async waits compare it
  std::function<void()> stop_done_;
  Counters counters_;
  struct PropsList {
    UserProps props;
    mqtt5__property* list = nullptr;
  };
  std::array<PropsList, 16> props_lists_;
  std::size_t props_next_ = 0;  // the entry props_list replaces next
};

}  // namespace floorgate::gateway
