// WebServer: listener, connection registry, live fan-out and the periodic tick.
#include <floorgate/gateway/web/web_server.hpp>

#include "web/connection.hpp"
#include "web/server_impl.hpp"

#include <boost/asio/post.hpp>
#include <boost/json.hpp>

namespace floorgate::gateway::web {
namespace asio = boost::asio;
namespace json = boost::json;
using tcp = asio::ip::tcp;

WebServer::Impl::Impl(asio::any_io_executor ex, WebOptions opts, Backend& backend)
    : ex_(ex), opts_(std::move(opts)), backend_(backend), acceptor_(ex), tick_(ex),
      accept_retry_(ex) {}

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
        auto self = weak.lock();
        if (self && self->running_) done(r);
      });
    });
  };
  api_ = std::make_unique<detail::Api>(opts_, backend_, std::move(offload));
  api_->set_server_metrics([this] { return metrics_text(); });

  boost::system::error_code ec;
  if (!opts_.cert_file.empty() || !opts_.key_file.empty()) {
    ssl_.emplace(asio::ssl::context::tls_server);
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
  auto addr = asio::ip::make_address(opts_.bind, ec);
  if (ec) return ec;
  tcp::endpoint ep(addr, static_cast<unsigned short>(opts_.port));
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    return ec;
  }
  port_ = acceptor_.local_endpoint().port();
  running_ = true;
  backend_.subscribe_live([weak](const json::object& live) {
    auto self = weak.lock();
    if (!self || !self->running_) return;
    const json::value* kind = live.if_contains("kind");
    std::string k = kind && kind->is_string() ? std::string(kind->as_string()) : "event";
    self->broadcast(k, live);
  });
  do_accept();
  tick_.expires_after(opts_.dashboard_push);
  tick_.async_wait([self = shared_from_this()](boost::system::error_code e) {
    if (!e) self->on_tick();
  });
  return {};
}

void WebServer::Impl::stop() {
  if (!running_) return;
  running_ = false;
  boost::system::error_code ec;
  acceptor_.close(ec);
  tick_.cancel();
  accept_retry_.cancel();
  auto conns = conns_;
  for (auto& [id, weak] : conns) {
    if (auto c = weak.lock()) c->close();
  }
}

void WebServer::Impl::do_accept() {
  acceptor_.async_accept([self = shared_from_this()](boost::system::error_code ec,
                                                      tcp::socket sock) {
    if (!self->running_) return;
    if (ec) return self->accept_failed(ec);
    self->accept_backoff_ = std::chrono::milliseconds(0);
    {
      boost::system::error_code aec;
      auto remote = sock.remote_endpoint(aec);
      std::string addr = aec ? std::string("?") : remote.address().to_string();
      auto from_addr = self->per_address_.find(addr);
      const std::size_t mine = from_addr == self->per_address_.end() ? 0 : from_addr->second;
      if (self->conns_.size() >= self->opts_.max_connections ||
          mine >= self->opts_.max_connections_per_address) {
        ++self->rejected_connections_;
        boost::system::error_code ignored;
        sock.close(ignored);
      } else {
        sock.set_option(tcp::no_delay(true), ec);
        if (self->ssl_) {
          std::make_shared<detail::Connection<boost::beast::ssl_stream<boost::beast::tcp_stream>>>(
              self, addr, std::move(sock), *self->ssl_)
              ->run();
        } else {
          std::make_shared<detail::Connection<boost::beast::tcp_stream>>(self, addr,
                                                                        std::move(sock))
              ->run();
        }
      }
    }
    self->do_accept();
  });
}

void WebServer::Impl::on_tick() {
  if (!running_) return;
  api_->sweep();
  bool any_sse = false;
  auto conns = conns_;
  for (auto& [id, weak] : conns) {
    auto c = weak.lock();
    if (!c || c->sse_session().empty()) continue;
    if (!api_->session_alive(c->sse_session())) {
      c->close();  // the session expired or logged out: the stream ends with it
      continue;
    }
    any_sse = true;
  }
  if (any_sse) {
    try {
      broadcast("dashboard", backend_.dashboard());
      broadcast("egms", json::object{{"egms", backend_.egms()}});
    } catch (const std::exception&) {
      // A failing backend must not stop the tick; the next one tries again.
    }
  }
  tick_.expires_after(opts_.dashboard_push);
  tick_.async_wait([self = shared_from_this()](boost::system::error_code e) {
    if (!e) self->on_tick();
  });
}

void WebServer::Impl::broadcast(std::string_view kind, const json::value& data) {
  std::string frame = "event: ";
  for (char c : kind) {
    if (c != '\n' && c != '\r') frame.push_back(c);
  }
  frame += "\ndata: ";
  frame += json::serialize(data);  // serialize() never emits raw newlines
  frame += "\n\n";
  auto shared = std::make_shared<const std::string>(std::move(frame));
  auto conns = conns_;
  for (auto& [id, weak] : conns) {
    auto c = weak.lock();
    if (c && !c->sse_session().empty()) c->send_sse(shared);
  }
}

std::uint64_t WebServer::Impl::add_connection(std::weak_ptr<detail::ConnectionBase> c,
                                              const std::string& addr) {
  auto id = next_id_++;
  conns_[id] = std::move(c);
  conn_addr_[id] = addr;
  ++per_address_[addr];
  return id;
}

void WebServer::Impl::remove_connection(std::uint64_t id) {
  conns_.erase(id);
  auto a = conn_addr_.find(id);
  if (a == conn_addr_.end()) return;
  auto n = per_address_.find(a->second);
  if (n != per_address_.end() && --n->second == 0) per_address_.erase(n);
  conn_addr_.erase(a);
}

void WebServer::Impl::accept_failed(const boost::system::error_code& ec) {
  if (ec == asio::error::operation_aborted) return;
  // Out of descriptors or buffers: retrying at once spins the loop at 100% and starves the
  // SAS polls. Back off 50 ms doubling to 1 s; connections that close free descriptors.
  ++accept_errors_;
  accept_backoff_ = std::min<std::chrono::milliseconds>(
      std::chrono::seconds(1), std::max<std::chrono::milliseconds>(
                                   std::chrono::milliseconds(50), accept_backoff_ * 2));
  const auto now = std::chrono::steady_clock::now();
  const bool never = accept_logged_at_ == std::chrono::steady_clock::time_point{};
  if (opts_.log && (never || now - accept_logged_at_ >= std::chrono::minutes(1))) {
    opts_.log("web: accept() failed (" + ec.message() + "); pausing up to 1 s between tries, " +
              std::to_string(accept_errors_) + " failure(s) so far");
    accept_logged_at_ = now;
  }
  accept_retry_.expires_after(accept_backoff_);
  accept_retry_.async_wait([self = shared_from_this()](boost::system::error_code e) {
    if (!e && self->running_) self->do_accept();
  });
}

std::string WebServer::Impl::metrics_text() const {
  return "# HELP floorgate_web_connections_rejected_total Web connections closed at accept "
         "(total or per-address cap).\n# TYPE floorgate_web_connections_rejected_total counter\n"
         "floorgate_web_connections_rejected_total " + std::to_string(rejected_connections_) +
         "\n# HELP floorgate_web_accept_errors_total accept() failures (out of descriptors...), "
         "each followed by a pause.\n# TYPE floorgate_web_accept_errors_total counter\n"
         "floorgate_web_accept_errors_total " + std::to_string(accept_errors_) + "\n";
}

WebServer::WebServer(asio::any_io_executor executor, WebOptions options, Backend& backend)
    : impl_(std::make_shared<Impl>(executor, std::move(options), backend)) {}

WebServer::~WebServer() { impl_->stop(); }

std::error_code WebServer::start() { return impl_->start(); }

void WebServer::stop() { impl_->stop(); }

int WebServer::port() const { return impl_->port_; }

bool WebServer::tls() const { return impl_->ssl_.has_value(); }

void WebServer::set_users(std::vector<User> users) {
  impl_->opts_.users = users;
  if (impl_->api_) impl_->api_->set_users(std::move(users));
}

}  // namespace floorgate::gateway::web
