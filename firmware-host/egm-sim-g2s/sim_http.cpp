#include "sim_http.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <deque>
#include <list>

namespace floorgate::egmsim::g2s {
namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {
struct Conn : std::enable_shared_from_this<Conn> {
  Conn(tcp::socket s, SimServer::Handler h) : stream(std::move(s)), handler(std::move(h)) {}
  beast::tcp_stream stream;
  beast::flat_buffer buf;
  http::request<http::string_body> req;
  http::response<http::string_body> res;
  SimServer::Handler handler;
  void read() {
    req = {};
    stream.expires_after(std::chrono::seconds(60));
    http::async_read(stream, buf, req, [s = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return s->close();
      auto a = s->handler(std::string(s->req.target()), s->req.body());
      if (!a) return s->close();
      s->res = {http::status(a->status), 11};
      s->res.set(http::field::content_type, "text/xml; charset=utf-8");
      s->res.keep_alive(s->req.keep_alive());
      s->res.body() = std::move(a->body);
      s->res.prepare_payload();
      http::async_write(s->stream, s->res, [s](beast::error_code ec2, std::size_t) {
        if (ec2 || !s->res.keep_alive()) return s->close();
        s->read();
      });
    });
  }
  void close() {
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream.close();
  }
};
}  // namespace

struct SimServer::Impl : std::enable_shared_from_this<Impl> {
  explicit Impl(asio::io_context& io) : acc(io) {}
  tcp::acceptor acc;
  Handler handler;
  std::list<std::weak_ptr<Conn>> conns;
  void accept() {
    acc.async_accept([s = shared_from_this()](beast::error_code ec, tcp::socket sock) {
      if (ec == asio::error::operation_aborted || !s->acc.is_open()) return;
      if (!ec) {
        beast::error_code ig;
        sock.set_option(tcp::no_delay(true), ig);  // no Nagle stall on small replies
        auto c = std::make_shared<Conn>(std::move(sock), s->handler);
        s->conns.remove_if([](auto& w) { return w.expired(); });
        s->conns.push_back(c);
        c->read();
      }
      s->accept();
    });
  }
};

SimServer::SimServer(asio::io_context& io, Handler h) : impl_(std::make_shared<Impl>(io)) {
  impl_->handler = std::move(h);
}
SimServer::~SimServer() { stop(); }
bool SimServer::listen(int port) {
  beast::error_code ec;
  tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port));
  impl_->acc.open(ep.protocol(), ec);
  impl_->acc.set_option(asio::socket_base::reuse_address(true), ec);
  impl_->acc.bind(ep, ec);
  if (ec) return false;
  impl_->acc.listen(128, ec);
  if (ec) return false;
  impl_->accept();
  return true;
}
int SimServer::port() const {
  beast::error_code ec;
  return impl_->acc.local_endpoint(ec).port();
}
void SimServer::stop() {
  beast::error_code ec;
  impl_->acc.close(ec);
  for (auto& w : impl_->conns) {
    if (auto c = w.lock()) c->close();
  }
}

struct SimClient::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::io_context& io) : io_(io), stream(io) {}
  asio::io_context& io_;
  beast::tcp_stream stream;
  std::string host, port, path;
  std::chrono::milliseconds timeout{};
  bool open = false, busy = false, stopped = false;
  std::deque<std::pair<std::string, Done>> q;
  beast::flat_buffer buf;
  http::request<http::string_body> req;
  http::response<http::string_body> res;

  void drop() {
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream.close();
    open = false;
  }
  void complete(bool ok, unsigned st, std::string body) {
    if (!ok) drop();
    auto d = std::move(q.front().second);
    q.pop_front();
    busy = false;
    d(ok, st, std::move(body));
    pump();
  }
  void pump() {
    if (busy || stopped || q.empty()) return;
    busy = true;
    req = {http::verb::post, path, 11};
    req.set(http::field::host, host);
    req.set(http::field::content_type, "text/xml; charset=utf-8");
    req.set("SOAPAction", "\"http://G2S.gamingstandards.com/SendG2SMessage\"");
    req.set(http::field::user_agent, "floorgate-egm-sim-g2s");
    req.body() = q.front().first;
    req.prepare_payload();
    stream.expires_after(timeout);
    if (open) return write();
    beast::error_code ec;
    auto addr = asio::ip::make_address(host, ec);
    if (ec) return complete(false, 0, {});
    tcp::endpoint ep(addr, static_cast<unsigned short>(std::atoi(port.c_str())));
    stream.async_connect(ep, [s = shared_from_this()](beast::error_code ec2) {
      if (s->stopped) return;
      if (ec2) return s->complete(false, 0, {});
      s->open = true;
      beast::error_code ig;
      s->stream.socket().set_option(tcp::no_delay(true), ig);
      s->write();
    });
  }
  void write() {
    http::async_write(stream, req, [s = shared_from_this()](beast::error_code ec, std::size_t) {
      if (s->stopped) return;
      if (ec) return s->complete(false, 0, {});
      s->res = {};
      http::async_read(s->stream, s->buf, s->res, [s](beast::error_code ec2, std::size_t) {
        if (s->stopped) return;
        if (ec2) return s->complete(false, 0, {});
        if (!s->res.keep_alive()) s->drop();
        s->complete(true, s->res.result_int(), std::move(s->res.body()));
      });
    });
  }
};

SimClient::SimClient(asio::io_context& io, std::string host, std::string port, std::string path,
                     std::chrono::milliseconds timeout)
    : impl_(std::make_shared<Impl>(io)) {
  impl_->host = std::move(host);
  impl_->port = std::move(port);
  impl_->path = std::move(path);
  impl_->timeout = timeout;
}
SimClient::~SimClient() { stop(); }
void SimClient::post(std::string body, Done done) {
  if (impl_->stopped) return;
  impl_->q.emplace_back(std::move(body), std::move(done));
  impl_->pump();
}
std::size_t SimClient::pending() const { return impl_->q.size(); }
void SimClient::stop() {
  impl_->stopped = true;
  impl_->drop();
  impl_->q.clear();
}

}  // namespace floorgate::egmsim::g2s
