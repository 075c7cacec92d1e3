// net::HttpServer, the one HTTP core under the G2S listener and the web page, driven over real
// loopback sockets by blocking clients while its executor runs on a thread of its own. Every
// wait is on a condition (bytes arriving, the server's own counters), never on the clock.
#include <floorgate/net/http_server.hpp>

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <future>
#include <optional>
#include <thread>

#include "test_process.hpp"

namespace floorgate::net {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// A server on 127.0.0.1:<free port> with its executor on a thread of its own.
class Served {
 public:
  explicit Served(HttpLimits limits, std::function<void(HttpRequest, const HttpPeer&, HttpReply)> on_request)
      : guard_(asio::make_work_guard(io_)) {
    HttpHandlers h;
    h.request = std::move(on_request);
    h.refusal = [](unsigned status, std::string_view why, unsigned version) {
      HttpResponse res{static_cast<http::status>(status), version};
      res.body() = std::string(why);
      res.prepare_payload();
      return res;
    };
    server_.emplace(io_.get_executor(), limits, std::move(h));
    EXPECT_FALSE(server_->listen("127.0.0.1", 0));
    thread_ = std::thread([this] { io_.run(); });
  }
  int port() const { return server_->port(); }
  asio::io_context& io() { return io_; }
  // Runs f on the server's executor and waits for it.
  template <class F>
  auto on_loop(F f) {
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto fut = task.get_future();
    asio::post(io_, [&task] { task(); });
    return fut.get();
  }
  ~Served() {
    on_loop([this] { server_->stop(); });
    guard_.reset();
    io_.stop();
    thread_.join();
  }
  std::uint64_t refused_connections() { return on_loop([this] { return server_->refused_connections(); }); }
  std::uint64_t refused_requests() { return on_loop([this] { return server_->refused_requests(); }); }
  std::size_t connections() { return on_loop([this] { return server_->connections(); }); }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::optional<HttpServer> server_;
  std::thread thread_;
};

HttpResponse text(unsigned version, bool keep_alive, std::string body) {
  HttpResponse res{http::status::ok, version};
  res.keep_alive(keep_alive);
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

struct Client {
  asio::io_context io;
  tcp::socket s{io};
  boost::beast::flat_buffer buf;
  explicit Client(int port) { s.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)}); }
  void send(const std::string& raw) { asio::write(s, asio::buffer(raw)); }
  // One response, or nullopt when the server closed the connection first.
  std::optional<http::response<http::string_body>> response() {
    http::response<http::string_body> res;
    boost::system::error_code ec;
    http::read(s, buf, res, ec);
    if (ec) return std::nullopt;
    return res;
  }
  // True once the server has closed the connection (read returns EOF or a reset).
  bool closed_by_server() {
    char c;
    boost::system::error_code ec;
    s.read_some(asio::buffer(&c, 1), ec);
    return ec == asio::error::eof || ec == asio::error::connection_reset;
  }
};

const std::string kGet = "GET /x HTTP/1.1\r\nHost: t\r\n\r\n";

TEST(NetHttpServer, ADeferredReplyAnswersAndTheConnectionServesTheNextRequest) {
  std::atomic<int> seen{0};
  Served srv({}, [&](HttpRequest req, const HttpPeer& peer, HttpReply reply) {
    EXPECT_EQ(peer.address, "127.0.0.1");
    EXPECT_FALSE(peer.tls);
    const int n = ++seen;
    // Answered from a later handler, as the web page does for work done off the loop.
    auto keep = std::make_shared<HttpReply>(std::move(reply));
    asio::post(srv.io(), [keep, n, v = req.version(), ka = req.keep_alive()] {
      keep->send(text(v, ka, "answer " + std::to_string(n)));
    });
  });
  Client c(srv.port());
  c.send(kGet);
  auto r1 = c.response();
  ASSERT_TRUE(r1);
  EXPECT_EQ(r1->body(), "answer 1");
  c.send(kGet);  // the same connection: kept alive
  auto r2 = c.response();
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->body(), "answer 2");
}

TEST(NetHttpServer, AReplyDroppedUnansweredClosesTheConnection) {
  Served srv({}, [](HttpRequest, const HttpPeer&, HttpReply) {});
  Client c(srv.port());
  c.send(kGet);
  EXPECT_FALSE(c.response()) << "no answer was given, so nothing may arrive";
}

TEST(NetHttpServer, LimitsAreRefusedWithTheirStatusBeforeTheHandlerSeesAnything) {
  HttpLimits lim;
  lim.max_body = 100;
  lim.max_header_count = 4;
  lim.max_header_bytes = 512;
  std::atomic<int> handled{0};
  Served srv(lim, [&](HttpRequest req, const HttpPeer&, HttpReply reply) {
    ++handled;
    reply.send(text(req.version(), req.keep_alive(), "ok"));
  });
  auto status_of = [&](const std::string& raw) {
    Client c(srv.port());
    c.send(raw);
    auto r = c.response();
    return r ? static_cast<unsigned>(r->result_int()) : 0u;
  };
  std::string fields;
  for (int i = 0; i < 5; ++i) fields += "X-F" + std::to_string(i) + ": v\r\n";
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: t\r\n" + fields + "\r\n"), 431u);
  EXPECT_EQ(status_of("GET / HTTP/1.1\r\nHost: t\r\nX-Long: " + std::string(600, 'a') + "\r\n\r\n"), 431u);
  // Refused on its Content-Length alone: the 101 bytes are never sent.
  EXPECT_EQ(status_of("POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 101\r\n\r\n"), 413u);
  EXPECT_EQ(status_of("NOT HTTP AT ALL\r\n\r\n"), 400u);
  EXPECT_EQ(handled.load(), 0);
  EXPECT_EQ(srv.refused_requests(), 4u);
  EXPECT_EQ(status_of(kGet), 200u);
  EXPECT_EQ(handled.load(), 1);
}

TEST(NetHttpServer, AClientTooSlowToSendItsRequestIsClosedAtTheDeadline) {
  HttpLimits lim;
  lim.read_timeout = 300ms;
  Served srv(lim, [](HttpRequest req, const HttpPeer&, HttpReply reply) {
    reply.send(text(req.version(), req.keep_alive(), "ok"));
  });
  Client c(srv.port());
  c.send("GET / HTTP/1.1\r\nHost: t\r\n");  // the header never ends
  EXPECT_TRUE(c.closed_by_server());  // blocks until the server gives up on it
  EXPECT_EQ(srv.refused_requests(), 0u) << "a slow client is dropped, not answered";
}

TEST(NetHttpServer, ConnectionsOverThePerAddressCapAreClosedAtAccept) {
  HttpLimits lim;
  lim.max_per_address = 2;
  Served srv(lim, [](HttpRequest req, const HttpPeer&, HttpReply reply) {
    reply.send(text(req.version(), req.keep_alive(), "ok"));
  });
  Client a(srv.port()), b(srv.port());
  // Both are served (so both are registered) before the third arrives.
  for (Client* c : {&a, &b}) {
    c->send(kGet);
    ASSERT_TRUE(c->response());
  }
  Client third(srv.port());
  EXPECT_TRUE(third.closed_by_server());
  EXPECT_EQ(srv.refused_connections(), 1u);
  // A place frees up when one leaves.
  a.s.close();
  ASSERT_TRUE(floorgate::testing::wait_until([&] { return srv.connections() == 1; }, 10s));
  Client fourth(srv.port());
  fourth.send(kGet);
  EXPECT_TRUE(fourth.response());
}

TEST(NetHttpServer, APushStreamDeliversFramesInOrderAndEndsWhenTheClientLeaves) {
  std::shared_ptr<HttpPushStream> stream;
  std::promise<void> opened;
  Served srv({}, [&](HttpRequest, const HttpPeer&, HttpReply reply) {
    stream = reply.push("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\n");
    opened.set_value();
  });
  Client c(srv.port());
  c.send(kGet);
  opened.get_future().wait();
  srv.on_loop([&] {
    for (int i = 0; i < 3; ++i) stream->send(std::make_shared<const std::string>("data: " + std::to_string(i) + "\n\n"));
  });
  std::string got;
  asio::read_until(c.s, asio::dynamic_buffer(got), "data: 2\n\n");
  EXPECT_NE(got.find("text/event-stream"), std::string::npos);
  EXPECT_LT(got.find("data: 0"), got.find("data: 1"));
  EXPECT_LT(got.find("data: 1"), got.find("data: 2"));
  // The server holds the stream only through its pending read: once the client goes, the
  // stream ends and the connection is forgotten.
  std::weak_ptr<HttpPushStream> weak = stream;
  srv.on_loop([&] { stream.reset(); });
  c.s.close();
  EXPECT_TRUE(floorgate::testing::wait_until([&] { return srv.on_loop([&] { return weak.expired(); }); }, 10s));
  EXPECT_EQ(srv.connections(), 0u);
}

}  // namespace
}  // namespace floorgate::net
