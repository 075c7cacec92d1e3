#include "g2s/http_client.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <deque>

#include "g2s/xml_codec.hpp"

namespace floorgate::drivers::g2s {
namespace {
namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
}  // namespace

struct HttpClient::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::any_io_executor e, std::chrono::milliseconds t)
      : ex(e), stream(e), resolver(e), timeout(t) {}
  struct Item {
    std::string body;
    Done done;
  };
  asio::any_io_executor ex;
  beast::tcp_stream stream;
  tcp::resolver resolver;
  std::chrono::milliseconds timeout;
  std::string host, port, path;
  bool valid = false, connected = false, busy = false, stopped = false, reused = false;
  std::deque<Item> q;
  beast::flat_buffer buf;
  http::request<http::string_body> req;
  std::optional<http::response_parser<http::string_body>> res;

  void close() {
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream.close();
    connected = false;
  }
  void finish(std::error_code ec, unsigned status, std::string body) {
    auto item = std::move(q.front());
    q.pop_front();
    busy = false;
    if (ec) close();
    item.done(ec, status, std::move(body));
    next();
  }
  void next() {
    if (busy || stopped || q.empty()) return;
    busy = true;
    if (!valid) {
      return asio::post(ex, [s = shared_from_this()] {
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
    if (connected) {
      reused = true;
      return do_write();
    }
    reused = false;
    stream.expires_after(timeout);
    resolver.async_resolve(host, port, [s = shared_from_this()](beast::error_code ec,
                                                                 tcp::resolver::results_type r) {
      if (s->stopped) return;
      if (ec) return s->finish(ec, 0, {});
      s->stream.async_connect(r, [s](beast::error_code ec2, const tcp::endpoint&) {
        if (s->stopped) return;
        if (ec2) return s->finish(ec2, 0, {});
        beast::error_code ig;
        s->stream.socket().set_option(tcp::no_delay(true), ig);
        s->connected = true;
        s->do_write();
      });
    });
  }
  void do_write() {
    stream.expires_after(timeout);
    http::async_write(stream, req, [s = shared_from_this()](beast::error_code ec, std::size_t) {
      if (s->stopped) return;
      if (ec) return s->retry_or_fail(ec);
      s->res.emplace();
      s->res->body_limit(8 * 1024 * 1024);
      http::async_read(s->stream, s->buf, *s->res, [s](beast::error_code ec2, std::size_t) {
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
                   ec == asio::error::eof || ec == asio::error::broken_pipe)) {
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

bool HttpClient::set_target(const std::string& url) {
  std::string_view u = url;
  std::string host, port = "80", path = "/";
  if (!u.starts_with("http://")) {
    impl_->valid = false;
    return false;
  }
  u.remove_prefix(7);
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
  bool ok = !host.empty() && !port.empty();
  if (host != impl_->host || port != impl_->port) impl_->close();
  impl_->host = host;
  impl_->port = port;
  impl_->path = path;
  impl_->valid = ok;
  return ok;
}

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

void HttpClient::stop() {
  if (impl_->stopped) return;
  impl_->stopped = true;
  impl_->resolver.cancel();
  impl_->close();
  impl_->q.clear();
}

}  // namespace floorgate::drivers::g2s
