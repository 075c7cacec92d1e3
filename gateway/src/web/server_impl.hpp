#pragma once
// WebServer internals: the HTTP server core (net/), the Api behind it, the live (SSE) fan-out
// and the periodic dashboard push. Executor thread only.

#include "web/api.hpp"

#include <floorgate/gateway/web/web_server.hpp>
#include <floorgate/net/http_server.hpp>

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace floorgate::gateway::web {

struct WebServer::Impl : std::enable_shared_from_this<WebServer::Impl> {
  Impl(boost::asio::any_io_executor ex, WebOptions opts, Backend& backend);
  ~Impl();

  std::error_code start();
  void stop();
  void on_request(net::HttpRequest req, const net::HttpPeer& peer, net::HttpReply reply);
  void on_tick();
  void broadcast(std::string_view kind, const boost::json::value& data);
  // Logs accept() failures, at most once a minute.
  void accept_failed(const boost::system::error_code& ec, std::uint64_t failures);
  // Prometheus lines of the server's own counters.
  std::string metrics_text() const;

  boost::asio::any_io_executor ex_;
  WebOptions opts_;
  Backend& backend_;
  // The worker for client-priced work (PBKDF2, configuration checks); Api bounds its queue.
  boost::asio::thread_pool pool_{1};
  std::unique_ptr<detail::Api> api_;
  std::shared_ptr<boost::asio::ssl::context> ssl_;
  std::unique_ptr<net::HttpServer> http_;
  boost::asio::steady_timer tick_;
  // Connections that became live streams, with the session each belongs to.
  struct Live {
    std::weak_ptr<net::HttpPushStream> stream;
    std::string session;
  };
  std::vector<Live> live_;
  std::chrono::steady_clock::time_point accept_logged_at_{};  // last accept() warning ({} = none)
  bool running_ = false;
  int port_ = 0;
};

}  // namespace floorgate::gateway::web
