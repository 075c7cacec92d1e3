#pragma once
// Runs a Delivery on its own io_context thread against a given store and a real broker, and
// offers helpers to call into the loop and to make events.

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <future>
#include <thread>

#include "floorgate/gateway/delivery.hpp"
#include "test_consumer.hpp"

namespace floorgate::testing {

// Topic root of the gateway the protocol tests run.
inline const std::string kTestRoot = "floor/v1/test/gw1";

inline store::Record make_event(int i, std::string egm = "", std::string type = "",
                                store::EventClass cls = store::EventClass::operational) {
  static const char* types[] = {"door.opened", "bill.stacked", "game.started", "meters.snapshot"};
  static const store::EventClass classes[] = {store::EventClass::security,
                                              store::EventClass::financial,
                                              store::EventClass::operational,
                                              store::EventClass::telemetry};
  store::Record r;
  r.egm = egm.empty() ? "egm-" + std::to_string(i % 4) : egm;
  if (type.empty()) {
    r.type = types[i % 4];
    r.cls = classes[i % 4];
  } else {
    r.type = type;
    r.cls = cls;
  }
  r.ts_gw_ms = 1763840250000 + i;
  r.source = "sas:0x11";
  r.attrs_json = "{\"i\":" + std::to_string(i) + ",\"pad\":\"" + std::string(60, 'x') + "\"}";
  r.raw_hex = "01ff";
  return r;
}

class DeliveryHarness {
 public:
  DeliveryHarness(store::Store& store, gateway::MqttOptions mqtt,
                  std::vector<gateway::ConsumerOptions> consumers)
      : store_(store), work_(ioc_.get_executor()) {
    delivery_ = std::make_unique<gateway::Delivery>(ioc_.get_executor(), store_, std::move(mqtt),
                                                    std::move(consumers));
    thread_ = std::thread([this] { ioc_.run(); });
    on_loop([this] { delivery_->start(); });
  }
  ~DeliveryHarness() { shutdown(); }

  void shutdown() {
    if (!thread_.joinable()) return;
    auto stopped = std::make_shared<std::promise<void>>();
    auto fut = stopped->get_future();
    boost::asio::post(ioc_, [this, stopped] {
      delivery_->stop([stopped] { stopped->set_value(); });
    });
    fut.wait_for(std::chrono::seconds(5));
    on_loop([this] { delivery_.reset(); });
    work_.reset();
    ioc_.stop();
    thread_.join();
  }

  template <class F>
  auto on_loop(F f) -> decltype(f()) {
    auto task = std::make_shared<std::packaged_task<decltype(f())()>>(std::move(f));
    auto fut = task->get_future();
    boost::asio::post(ioc_, [task] { (*task)(); });
    return fut.get();
  }
  void notify(std::uint64_t seq) {
    on_loop([this, seq] { delivery_->notify_appended(seq); });
  }
  // Thread-safe, non-blocking: posts notify_appended onto the loop (like the daemon's sink).
  void post_notify(std::uint64_t seq) {
    boost::asio::post(ioc_, [this, seq] {
      if (delivery_) delivery_->notify_appended(seq);
    });
  }
  gateway::DeliveryStats stats() { return delivery_->stats(); }
  gateway::Delivery& delivery() { return *delivery_; }

 private:
  store::Store& store_;
  boost::asio::io_context ioc_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_;
  std::unique_ptr<gateway::Delivery> delivery_;
  std::thread thread_;
};

// A test consumer of stream `name` on the broker at `port`; acks what it gets unless `ack` is
// false.
inline TestClient::Options client_options(int port, const std::string& name, bool ack = true) {
  TestClient::Options o;
  o.port = port;
  o.id = "sub-" + name + "-" + std::to_string(port);
  o.subscriptions = {kTestRoot + "/c/" + name + "/#"};
  if (ack) o.ack_topic = kTestRoot + "/ack/" + name;
  return o;
}

inline gateway::MqttOptions mqtt_options(int port, const std::string& root = "floor/v1/test/gw1") {
  gateway::MqttOptions o;
  o.port = port;
  o.topic_root = root;
  o.client_id = "gw-" + std::to_string(::getpid()) + "-" + std::to_string(port);
  o.backoff_initial = std::chrono::milliseconds(50);
  o.backoff_max = std::chrono::milliseconds(500);
  o.health_period = std::chrono::seconds(1);
  o.stall_timeout = std::chrono::seconds(5);
  return o;
}

inline gateway::ConsumerOptions consumer(const std::string& name, store::Route route = {},
                                         std::size_t window = 100) {
  gateway::ConsumerOptions c;
  c.name = name;
  c.route = std::move(route);
  c.window = window;
  c.ack_timeout = std::chrono::seconds(5);
  c.replay_rate = 2000;
  return c;
}

}  // namespace floorgate::testing
