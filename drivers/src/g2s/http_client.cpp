#include "g2s/http_client.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <deque>

#include "g2s/tls.hpp"
#include "g2s/xml_codec.hpp"

namespace floorgate::drivers::g2s {
namespace {
namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;
}  // namespace

struct HttpClient::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::any_io_executor e, std::chrono::milliseconds t)
      : ex(e), plain(e), resolver(e), timeout(t) {}
  struct Item {
    std::string body;
    Done done;
  };
  asio::any_io_executor ex;
  beast::tcp_stream plain;              // the connection of an http:// target
  std::shared_ptr<ssl::context> tls_ctx;  // set: https:// targets only
  std::unique_ptr<TlsStream> tls;       // the connection of an https:// target (one per connect)
  tcp::resolver resolver;
  std::chrono::milliseconds timeout;
  std::string host, port, path, error, problem;
  bool valid = false, connected = false, busy = false, stopped = false, reused = false;
  std::deque<Item> q;
  beast::flat_buffer buf;
  http::request<http::string_body> req;
  std::optional<http::response_parser<http::string_body>> res;

  beast::tcp_stream& tcp_layer() { return tls ? beast::get_lowest_layer(*tls) : plain; }
  void close() {
    beast::error_code ec;
    tcp_layer().socket().shutdown(tcp::socket::shutdown_both, ec);
    tcp_layer().close();
    buf.consume(buf.size());
    connected = false;
  }
  void finish(std::error_code ec, unsigned status, std::string body) {
    auto item = std::move(q.front());
    q.pop_front();
    busy = false;
    if (ec) {
      close();
      if (error.empty()) error = ec.message();
    } else {
      error.clear();
    }
    item.done(ec, status, std::move(body));
    next();
  }
  void next() {
    if (busy || stopped || q.empty()) return;
    busy = true;
    if (!valid) {
      return asio::post(ex, [s = shared_from_this()] {
        s->error = s->problem;
        s->finish(std::make_error_code(std::errc::invalid_argument), 0, {});
      });
    }
    req = {http::verb::post, path, 11};
    req.set(http::field::host, host + ":" + port);
    req.set(http::field::content_type, "text/xml; charset=utf-8");
    req.set("SOAPAction", std::string("\"") + std::string(kSoapActionSend) + "\"");
    req.keep_alive(true);
    req.body() = q.front().body;
    req.prepare_payload();
    error.clear();
    if (connected) {
      reused = true;
      return do_write();
    }
    reused = false;
    connect();
  }
  void connect() {
    if (tls_ctx) {
      // A fresh TLS stream per connection (an SSL object is not reusable after a close);
      // the previous one has no operation pending here.
      tls = std::make_unique<TlsStream>(ex, *tls_ctx);
      tls->set_verify_callback(ssl::host_name_verification(host));
      beast::error_code ig;
      asio::ip::make_address(host, ig);
      if (ig) SSL_set_tlsext_host_name(tls->native_handle(), host.c_str());  // SNI: names only
    }
    tcp_layer().expires_after(timeout);
    resolver.async_resolve(host, port, [s = shared_from_this()](beast::error_code ec,
                                                                 tcp::resolver::results_type r) {
      if (s->stopped) return;
      if (ec) return s->finish(ec, 0, {});
      s->tcp_layer().async_connect(r, [s](beast::error_code ec2, const tcp::endpoint&) {
        if (s->stopped) return;
        if (ec2) return s->finish(ec2, 0, {});
        beast::error_code ig;
        s->tcp_layer().socket().set_option(tcp::no_delay(true), ig);
        if (!s->tls) return s->on_connected();
        s->tls->async_handshake(ssl::stream_base::client, [s](beast::error_code ec3) {
          if (s->stopped) return;
          if (ec3) {
            s->error = "TLS handshake: " + tls_failure_text(ec3, s->tls->native_handle());
            return s->finish(ec3, 0, {});
          }
          s->on_connected();
        });
      });
    });
  }
  void on_connected() {
    connected = true;
    do_write();
  }
  void do_write() {
    if (tls) return write_on(*tls);
    write_on(plain);
  }
  template <class Stream>
  void write_on(Stream& stream) {
    tcp_layer().expires_after(timeout);
    http::async_write(stream, req, [s = shared_from_this(), &stream](beast::error_code ec, std::size_t) {
      if (s->stopped) return;
      if (ec) return s->retry_or_fail(ec);
      s->res.emplace();
      s->res->body_limit(8 * 1024 * 1024);
      http::async_read(stream, s->buf, *s->res, [s](beast::error_code ec2, std::size_t) {
        if (s->stopped) return;
        if (ec2) return s->retry_or_fail(ec2);
        auto& m = s->res->get();
        bool keep = m.keep_alive();
        unsigned st = m.result_int();
        std::string body = std::move(m.body());
        if (!keep) s->close();
        s->finish({}, st, std::move(body));
      });
    });
  }
  // A kept-alive connection the server already closed fails on first use: reconnect once.
  void retry_or_fail(beast::error_code ec) {
    if (reused && (ec == http::error::end_of_stream || ec == asio::error::connection_reset ||
                   ec == asio::error::eof || ec == asio::error::broken_pipe ||
                   ec == ssl::error::stream_truncated)) {
      close();
      busy = false;
      return next();
    }
    finish(ec, 0, {});
  }
};

HttpClient::HttpClient(asio::any_io_executor ex, std::chrono::milliseconds timeout)
    : impl_(std::make_shared<Impl>(ex, timeout)) {}
HttpClient::~HttpClient() { stop(); }

void HttpClient::use_tls(std::shared_ptr<ssl::context> ctx) { impl_->tls_ctx = std::move(ctx); }

bool HttpClient::set_target(const std::string& url) {
  std::string_view u = url;
  const bool https = u.starts_with("https://");
  auto& m = *impl_;
  m.valid = false;
  if (!https && !u.starts_with("http://")) {
    m.problem = "egmLocation '" + url + "' is not an http:// or https:// URL";
    return false;
  }
  if (https != static_cast<bool>(m.tls_ctx)) {
    m.problem = https ? "egmLocation '" + url + "' needs TLS, which this host is not configured for"
                      : "plain-text egmLocation '" + url + "' refused: this host uses mutual TLS";
    return false;
  }
  u.remove_prefix(https ? 8 : 7);
  std::string host, port = https ? "443" : "80", path = "/";
  auto slash = u.find('/');
  std::string_view hp = u.substr(0, slash);
  if (slash != std::string_view::npos) path = std::string(u.substr(slash));
  auto colon = hp.rfind(':');
  if (colon != std::string_view::npos) {
    host = std::string(hp.substr(0, colon));
    port = std::string(hp.substr(colon + 1));
  } else {
    host = std::string(hp);
  }
  if (host != m.host || port != m.port) m.close();
  m.host = host;
  m.port = port;
  m.path = path;
  m.valid = !host.empty() && !port.empty();
  m.problem = m.valid ? "" : "egmLocation '" + url + "' has no host or port";
  return m.valid;
}

const std::string& HttpClient::target_problem() const { return impl_->problem; }

void HttpClient::post(std::string body, Done done) {
  if (impl_->stopped) return;
  impl_->q.push_back({std::move(body), std::move(done)});
  impl_->next();
}

void HttpClient::clear() {
  auto& q = impl_->q;
  std::size_t keep = impl_->busy ? 1 : 0;
  std::deque<Impl::Item> dropped;
  while (q.size() > keep) {
    dropped.push_back(std::move(q.back()));
    q.pop_back();
  }
  for (auto& it : dropped) {
    asio::post(impl_->ex, [d = std::move(it.done)] {
      d(std::make_error_code(std::errc::operation_canceled), 0, {});
    });
  }
}

std::size_t HttpClient::queued() const { return impl_->q.size(); }

const std::string& HttpClient::last_error() const { return impl_->error; }

void HttpClient::stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  impl_->resolver.cancel();
  impl_->close();
  impl_->q.clear();
}

}  // namespace floorgate::drivers::g2s
