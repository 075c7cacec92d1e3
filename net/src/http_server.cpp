// The HTTP/1.1 server core (see http_server.hpp).
#include "floorgate/net/http_server.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <algorithm>
#include <array>
#include <deque>
#include <list>
#include <optional>
#include <type_traits>
#include "floorgate/core/loop_site.hpp"

namespace floorgate::net {
namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;
using error_code = boost::system::error_code;

namespace detail {

// What a reply needs from its connection.
class Exchange {
 public:
  virtual ~Exchange() = default;
  virtual void respond(HttpResponse res) = 0;
  virtual std::shared_ptr<HttpPushStream> push(std::string head) = 0;
  virtual void abandon() = 0;  // the reply was dropped unanswered
};

// What the server's registry needs from a connection of either stream type.
class Link : public HttpPushStream {
 public:
  virtual const std::string& address() const = 0;
};

// Settings and counters every connection of one server shares (they may outlive the server
// by a few handlers after stop()).
struct Shared {
  HttpLimits limits;
  HttpHandlers handlers;
  std::uint64_t refused_requests = 0;
};

}  // namespace detail

namespace {

beast::tcp_stream& lowest(beast::tcp_stream& s) { return s; }
beast::tcp_stream& lowest(TlsStream& s) { return beast::get_lowest_layer(s); }

// Ends of a conversation that deserve no answer: the client went away or was too slow.
bool quiet_end(const error_code& ec) {
  return ec == http::error::end_of_stream || ec == beast::error::timeout ||
         ec == asio::error::operation_aborted || ec == asio::error::eof ||
         ec == asio::error::connection_reset || ec == ssl::error::stream_truncated;
}

template <class Stream>
class Session final : public detail::Link,
                      public detail::Exchange,
                      public std::enable_shared_from_this<Session<Stream>> {
 public:
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

  Session(Stream s, std::shared_ptr<detail::Shared> shared, HttpPeer peer)
      : stream_(std::move(s)), sh_(std::move(shared)), peer_(std::move(peer)) {
    peer_.tls = kTls;
  }

  const std::string& address() const override { return peer_.address; }

  void start() {
    if constexpr (kTls) {
      lowest(stream_).expires_after(sh_->limits.read_timeout);
      stream_.async_handshake(ssl::stream_base::server,
                              [self = this->shared_from_this()](error_code ec) {
                                self->on_handshake(ec);
                              });
    } else {
      do_read();
    }
  }

  void close() override {
    closed_ = true;
    error_code ec;
    lowest(stream_).socket().shutdown(tcp::socket::shutdown_both, ec);
    lowest(stream_).close();
  }

  // --- Exchange: the answer to the request in hand.
  void respond(HttpResponse res) override {
    if (closed_) return;
    res_ = std::make_shared<HttpResponse>(std::move(res));
    lowest(stream_).expires_after(sh_->limits.write_timeout);
    http::async_write(stream_, *res_, [self = this->shared_from_this()](error_code ec, std::size_t) {
      self->on_write(ec);
    });
  }

  std::shared_ptr<HttpPushStream> push(std::string head) override {
    pushing_ = true;
    if (!closed_) {
      queue_.push_back(std::make_shared<const std::string>(std::move(head)));
      write_next();
      read_push();
    }
    return this->shared_from_this();
  }

  void abandon() override { close(); }

  // --- HttpPushStream
  void send(std::shared_ptr<const std::string> frame) override {
    if (!pushing_ || closed_) return;
    if (queue_.size() >= sh_->limits.max_push_queue) return close();  // it stopped reading
    queue_.push_back(std::move(frame));
    if (queue_.size() == 1) write_next();
  }

 private:
  void on_handshake(error_code ec) {
    if (ec) {
      if (ec != asio::error::operation_aborted && sh_->handlers.tls_failed) {
        if constexpr (kTls) sh_->handlers.tls_failed(peer_, ec, stream_.native_handle());
      }
      return close();
    }
    if constexpr (kTls) {
      if (sh_->handlers.tls_names) peer_.cert_names = sh_->handlers.tls_names(stream_.native_handle());
    }
    do_read();
  }

  void do_read() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(sh_->limits.max_header_bytes));
    parser_->body_limit(sh_->limits.max_body);
    lowest(stream_).expires_after(sh_->limits.read_timeout);  // header and body together
    http::async_read_header(stream_, buffer_, *parser_,
                            [self = this->shared_from_this()](error_code ec, std::size_t) {
                              self->on_header(ec);
                            });
  }

  void on_header(error_code ec) {
    core::LoopSite site("http.header");
    if (ec) return failed(ec);
    const auto& h = parser_->get();
    std::size_t fields = 0;
    for (auto it = h.begin(); it != h.end(); ++it) ++fields;
    if (fields > sh_->limits.max_header_count) return refuse(431, "too many header fields");
    if (auto len = parser_->content_length(); len && *len > sh_->limits.max_body) {
      return refuse(413, "request body too large");  // before reading any of it
    }
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](error_code e, std::size_t) {
                       self->on_body(e);
                     });
  }

  void on_body(error_code ec) {
    core::LoopSite site("http.request");
    if (ec) return failed(ec);
    lowest(stream_).expires_never();  // the handler may answer later (work off the loop)
    HttpRequest req = parser_->release();
    try {
      sh_->handlers.request(std::move(req), peer_, HttpReply(this->shared_from_this()));
    } catch (const std::exception&) {
      // A handler that threw: a 500 rather than an exception across the event loop.
      refuse(500, "internal error");
    }
  }

  void failed(error_code ec) {
    if (quiet_end(ec)) return finish();
    if (ec == http::error::header_limit) return refuse(431, "request header too large");
    if (ec == http::error::body_limit) return refuse(413, "request body too large");
    refuse(400, "malformed request");
  }

  void refuse(unsigned status, std::string_view why) {
    ++sh_->refused_requests;
    const unsigned version = parser_ ? parser_->get().version() : 11;
    HttpResponse res = sh_->handlers.refusal(status, why, version ? version : 11);
    res.keep_alive(false);
    respond(std::move(res));
  }

  void on_write(error_code ec) {
    const bool keep = res_ && res_->keep_alive();
    res_.reset();
    if (ec) return close();
    if (!keep) return finish();
    do_read();
  }

  // The end of a conversation: TLS says close_notify first (bounded), then the socket closes.
  void finish() {
    if constexpr (kTls) {
      if (!closed_) {
        lowest(stream_).expires_after(std::chrono::seconds(2));
        stream_.async_shutdown([self = this->shared_from_this()](error_code) { self->close(); });
        return;
      }
    }
    close();
  }

  // A push stream keeps one read pending: it holds the connection alive and notices at once
  // when the client goes away. Whatever the client sends is discarded.
  void read_push() {
    stream_.async_read_some(asio::buffer(discard_),
                            [self = this->shared_from_this()](error_code ec, std::size_t) {
                              if (ec) return self->close();
                              self->read_push();
                            });
  }

  void write_next() {
    lowest(stream_).expires_after(sh_->limits.write_timeout);
    asio::async_write(stream_, asio::buffer(*queue_.front()),
                      [self = this->shared_from_this()](error_code ec, std::size_t) {
                        if (ec) return self->close();
                        self->queue_.pop_front();
                        if (!self->queue_.empty()) return self->write_next();
                        lowest(self->stream_).expires_never();
                      });
  }

  Stream stream_;
  std::shared_ptr<detail::Shared> sh_;
  HttpPeer peer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<HttpResponse> res_;
  bool closed_ = false;
  bool pushing_ = false;
  std::deque<std::shared_ptr<const std::string>> queue_;
  std::array<char, 512> discard_{};
};

}  // namespace

// --- HttpReply

HttpReply::HttpReply(std::shared_ptr<detail::Exchange> x) : x_(std::move(x)) {}
HttpReply::HttpReply(HttpReply&&) noexcept = default;
HttpReply& HttpReply::operator=(HttpReply&& o) noexcept {
  if (this != &o) {
    if (x_) x_->abandon();
    x_ = std::move(o.x_);
  }
  return *this;
}
HttpReply::~HttpReply() {
  if (x_) x_->abandon();
}
void HttpReply::send(HttpResponse res) {
  if (auto x = std::move(x_)) x->respond(std::move(res));
}
std::shared_ptr<HttpPushStream> HttpReply::push(std::string head) {
  if (auto x = std::move(x_)) return x->push(std::move(head));
  return nullptr;
}

// --- the server

struct HttpServer::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::any_io_executor ex, HttpLimits limits, HttpHandlers handlers)
      : acceptor(ex), retry(ex), shared(std::make_shared<detail::Shared>()) {
    shared->limits = limits;
    shared->handlers = std::move(handlers);
  }
  tcp::acceptor acceptor;
  asio::steady_timer retry;
  std::chrono::milliseconds backoff{0};
  std::shared_ptr<detail::Shared> shared;
  std::shared_ptr<ssl::context> tls;
  std::list<std::weak_ptr<detail::Link>> links;
  std::uint64_t refused = 0, accept_errors = 0;
  bool stopped = false;

  void do_accept() {
    acceptor.async_accept([self = shared_from_this()](error_code ec, tcp::socket s) {
      if (self->stopped || ec == asio::error::operation_aborted) return;
      if (ec) return self->accept_failed(ec);
      self->backoff = std::chrono::milliseconds(0);
      self->start_session(std::move(s));
      self->do_accept();
    });
  }

  // Out of descriptors (EMFILE/ENFILE) or buffers: retrying at once would spin the loop that
  // also polls the SAS buses. Pause 50 ms doubling to 1 s; closing connections free some.
  void accept_failed(const error_code& ec) {
    ++accept_errors;
    backoff = std::min<std::chrono::milliseconds>(
        std::chrono::seconds(1),
        std::max<std::chrono::milliseconds>(std::chrono::milliseconds(50), backoff * 2));
    if (shared->handlers.accept_failed) shared->handlers.accept_failed(ec, accept_errors);
    retry.expires_after(backoff);
    retry.async_wait([self = shared_from_this()](error_code e) {
      if (!e && !self->stopped) self->do_accept();
    });
  }

  std::size_t live(const std::string* address = nullptr, std::size_t* mine = nullptr) {
    links.remove_if([](const auto& w) { return w.expired(); });
    std::size_t total = 0;
    for (const auto& w : links) {
      if (auto c = w.lock()) {
        ++total;
        if (address && mine) *mine += c->address() == *address;
      }
    }
    return total;
  }

  void start_session(tcp::socket s) {
    error_code ec;
    s.set_option(tcp::no_delay(true), ec);
    auto ep = s.remote_endpoint(ec);
    if (ec) return;  // already gone
    auto ip = ep.address();
    if (ip.is_v6() && ip.to_v6().is_v4_mapped()) {
      ip = asio::ip::make_address_v4(asio::ip::v4_mapped, ip.to_v6());
    }
    HttpPeer peer;
    peer.address = ip.to_string();
    peer.endpoint = peer.address + ":" + std::to_string(ep.port());
    std::size_t mine = 0;
    const std::size_t total = live(&peer.address, &mine);
    if (total >= shared->limits.max_connections || mine >= shared->limits.max_per_address) {
      ++refused;
      s.close(ec);
      return;
    }
    if (tls) {
      auto sess = std::make_shared<Session<TlsStream>>(TlsStream(std::move(s), *tls), shared,
                                                       std::move(peer));
      links.push_back(sess);
      sess->start();
    } else {
      auto sess = std::make_shared<Session<beast::tcp_stream>>(beast::tcp_stream(std::move(s)),
                                                               shared, std::move(peer));
      links.push_back(sess);
      sess->start();
    }
  }
};

HttpServer::HttpServer(asio::any_io_executor ex, HttpLimits limits, HttpHandlers handlers)
    : impl_(std::make_shared<Impl>(ex, limits, std::move(handlers))) {}

HttpServer::~HttpServer() { stop(); }

void HttpServer::use_tls(std::shared_ptr<ssl::context> ctx) { impl_->tls = std::move(ctx); }

std::error_code HttpServer::listen(const std::string& address, int port) {
  error_code ec;
  auto addr = asio::ip::make_address(address, ec);
  if (ec) return ec;
  tcp::endpoint ep(addr, static_cast<unsigned short>(port));
  auto& a = impl_->acceptor;
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    error_code ignored;
    a.close(ignored);
    return ec;
  }
  impl_->do_accept();
  return {};
}

int HttpServer::port() const {
  error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

void HttpServer::stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  error_code ec;
  impl_->acceptor.close(ec);
  impl_->retry.cancel();
  auto links = std::move(impl_->links);
  for (auto& w : links) {
    if (auto s = w.lock()) s->close();
  }
}

std::uint64_t HttpServer::refused_connections() const { return impl_->refused; }
std::uint64_t HttpServer::refused_requests() const { return impl_->shared->refused_requests; }
std::uint64_t HttpServer::accept_errors() const { return impl_->accept_errors; }
std::size_t HttpServer::connections() const { return impl_->live(); }

}  // namespace floorgate::net
