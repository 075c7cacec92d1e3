#pragma once
// The seam between the delivery engine and the broker connection.
//
// Delivery (delivery.hpp) decides what to publish, when to resend and what an ack means; the
// transport only carries messages. The product transport is libmosquitto driven from the
// event loop (gateway/src/mqtt/mqtt_client.hpp). Unit tests give Delivery a fake transport
// and a core::ManualClock and drive it with Delivery::poll(): the delivery rules are then
// tested without a broker, sockets or real time (the way the SAS engine is tested without a
// serial port). Every method is called on the delivery's executor.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace floorgate::core {
class Clock;
}

namespace floorgate::gateway {

struct MqttOptions;
using UserProps = std::vector<std::pair<std::string, std::string>>;

class MqttTransport {
 public:
  // Callbacks into the delivery engine, run on its executor.
  struct Handlers {
    std::function<void()> on_connected;                           // CONNACK accepted
    std::function<void(const std::string& why)> on_disconnected;  // link lost (was connected)
    std::function<void(const std::string& topic, std::string_view payload)> on_message;
    std::function<void(int mid, int reason)> on_puback;           // QoS 1 PUBACK
  };
  // Counters and state for DeliveryStats and the health message.
  struct Counters {
    std::uint64_t connects = 0, connect_failures = 0, disconnects = 0, stall_recycles = 0,
                  pubacks = 0, puback_no_subscribers = 0;
    std::string last_error;
    int protocol = 5;              // 5 or 4 (3.1.1)
    std::string broker;            // host:port of the broker in use (or being tried)
    std::uint64_t failovers = 0;   // connections made to a different broker than the last one
  };

  virtual ~MqttTransport() = default;
  // The Last Will (QoS 1, retained) set on every connection attempt.
  virtual void set_will(std::string topic, std::string payload) = 0;
  // Subscriptions (QoS 1) made after every CONNACK.
  virtual void set_subscriptions(std::vector<std::string> filters) = 0;
  // Begins connecting (and reconnecting until stop()).
  virtual void start() = 0;
  // Publishes `final_topic`/`final_payload` (retained, QoS 1) if connected, then disconnects
  // cleanly; `done` runs on the executor once closed. No reconnect afterwards.
  virtual void stop(std::string final_topic, std::string final_payload,
                    std::function<void()> done) = 0;
  // QoS 0/1 publish; returns the message id, or -1 when not connected or refused.
  virtual int publish(const std::string& topic, std::string_view payload, int qos, bool retain,
                      const UserProps* props = nullptr) = 0;
  virtual bool connected() const = 0;
  // Publishes between hold_writes(true) and hold_writes(false) may leave in one TCP segment
  // (a burst of events to three consumers: one segment instead of one per publish). Nothing
  // is held past hold_writes(false). Default: every publish goes out on its own.
  virtual void hold_writes(bool) {}
  // QoS 1 publishes without PUBACK yet on the current connection.
  virtual std::size_t outstanding() const = 0;
  // Drops the connection now and reconnects later.
  virtual void recycle(const std::string& why) = 0;
  virtual const Counters& counters() const = 0;
};

// Makes the transport for a Delivery (called once, from Delivery::start()).
using MqttTransportFactory =
    std::function<std::shared_ptr<MqttTransport>(const MqttOptions&, MqttTransport::Handlers)>;

// How a Delivery meets the world. The defaults are the product's: libmosquitto on the
// executor, the system clock, Asio timers for the 50 ms delivery tick and the health period.
struct DeliveryDrive {
  const core::Clock* clock = nullptr;  // nullptr: core::system_clock()
  MqttTransportFactory transport;      // empty: the libmosquitto client
  // false: no timers are armed; the owner calls Delivery::poll() (tests with a ManualClock).
  bool timers = true;
};

}  // namespace floorgate::gateway
