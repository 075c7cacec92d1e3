#include "g2s/http_server.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <list>
#include <type_traits>

#include "g2s/tls.hpp"

namespace floorgate::drivers::g2s {
namespace {
namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// What every connection needs from its server.
struct Settings {
  HttpServer::Handler handler;
  HttpServer::RejectCounter reject;
  HttpServer::TlsReject tls_reject;
  std::size_t max_body = 0;
  std::chrono::milliseconds timeout{};
};

// Lets the server close connections of either stream type on stop().
struct Connection {
  virtual ~Connection() = default;
  virtual void close() = 0;
  virtual const std::string& address() const = 0;
};

beast::tcp_stream& tcp_layer(beast::tcp_stream& s) { return s; }
beast::tcp_stream& tcp_layer(TlsStream& s) { return beast::get_lowest_layer(s); }

// One connection: [TLS handshake], then read request -> handler -> write reply, repeated while
// the client keeps the connection alive.
template <class Stream>
class Session : public Connection, public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  Session(Stream s, std::shared_ptr<const Settings> settings, std::string peer,
          std::string address)
      : stream_(std::move(s)), set_(std::move(settings)), peer_(std::move(peer)) {
    who_.address = std::move(address);
    who_.tls = kTls;
  }
  const std::string& address() const override { return who_.address; }
  void start() {
    if constexpr (kTls) {
      tcp_layer(stream_).expires_after(set_->timeout);
      stream_.async_handshake(ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                self->on_handshake(ec);
                              });
    } else {
      do_read();
    }
  }
  void close() override {
    beast::error_code ec;
    tcp_layer(stream_).socket().shutdown(tcp::socket::shutdown_both, ec);
    tcp_layer(stream_).close();
  }

 private:
  void on_handshake(beast::error_code ec) {
    if (ec) {
      if (ec != asio::error::operation_aborted && set_->tls_reject) {
        if constexpr (kTls) set_->tls_reject(peer_, tls_failure_text(ec, stream_.native_handle()));
      }
      return close();
    }
    if constexpr (kTls) who_.cert_names = peer_certificate_names(stream_.native_handle());
    do_read();
  }
  void do_read() {
    parser_.emplace();
    parser_->body_limit(set_->max_body);
    parser_->header_limit(16 * 1024);
    tcp_layer(stream_).expires_after(set_->timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                       self->on_read(ec);
                     });
  }
  void on_read(beast::error_code ec) {
    // A peer that hangs up between requests, TLS ones included (most clients close the socket
    // without a close_notify: stream_truncated), is not a bad request.
    if (ec == http::error::end_of_stream || ec == asio::error::operation_aborted ||
        ec == beast::error::timeout || ec == asio::error::eof ||
        ec == ssl::error::stream_truncated) {
      return finish();
    }
    if (ec) {
      if (set_->reject) set_->reject();
      unsigned st = ec == http::error::body_limit ? 413 : 400;
      return reply({st, st == 413 ? "body too large\n" : "bad request\n", "text/plain"}, false);
    }
    auto& req = parser_->get();
    auto r = set_->handler(who_, std::string_view(req.method_string()),
                           std::string_view(req.target()), std::string_view(req.body()));
    reply(std::move(r), req.keep_alive());
  }
  void reply(HttpServer::Reply r, bool keep_alive) {
    res_ = std::make_shared<http::response<http::string_body>>(http::status(r.status), 11);
    res_->set(http::field::server, "floorgate-g2s");
    res_->set(http::field::content_type, r.content_type);
    res_->keep_alive(keep_alive);
    res_->body() = std::move(r.body);
    res_->prepare_payload();
    tcp_layer(stream_).expires_after(set_->timeout);
    http::async_write(stream_, *res_,
                      [self = this->shared_from_this(), keep_alive](beast::error_code ec, std::size_t) {
                        if (ec) return self->close();
                        if (!keep_alive) return self->finish();
                        self->do_read();
                      });
  }
  // End of the conversation: TLS says close_notify first (bounded), then the socket closes.
  void finish() {
    if constexpr (kTls) {
      tcp_layer(stream_).expires_after(std::chrono::seconds(2));
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) { self->close(); });
    } else {
      close();
    }
  }

  Stream stream_;
  std::shared_ptr<const Settings> set_;
  std::string peer_;
  HttpServer::Peer who_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<http::response<http::string_body>> res_;
};

}  // namespace

struct HttpServer::Impl : std::enable_shared_from_this<Impl> {
  explicit Impl(asio::any_io_executor ex) : acceptor(ex), retry(ex) {}
  tcp::acceptor acceptor;
  asio::steady_timer retry;
  std::chrono::milliseconds backoff{0};
  HttpServer::Limits limits;
  std::uint64_t refused = 0, accept_errors = 0;
  std::shared_ptr<Settings> settings = std::make_shared<Settings>();
  std::shared_ptr<ssl::context> tls;
  std::list<std::weak_ptr<Connection>> sessions;
  bool stopped = false;

  void do_accept() {
    acceptor.async_accept([self = shared_from_this()](beast::error_code ec, tcp::socket s) {
      if (self->stopped || ec == asio::error::operation_aborted) return;
      if (ec) {
        // Out of descriptors (EMFILE/ENFILE) or buffers: retrying at once spins the loop that
        // also polls the SAS buses. Pause 50 ms doubling to 1 s.
        ++self->accept_errors;
        self->backoff = std::min<std::chrono::milliseconds>(
            std::chrono::seconds(1),
            std::max<std::chrono::milliseconds>(std::chrono::milliseconds(50), self->backoff * 2));
        self->retry.expires_after(self->backoff);
        self->retry.async_wait([self](beast::error_code e) {
          if (!e && !self->stopped) self->do_accept();
        });
        return;
      }
      self->backoff = std::chrono::milliseconds(0);
      self->start_session(std::move(s));
      self->do_accept();
    });
  }
  void start_session(tcp::socket s) {
    beast::error_code ec;
    s.set_option(tcp::no_delay(true), ec);
    auto ep = s.remote_endpoint(ec);
    if (ec) return;
    auto ip = ep.address();
    if (ip.is_v6() && ip.to_v6().is_v4_mapped()) {
      ip = asio::ip::make_address_v4(asio::ip::v4_mapped, ip.to_v6());
    }
    std::string address = ip.to_string();
    std::string peer = address + ":" + std::to_string(ep.port());
    sessions.remove_if([](const auto& w) { return w.expired(); });
    std::size_t total = 0, mine = 0;
    for (const auto& w : sessions) {
      if (auto c = w.lock()) {
        ++total;
        mine += c->address() == address;
      }
    }
    if (total >= limits.max_connections || mine >= limits.max_per_address) {
      ++refused;
      s.close(ec);
      return;
    }
    std::shared_ptr<Connection> conn;
    if (tls) {
      auto sess = std::make_shared<Session<TlsStream>>(TlsStream(std::move(s), *tls), settings,
                                                       peer, address);
      sess->start();
      conn = sess;
    } else {
      auto sess = std::make_shared<Session<beast::tcp_stream>>(beast::tcp_stream(std::move(s)),
                                                               settings, peer, address);
      sess->start();
      conn = sess;
    }
    sessions.push_back(conn);
  }
};

HttpServer::HttpServer(asio::any_io_executor ex, std::size_t max_body,
                       std::chrono::milliseconds read_timeout, Handler handler,
                       RejectCounter on_reject)
    : impl_(std::make_shared<Impl>(ex)) {
  auto& s = *impl_->settings;
  s.handler = std::move(handler);
  s.reject = std::move(on_reject);
  s.max_body = max_body;
  s.timeout = read_timeout;
}

HttpServer::~HttpServer() { stop(); }

void HttpServer::set_limits(Limits limits) { impl_->limits = limits; }

std::uint64_t HttpServer::refused_connections() const { return impl_->refused; }

std::uint64_t HttpServer::accept_errors() const { return impl_->accept_errors; }

void HttpServer::use_tls(std::shared_ptr<ssl::context> ctx, TlsReject on_tls_reject) {
  impl_->tls = std::move(ctx);
  impl_->settings->tls_reject = std::move(on_tls_reject);
}

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
  impl_->retry.cancel();
  for (auto& w : impl_->sessions) {
    if (auto s = w.lock()) s->close();
  }
  impl_->sessions.clear();
}

}  // namespace floorgate::drivers::g2s
