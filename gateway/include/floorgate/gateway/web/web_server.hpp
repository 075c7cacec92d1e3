#pragma once
// The technician web server: HTTP/1.1 (HTTPS when cert/key files are set) on the daemon's
// io_context, serving the embedded page, the JSON API under /api/, Server-Sent Events at
// /api/events/stream and Prometheus text at /metrics. Construct, start() and stop() on the
// executor's thread only.

#include <floorgate/gateway/web/backend.hpp>

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

namespace floorgate::gateway::web {

// Monotonic time source for session expiry and rate limiting (tests inject a manual clock).
using WebClock = std::function<std::chrono::steady_clock::time_point()>;

// Server settings; the daemon fills these from the `web:` section of its configuration.
struct WebOptions {
  std::string bind = "127.0.0.1";       // listen address (IPv4 or IPv6 literal)
  int port = 8080;                      // 0 = pick a free port (see WebServer::port())
  std::string cert_file;                // PEM certificate chain; HTTPS when both are set
  std::string key_file;                 // PEM private key
  std::chrono::seconds session_idle{900};   // a session expires after this much inactivity
  std::vector<User> users;              // accounts (see User)
  std::size_t max_body = 1 << 20;       // bytes; larger requests get 413
  std::size_t max_header_bytes = 8192;  // bytes of request line + headers; larger get 431
  std::size_t max_header_count = 64;    // header fields; more get 431
  std::size_t max_connections = 64;     // concurrent connections; extra ones are closed
  std::size_t max_connections_per_address = 16;  // from one client address (a technician's
                                        // browser opens about 6); keeps one host from taking
                                        // every slot
  std::chrono::seconds read_timeout{10};    // whole-request deadline (slowloris guard)
  std::chrono::seconds keepalive_idle{30};  // idle keep-alive connection is closed after this
  int login_attempts = 5;               // failed logins per window per user and per client IP
  std::chrono::seconds login_window{60};    // rate-limit window
  bool metrics_require_login = false;   // true: /metrics needs a session like the API
  // Host header names accepted besides IP literals, "localhost" and this machine's host name
  // (with or without ".local"); any other Host gets 421 (DNS rebinding guard).
  std::vector<std::string> allowed_hosts;
  std::chrono::seconds dashboard_push{2};   // SSE dashboard refresh period while clients listen
  WebClock clock;                       // empty = std::chrono::steady_clock::now
  // One-line warnings (accept() failing, e.g. out of descriptors): the first failure, then at
  // most one a minute with the count so far. Empty = silent.
  std::function<void(const std::string&)> log;
};

// Serves the technician page. Not thread-safe: every call on the executor's thread.
class WebServer {
 public:
  // Keeps a reference to `backend`, which must outlive the server.
  WebServer(boost::asio::any_io_executor executor, WebOptions options, Backend& backend);
  ~WebServer();
  WebServer(const WebServer&) = delete;
  WebServer& operator=(const WebServer&) = delete;

  // Loads TLS files (if any), binds and starts accepting. Errors: bad address, port in use,
  // unreadable or invalid certificate/key.
  std::error_code start();
  // Stops accepting and closes every connection; returns at once.
  void stop();
  // The bound TCP port (useful with port 0); 0 before start().
  int port() const;
  // Replaces the accounts (configuration reload); sessions of removed users or users whose
  // role or hash changed are ended.
  void set_users(std::vector<User> users);
  // Whether the server serves HTTPS.
  bool tls() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace floorgate::gateway::web
