// MQTT protocol version (issue 23, first item): a broker that closes the socket on an MQTT 5
// CONNECT without a CONNACK, as RabbitMQ 3.10's 3.1.1-only plugin does. Played by a small
// proxy in front of a real Mosquitto that drops every CONNECT with protocol level 5 and
// forwards everything else.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "fake_store.hpp"
#include "harness.hpp"
#include "mosquitto_broker.hpp"

namespace fg = floorgate::gateway;
using namespace floorgate::testing;
using namespace std::chrono_literals;

namespace {

class V5DroppingProxy {
 public:
  explicit V5DroppingProxy(int upstream_port) : upstream_(upstream_port) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(listener_, 16);
    socklen_t len = sizeof a;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~V5DroppingProxy() {
    stop_ = true;
    ::shutdown(listener_, SHUT_RDWR);
    thread_.join();
    ::close(listener_);
  }
  int port() const { return port_; }
  int dropped() const { return dropped_; }
  int forwarded() const { return forwarded_; }

 private:
  // One client at a time is enough for one gateway; each connection is served to its end.
  void serve() {
    while (!stop_) {
      int c = ::accept(listener_, nullptr, nullptr);
      if (c < 0) return;
      handle(c);
      ::close(c);
    }
  }
  static int connect_to(int port) {
    int s = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(s);
      return -1;
    }
    return s;
  }
  void handle(int c) {
    // CONNECT: 0x10, remaining length (1-4 bytes), 00 04 "MQTT", protocol level.
    std::vector<std::uint8_t> head;
    std::size_t level_at = 0;
    for (int guard = 0; guard < 64 && !stop_; ++guard) {
      pollfd p{c, POLLIN, 0};
      if (::poll(&p, 1, 200) <= 0) continue;
      std::uint8_t buf[256];
      ssize_t n = ::read(c, buf, sizeof buf);
      if (n <= 0) return;
      head.insert(head.end(), buf, buf + n);
      std::size_t i = 1;
      while (i < head.size() && (head[i] & 0x80)) ++i;
      level_at = i + 1 + 6;
      if (head.size() > level_at) break;
    }
    if (head.size() <= level_at || head[0] != 0x10) return;
    if (head[level_at] == 5) {
      ++dropped_;
      return;  // closed without a CONNACK
    }
    int u = connect_to(upstream_);
    if (u < 0) return;
    ++forwarded_;
    if (::write(u, head.data(), head.size()) != static_cast<ssize_t>(head.size())) {
      ::close(u);
      return;
    }
    while (!stop_) {
      pollfd p[2] = {{c, POLLIN, 0}, {u, POLLIN, 0}};
      if (::poll(p, 2, 200) < 0) break;
      bool done = false;
      for (int k = 0; k < 2 && !done; ++k) {
        if (!(p[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        std::uint8_t buf[4096];
        ssize_t n = ::read(p[k].fd, buf, sizeof buf);
        done = n <= 0 || ::write(p[1 - k].fd, buf, static_cast<std::size_t>(n)) != n;
      }
      if (done) break;
    }
    ::close(u);
  }

  int upstream_, listener_ = -1, port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> dropped_{0}, forwarded_{0};
  std::thread thread_;
};

}  // namespace

TEST(Protocol, BrokerThatDropsMqtt5ConnectsGets311InAutoMode) {
  MosquittoBroker broker;
  V5DroppingProxy proxy(broker.port());
  FakeStore store;
  TestClient c(client_options(broker.port(), "a"));
  auto opts = mqtt_options(proxy.port());
  DeliveryHarness h(store, opts, {consumer("a")});
  for (int i = 0; i < 50; ++i) store.add(make_event(i));
  h.notify(50);
  ASSERT_TRUE(wait_until([&] { return store.acked("a") == 50; }, 30s)) << h.stats().last_error;
  EXPECT_GE(proxy.dropped(), 1);
  EXPECT_GE(proxy.forwarded(), 1);
  // The stats are a snapshot the delivery refreshes on its own: wait for the one showing it.
  EXPECT_TRUE(wait_until([&] { return h.stats().protocol == 4 && h.stats().connects >= 1; }, 10s))
      << "protocol " << h.stats().protocol << ", connects " << h.stats().connects;
}

TEST(Protocol, ForcedMqtt5KeepsTryingFiveAndNeverConnects) {
  MosquittoBroker broker;
  V5DroppingProxy proxy(broker.port());
  FakeStore store;
  auto opts = mqtt_options(proxy.port());
  opts.protocol_fixed = true;
  DeliveryHarness h(store, opts, {consumer("a")});
  ASSERT_TRUE(wait_until([&] { return proxy.dropped() >= 3; }, 30s));
  EXPECT_EQ(proxy.forwarded(), 0);
  EXPECT_EQ(h.stats().protocol, 5);
  EXPECT_EQ(h.stats().connects, 0u);
}
