#include "sim_http.hpp"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <deque>
#include <list>

namespace floorgate::egmsim::g2s {
namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Tls = beast::ssl_stream<beast::tcp_stream>;

std::optional<SimTls> make_sim_tls(const std::string& cert, const std::string& key,
                                   const std::string& ca, std::string& error) {
  SimTls t;
  for (bool server : {true, false}) {
    auto ctx = std::make_shared<ssl::context>(server ? ssl::context::tls_server : ssl::context::tls_client);
    beast::error_code ec;
    ctx->set_options(ssl::context::no_sslv2 | ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                     ssl::context::no_tlsv1_1);
    ctx->use_certificate_chain_file(cert, ec);
    if (!ec) ctx->use_private_key_file(key, ssl::context::pem, ec);
    if (!ec) ctx->load_verify_file(ca, ec);
    if (ec) {
      error = "TLS files (" + cert + ", " + key + ", " + ca + "): " + ec.message();
      return std::nullopt;
    }
    ctx->set_verify_mode(server ? ssl::verify_peer | ssl::verify_fail_if_no_peer_cert : ssl::verify_peer);
    (server ? t.server : t.client) = std::move(ctx);
  }
  return t;
}

namespace {

// Why a TLS operation failed: OpenSSL's reason and the certificate check's, if any.
std::string tls_reason(const beast::error_code& ec, SSL* s) {
  std::string r = ec.message();
  long v = s ? SSL_get_verify_result(s) : X509_V_OK;
  return v == X509_V_OK ? r : r + " / " + X509_verify_cert_error_string(v);
}

// One server connection, plain or TLS: the two differ only in the handshake and the stream the
// HTTP calls run on.
struct Conn : std::enable_shared_from_this<Conn> {
  Conn(tcp::socket s, SimServer::Handler h, ssl::context* ctx) : handler(std::move(h)) {
    if (ctx) tls.emplace(std::move(s), *ctx);
    else plain.emplace(std::move(s));
  }
  std::optional<beast::tcp_stream> plain;
  std::optional<Tls> tls;
  beast::flat_buffer buf;
  http::request<http::string_body> req;
  http::response<http::string_body> res;
  SimServer::Handler handler;

  beast::tcp_stream& tcp_stream() { return tls ? beast::get_lowest_layer(*tls) : *plain; }
  template <class F>
  void on_stream(F f) {
    if (tls) f(*tls);
    else f(*plain);
  }
  void start() {
    if (!tls) return read();
    tcp_stream().expires_after(std::chrono::seconds(10));
    tls->async_handshake(ssl::stream_base::server, [s = shared_from_this()](beast::error_code ec) {
      if (ec) {
        std::fprintf(stderr, "g2s-egm: TLS handshake from the host refused: %s\n",
                     tls_reason(ec, s->tls->native_handle()).c_str());
        return s->close();
      }
      s->read();
    });
  }
  void read() {
    req = {};
    tcp_stream().expires_after(std::chrono::seconds(60));
    on_stream([this](auto& st) {
      http::async_read(st, buf, req, [s = shared_from_this()](beast::error_code ec, std::size_t) {
        if (ec) return s->close();
        s->answer();
      });
    });
  }
  void answer() {
    auto a = handler(std::string(req.target()), req.body());
    if (!a) return close();
    res = {http::status(a->status), 11};
    res.set(http::field::content_type, "text/xml; charset=utf-8");
    res.keep_alive(req.keep_alive());
    res.body() = std::move(a->body);
    res.prepare_payload();
    on_stream([this](auto& st) {
      http::async_write(st, res, [s = shared_from_this()](beast::error_code ec, std::size_t) {
        if (ec || !s->res.keep_alive()) return s->close();
        s->read();
      });
    });
  }
  void close() {
    beast::error_code ec;
    tcp_stream().socket().shutdown(tcp::socket::shutdown_both, ec);
    tcp_stream().close();
  }
};
}  // namespace

struct SimServer::Impl : std::enable_shared_from_this<Impl> {
  explicit Impl(asio::io_context& io) : acc(io) {}
  tcp::acceptor acc;
  Handler handler;
  std::shared_ptr<ssl::context> tls;
  std::list<std::weak_ptr<Conn>> conns;
  void accept() {
    acc.async_accept([s = shared_from_this()](beast::error_code ec, tcp::socket sock) {
      if (ec == asio::error::operation_aborted || !s->acc.is_open()) return;
      if (!ec) {
        beast::error_code ig;
        sock.set_option(tcp::no_delay(true), ig);  // no Nagle stall on small replies
        auto c = std::make_shared<Conn>(std::move(sock), s->handler, s->tls.get());
        s->conns.remove_if([](auto& w) { return w.expired(); });
        s->conns.push_back(c);
        c->start();
      }
      s->accept();
    });
  }
};

SimServer::SimServer(asio::io_context& io, Handler h, std::shared_ptr<ssl::context> tls)
    : impl_(std::make_shared<Impl>(io)) {
  impl_->handler = std::move(h);
  impl_->tls = std::move(tls);
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
  Impl(asio::io_context& io) : io_(io), plain(io) {}
  asio::io_context& io_;
  beast::tcp_stream plain;
  std::shared_ptr<ssl::context> ctx;
  std::unique_ptr<Tls> tls;  // new per connection when ctx is set
  std::string host, port, path, error;
  std::chrono::milliseconds timeout{};
  bool open = false, busy = false, stopped = false;
  std::deque<std::pair<std::string, Done>> q;
  beast::flat_buffer buf;
  http::request<http::string_body> req;
  http::response<http::string_body> res;

  beast::tcp_stream& tcp_stream() { return tls ? beast::get_lowest_layer(*tls) : plain; }
  void drop() {
    beast::error_code ec;
    tcp_stream().socket().shutdown(tcp::socket::shutdown_both, ec);
    tcp_stream().close();
    buf.consume(buf.size());
    open = false;
  }
  void complete(bool ok, unsigned st, std::string body, const std::string& why = {}) {
    if (!ok) {
      drop();
      error = why.empty() ? "request failed" : why;
    } else {
      error.clear();
    }
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
    if (open) return write();
    beast::error_code ec;
    auto addr = asio::ip::make_address(host, ec);
    if (ec) return complete(false, 0, {}, "host must be an IP literal: " + host);
    if (ctx) {
      tls = std::make_unique<Tls>(io_, *ctx);
      // The host's certificate must name the address we dial (IP SAN), like a browser would.
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(tls->native_handle()), host.c_str());
    }
    tcp_stream().expires_after(timeout);
    tcp::endpoint ep(addr, static_cast<unsigned short>(std::atoi(port.c_str())));
    tcp_stream().async_connect(ep, [s = shared_from_this()](beast::error_code ec2) {
      if (s->stopped) return;
      if (ec2) return s->complete(false, 0, {}, ec2.message());
      beast::error_code ig;
      s->tcp_stream().socket().set_option(tcp::no_delay(true), ig);
      if (!s->tls) {
        s->open = true;
        return s->write();
      }
      s->tls->async_handshake(ssl::stream_base::client, [s](beast::error_code ec3) {
        if (s->stopped) return;
        if (ec3) return s->complete(false, 0, {}, "TLS: " + tls_reason(ec3, s->tls->native_handle()));
        s->open = true;
        s->write();
      });
    });
  }
  void write() {
    tcp_stream().expires_after(timeout);
    if (tls) return write_on(*tls);
    write_on(plain);
  }
  template <class Stream>
  void write_on(Stream& st) {
    http::async_write(st, req, [s = shared_from_this(), &st](beast::error_code ec, std::size_t) {
      if (s->stopped) return;
      if (ec) return s->complete(false, 0, {}, ec.message());
      s->res = {};
      http::async_read(st, s->buf, s->res, [s](beast::error_code ec2, std::size_t) {
        if (s->stopped) return;
        if (ec2) return s->complete(false, 0, {}, ec2.message());
        if (!s->res.keep_alive()) s->drop();
        s->complete(true, s->res.result_int(), std::move(s->res.body()));
      });
    });
  }
};

SimClient::SimClient(asio::io_context& io, std::string host, std::string port, std::string path,
                     std::chrono::milliseconds timeout, std::shared_ptr<ssl::context> tls)
    : impl_(std::make_shared<Impl>(io)) {
  impl_->host = std::move(host);
  impl_->port = std::move(port);
  impl_->path = std::move(path);
  impl_->timeout = timeout;
  impl_->ctx = std::move(tls);
}
SimClient::~SimClient() { stop(); }
void SimClient::post(std::string body, Done done) {
  if (impl_->stopped) return;
  impl_->q.emplace_back(std::move(body), std::move(done));
  impl_->pump();
}
std::size_t SimClient::pending() const { return impl_->q.size(); }
const std::string& SimClient::last_error() const { return impl_->error; }
void SimClient::stop() {
  impl_->stopped = true;
  impl_->drop();
  impl_->q.clear();
}

}  // namespace floorgate::egmsim::g2s
