#include "g2s/http_server.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <list>

namespace floorgate::drivers::g2s {
namespace {
namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket s, const HttpServer::Handler& h, const HttpServer::RejectCounter& rej,
          std::size_t max_body, std::chrono::milliseconds timeout)
      : stream_(std::move(s)), handler_(h), reject_(rej), max_body_(max_body), timeout_(timeout) {}
  void start() { do_read(); }
  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
  }

 private:
  void do_read() {
    parser_.emplace();
    parser_->body_limit(max_body_);
    parser_->header_limit(16 * 1024);
    stream_.expires_after(timeout_);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       self->on_read(ec);
                     });
  }
  void on_read(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == asio::error::operation_aborted ||
        ec == beast::error::timeout || ec == asio::error::eof) {
      return close();
    }
    if (ec) {
      if (reject_) reject_();
      unsigned st = ec == http::error::body_limit ? 413 : 400;
      return reply({st, st == 413 ? "body too large\n" : "bad request\n", "text/plain"}, false);
    }
    auto& req = parser_->get();
    auto r = handler_(std::string_view(req.method_string()), std::string_view(req.target()),
                      std::string_view(req.body()));
    reply(std::move(r), req.keep_alive());
  }
  void reply(HttpServer::Reply r, bool keep_alive) {
    res_ = std::make_shared<http::response<http::string_body>>(http::status(r.status), 11);
    res_->set(http::field::server, "floorgate-g2s");
    res_->set(http::field::content_type, r.content_type);
    res_->keep_alive(keep_alive);
    res_->body() = std::move(r.body);
    res_->prepare_payload();
    stream_.expires_after(timeout_);
    http::async_write(stream_, *res_,
                      [self = shared_from_this(), keep_alive](beast::error_code ec, std::size_t) {
                        if (ec || !keep_alive) return self->close();
                        self->do_read();
                      });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<http::response<http::string_body>> res_;
  HttpServer::Handler handler_;
  HttpServer::RejectCounter reject_;
  std::size_t max_body_;
  std::chrono::milliseconds timeout_;
};

}  // namespace

struct HttpServer::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::any_io_executor ex) : acceptor(ex) {}
  tcp::acceptor acceptor;
  Handler handler;
  RejectCounter on_reject;
  std::size_t max_body = 0;
  std::chrono::milliseconds timeout{};
  std::list<std::weak_ptr<Session>> sessions;
  bool stopped = false;

  void do_accept() {
    acceptor.async_accept([self = shared_from_this()](beast::error_code ec, tcp::socket s) {
      if (self->stopped || ec == asio::error::operation_aborted) return;
      if (!ec) {
        s.set_option(tcp::no_delay(true), ec);
        auto sess = std::make_shared<Session>(std::move(s), self->handler, self->on_reject,
                                              self->max_body, self->timeout);
        self->sessions.remove_if([](const auto& w) { return w.expired(); });
        self->sessions.push_back(sess);
        sess->start();
      }
      self->do_accept();
    });
  }
};

HttpServer::HttpServer(asio::any_io_executor ex, std::size_t max_body,
                       std::chrono::milliseconds read_timeout, Handler handler,
                       RejectCounter on_reject)
    : impl_(std::make_shared<Impl>(ex)) {
  impl_->handler = std::move(handler);
  impl_->on_reject = std::move(on_reject);
  impl_->max_body = max_body;
  impl_->timeout = read_timeout;
}

HttpServer::~HttpServer() { stop(); }

std::error_code HttpServer::listen(const std::string& address, int port) {
  beast::error_code ec;
  auto addr = asio::ip::make_address(address, ec);
  if (ec) return ec;
  tcp::endpoint ep(addr, static_cast<unsigned short>(port));
  impl_->acceptor.open(ep.protocol(), ec);
  if (ec) return ec;
  impl_->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  impl_->acceptor.bind(ep, ec);
  if (ec) return ec;
  impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return ec;
  impl_->do_accept();
  return {};
}

int HttpServer::port() const {
  beast::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

void HttpServer::stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  beast::error_code ec;
  impl_->acceptor.close(ec);
  for (auto& w : impl_->sessions) {
    if (auto s = w.lock()) s->close();
  }
  impl_->sessions.clear();
}

}  // namespace floorgate::drivers::g2s
