#pragma once
// WebServer internals shared by web_server.cpp and the connection template: the listener,
// the connection registry and the live (SSE) fan-out. Executor thread only.

#include "web/api.hpp"

#include <floorgate/gateway/web/web_server.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

namespace floorgate::gateway::web {
namespace detail {

// What the server needs from a connection of either kind (plain or TLS).
class ConnectionBase {
 public:
  virtual ~ConnectionBase() = default;
  // Closes the socket; pending handlers complete with operation_aborted.
  virtual void close() = 0;
  // Queues one SSE frame (only on connections that joined the live stream).
  virtual void send_sse(std::shared_ptr<const std::string> frame) = 0;
  // The session behind the live stream ("" for ordinary connections).
  virtual const std::string& sse_session() const = 0;
};

}  // namespace detail

struct WebServer::Impl : std::enable_shared_from_this<WebServer::Impl> {
  Impl(boost::asio::any_io_executor ex, WebOptions opts, Backend& backend);
  ~Impl();

  std::error_code start();
  void stop();
  void do_accept();
  void on_tick();
  void broadcast(std::string_view kind, const boost::json::value& data);
  // Connection registry: ids are never reused; per-address counts for the per-client cap.
  std::uint64_t add_connection(std::weak_ptr<detail::ConnectionBase> c, const std::string& addr);
  void remove_connection(std::uint64_t id);
  // accept() failed (EMFILE, ENFILE, ENOBUFS...): retry after a growing pause, not at once.
  void accept_failed(const boost::system::error_code& ec);
  // Prometheus lines of the server's own counters.
  std::string metrics_text() const;

  boost::asio::any_io_executor ex_;
  WebOptions opts_;
  Backend& backend_;
  // The worker for client-priced work (PBKDF2, configuration checks); Api bounds its queue.
  boost::asio::thread_pool pool_{1};
  std::unique_ptr<detail::Api> api_;
  std::optional<boost::asio::ssl::context> ssl_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer tick_;
  std::map<std::uint64_t, std::weak_ptr<detail::ConnectionBase>> conns_;
  std::map<std::uint64_t, std::string> conn_addr_;
  std::map<std::string, std::size_t> per_address_;
  boost::asio::steady_timer accept_retry_;
  std::chrono::milliseconds accept_backoff_{0};
  std::uint64_t accept_errors_ = 0;
  std::chrono::steady_clock::time_point accept_logged_at_{};  // last accept() warning ({} = none)
  std::uint64_t next_id_ = 1;
  bool running_ = false;
  int port_ = 0;
  std::uint64_t rejected_connections_ = 0;
};

}  // namespace floorgate::gateway::web
