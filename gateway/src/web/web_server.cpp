// WebServer: the HTTP server core (net/) with the Api behind it, live fan-out, periodic tick.
#include <floorgate/gateway/web/web_server.hpp>

#include "web/server_impl.hpp"

#include <boost/asio/post.hpp>
#include <boost/json.hpp>
#include "floorgate/core/loop_site.hpp"

namespace floorgate::gateway::web {
namespace asio = boost::asio;
namespace json = boost::json;

WebServer::Impl::Impl(asio::any_io_executor ex, WebOptions opts, Backend& backend)
    : ex_(ex), opts_(std::move(opts)), backend_(backend), tick_(ex) {}

WebServer::Impl::~Impl() {
  pool_.stop();
  pool_.join();
}

std::error_code WebServer::Impl::start() {
  std::weak_ptr<Impl> weak = weak_from_this();
  detail::Offload offload = [this, weak](std::function<bool()> job,
                                         std::function<void(bool)> done) {
    asio::post(pool_, [weak, ex = ex_, job = std::move(job), done = std::move(done)]() mutable {
      bool r = job();
      asio::post(ex, [weak, r, done = std::move(done)] {
        core::LoopSite site("web.offload_done");
        auto self = weak.lock();
        if (self && self->running_) done(r);
      });
    });
  };
  api_ = std::make_unique<detail::Api>(opts_, backend_, std::move(offload));
  api_->set_server_metrics([this] { return metrics_text(); });

  boost::system::error_code ec;
  if (!opts_.cert_file.empty() || !opts_.key_file.empty()) {
    ssl_ = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
    ssl_->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                      asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                      asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
    ssl_->use_certificate_chain_file(opts_.cert_file, ec);
    if (!ec) ssl_->use_private_key_file(opts_.key_file, asio::ssl::context::pem, ec);
    if (ec) {
      ssl_.reset();
      return ec;
    }
  }
  net::HttpLimits limits;
  limits.max_body = opts_.max_body;
  limits.max_header_bytes = opts_.max_header_bytes;
  limits.max_header_count = opts_.max_header_count;
  limits.read_timeout = opts_.read_timeout;
  limits.write_timeout = std::chrono::seconds(30);
  limits.max_connections = opts_.max_connections;
  limits.max_per_address = opts_.max_connections_per_address;
  limits.max_push_queue = 512;  // a browser that stopped reading the live stream is closed
  net::HttpHandlers h;
  h.request = [weak](net::HttpRequest req, const net::HttpPeer& peer, net::HttpReply reply) {
    if (auto self = weak.lock(); self && self->running_) {
      self->on_request(std::move(req), peer, std::move(reply));
    }
  };
  h.refusal = [weak](unsigned status, std::string_view why, unsigned version) {
    if (auto self = weak.lock(); self && self->api_) return self->api_->error(status, why, version, false);
    net::HttpResponse res{static_cast<boost::beast::http::status>(status), version};
    res.prepare_payload();
    return res;
  };
  h.accept_failed = [weak](const boost::system::error_code& e, std::uint64_t failures) {
    if (auto self = weak.lock()) self->accept_failed(e, failures);
  };
  http_ = std::make_unique<net::HttpServer>(ex_, limits, std::move(h));
  if (ssl_) http_->use_tls(ssl_);
  if (auto lec = http_->listen(opts_.bind, opts_.port)) return lec;
  port_ = http_->port();
  running_ = true;
  backend_.subscribe_live([weak](const json::object& live) {
    auto self = weak.lock();
    if (!self || !self->running_) return;
    const json::value* kind = live.if_contains("kind");
    std::string k = kind && kind->is_string() ? std::string(kind->as_string()) : "event";
    self->broadcast(k, live);
  }, [weak] {
    auto self = weak.lock();
    return self && self->running_ && !self->live_.empty();
  });
  tick_.expires_after(opts_.dashboard_push);
  tick_.async_wait([self = shared_from_this()](boost::system::error_code e) {
    core::LoopSite site("web.tick");
    if (!e) self->on_tick();
  });
  return {};
}

void WebServer::Impl::stop() {
  if (!running_) return;
  running_ = false;
  tick_.cancel();
  if (http_) http_->stop();
  live_.clear();
}

void WebServer::Impl::on_request(net::HttpRequest req, const net::HttpPeer& peer,
                                 net::HttpReply reply) {
  // The Api answers through a copyable callback (some answers come from the worker later).
  auto answer = std::make_shared<net::HttpReply>(std::move(reply));
  std::weak_ptr<Impl> weak = weak_from_this();
  const unsigned version = req.version();
  try {
    api_->handle(std::move(req), detail::ClientInfo{peer.address, peer.tls},
                 [weak, answer](detail::Outcome o) {
                   auto self = weak.lock();
                   if (!self || !self->running_) return;  // dropping the reply closes it
                   if (!o.sse) return answer->send(std::move(o.res));
                   auto stream = answer->push(
                       "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: "
                       "no-store\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n"
                       "retry: 2000\n\n");
                   if (stream) self->live_.push_back({stream, std::move(o.session_token)});
                 });
  } catch (const std::exception&) {
    // A backend that threw: a 500 rather than an exception across the event loop (a no-op
    // when the Api had answered already).
    answer->send(api_->error(500, "internal error", version, false));
  }
}

void WebServer::Impl::on_tick() {
  if (!running_) return;
  api_->sweep();
  bool any_sse = false;
  std::erase_if(live_, [&](const Live& l) {
    auto s = l.stream.lock();
    if (!s) return true;
    if (!api_->session_alive(l.session)) {
      s->close();  // the session expired or logged out: the stream ends with it
      return true;
    }
    any_sse = true;
    return false;
  });
  if (any_sse) {
    try {
      auto [dashboard, egms] = backend_.live_snapshot();
      broadcast("dashboard", dashboard);
      // The floor's rows are the bigger half: serialized and sent in a handler of their own,
      // so neither half holds the loop (SAS polls) for the whole push.
      asio::post(ex_, [weak = weak_from_this(), egms = std::move(egms)]() mutable {
        core::LoopSite site("web.push_egms");
        auto self = weak.lock();
        if (self && self->running_) self->broadcast("egms", json::object{{"egms", std::move(egms)}});
      });
    } catch (const std::exception&) {
      // A failing backend must not stop the tick; the next one tries again.
    }
  }
  tick_.expires_after(opts_.dashboard_push);
  tick_.async_wait([self = shared_from_this()](boost::system::error_code e) {
    core::LoopSite site("web.tick");
    if (!e) self->on_tick();
  });
}

void WebServer::Impl::broadcast(std::string_view kind, const json::value& data) {
  if (live_.empty()) return;
  std::string frame = "event: ";
  for (char c : kind) {
    if (c != '\n' && c != '\r') frame.push_back(c);
  }
  frame += "\ndata: ";
  frame += json::serialize(data);  // serialize() never emits raw newlines
  frame += "\n\n";
  auto shared = std::make_shared<const std::string>(std::move(frame));
  // A send never changes live_ (closing a stream only closes its socket; on_tick forgets it).
  for (const auto& l : live_) {
    if (auto s = l.stream.lock()) s->send(shared);
  }
}

void WebServer::Impl::accept_failed(const boost::system::error_code& ec, std::uint64_t failures) {
  // The core pauses 50 ms doubling to 1 s between tries; say so at most once a minute.
  const auto now = std::chrono::steady_clock::now();
  const bool never = accept_logged_at_ == std::chrono::steady_clock::time_point{};
  if (opts_.log && (never || now - accept_logged_at_ >= std::chrono::minutes(1))) {
    opts_.log("web: accept() failed (" + ec.message() + "); pausing up to 1 s between tries, " +
              std::to_string(failures) + " failure(s) so far");
    accept_logged_at_ = now;
  }
}

std::string WebServer::Impl::metrics_text() const {
  const auto rejected = http_ ? http_->refused_connections() : 0;
  const auto accept_errors = http_ ? http_->accept_errors() : 0;
  return "# HELP floorgate_web_connections_rejected_total Web connections closed at accept "
         "(total or per-address cap).\n# TYPE floorgate_web_connections_rejected_total counter\n"
         "floorgate_web_connections_rejected_total " + std::to_string(rejected) +
         "\n# HELP floorgate_web_accept_errors_total accept() failures (out of descriptors...), "
         "each followed by a pause.\n# TYPE floorgate_web_accept_errors_total counter\n"
         "floorgate_web_accept_errors_total " + std::to_string(accept_errors) + "\n";
}

WebServer::WebServer(asio::any_io_executor executor, WebOptions options, Backend& backend)
    : impl_(std::make_shared<Impl>(executor, std::move(options), backend)) {}

WebServer::~WebServer() { impl_->stop(); }

std::error_code WebServer::start() { return impl_->start(); }

void WebServer::stop() { impl_->stop(); }

int WebServer::port() const { return impl_->port_; }

bool WebServer::tls() const { return impl_->ssl_ != nullptr; }

void WebServer::set_users(std::vector<User> users) {
  impl_->opts_.users = users;
  if (impl_->api_) impl_->api_->set_users(std::move(users));
}

}  // namespace floorgate::gateway::web
