#pragma once
// Minimal HTTP/1.1 server (Boost.Beast) for POST /G2S: one object per connection, a deadline
// on every read, a body limit (413 above it). Plain HTTP, or HTTPS with a required and
// verified client certificate (use_tls). Runs on the executor it was given.

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace boost::asio::ssl {
class context;
}

namespace floorgate::drivers::g2s {

class HttpServer {
 public:
  struct Reply {
    unsigned status = 200;
    std::string body;
    std::string content_type = "text/xml; charset=utf-8";
  };
  // Who sent a request: the client's IP address (IPv4-mapped IPv6 shown as IPv4) and, on
  // HTTPS, the names its verified certificate carries (subject CN, SAN DNS names and URIs).
  struct Peer {
    std::string address;
    bool tls = false;
    std::vector<std::string> cert_names;
  };
  // peer, method, target, body -> reply. Runs on the executor; must not block.
  using Handler = std::function<Reply(const Peer& peer, std::string_view method,
                                      std::string_view target, std::string_view body)>;
  // Connection limits: total and per client address (an EGM needs one or two).
  struct Limits {
    std::size_t max_connections = 256;
    std::size_t max_per_address = 8;
  };
  // Called for requests rejected before the handler (bad framing, too large).
  using RejectCounter = std::function<void()>;
  // Called when a TLS handshake fails (no, untrusted or bad client certificate, not TLS):
  // peer "address:port" and the reason.
  using TlsReject = std::function<void(const std::string& peer, const std::string& reason)>;

  HttpServer(boost::asio::any_io_executor ex, std::size_t max_body,
             std::chrono::milliseconds read_timeout, Handler handler, RejectCounter on_reject);
  ~HttpServer();
  // Serve HTTPS with this (server) context from now on; call before listen().
  void use_tls(std::shared_ptr<boost::asio::ssl::context> ctx, TlsReject on_tls_reject);
  void set_limits(Limits limits);
  std::error_code listen(const std::string& address, int port);
  int port() const;
  // Connections closed at accept (over a limit) and accept() failures (out of descriptors),
  // since start.
  std::uint64_t refused_connections() const;
  std::uint64_t accept_errors() const;
  void stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace floorgate::drivers::g2s
