#pragma once
// The appliance's one HTTP/1.1 server core (Boost.Beast), used by the G2S listener and the
// technician web page. Per connection: an optional TLS handshake, then requests read under one
// deadline each (header and body), with limits on header bytes, header fields and body bytes;
// the request goes to the owner's handler, which answers now or later through an HttpReply;
// the response is written under a deadline; keep-alive as the response says. A reply can turn
// its connection into a push stream (Server-Sent Events). Connections are capped in total and
// per client address at accept; accept() failures (out of descriptors) pause, growing from
// 50 ms to 1 s, instead of spinning the loop that also polls the SAS buses.
//
// Runs on the executor it was given; every handler is called there and must not block.

#include <boost/asio/any_io_executor.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/system/error_code.hpp>

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
struct ssl_st;

namespace floorgate::net {

using HttpRequest = boost::beast::http::request<boost::beast::http::string_body>;
using HttpResponse = boost::beast::http::response<boost::beast::http::string_body>;

// Who sent a request.
struct HttpPeer {
  std::string address;  // the client's IP (an IPv4-mapped IPv6 address shown as IPv4)
  std::string endpoint;  // address:port
  bool tls = false;
  // On HTTPS with a verified client certificate: the names HttpHandlers::tls_names found in it.
  std::vector<std::string> cert_names;
};

struct HttpLimits {
  std::size_t max_body = 1 << 20;           // bytes; more is refused with 413
  std::size_t max_header_bytes = 16 * 1024;  // request line + header fields; more: 431
  std::size_t max_header_count = 64;        // header fields; more: 431
  // The TLS handshake, and each request from its first byte to its last (slowloris guard).
  std::chrono::milliseconds read_timeout{10'000};
  std::chrono::milliseconds write_timeout{30'000};  // each response, each push frame
  std::size_t max_connections = 256;
  std::size_t max_per_address = 16;
  std::size_t max_push_queue = 512;  // frames behind on a push stream: the client is closed
};

// A connection turned into a one-way stream (Server-Sent Events). Frames go out in order.
class HttpPushStream {
 public:
  virtual ~HttpPushStream() = default;
  virtual void send(std::shared_ptr<const std::string> frame) = 0;
  virtual void close() = 0;
};

namespace detail {
class Exchange;
}

// The answer to one request: exactly one of send() or push(), now or later. Dropping it
// unanswered closes the connection.
class HttpReply {
 public:
  explicit HttpReply(std::shared_ptr<detail::Exchange> x);
  HttpReply(HttpReply&&) noexcept;
  HttpReply& operator=(HttpReply&&) noexcept;
  ~HttpReply();
  void send(HttpResponse res);
  // Writes `head` (status line, header fields, first bytes) and keeps the connection as a push
  // stream; the server keeps no strong reference to it beyond its pending read and writes.
  std::shared_ptr<HttpPushStream> push(std::string head);

 private:
  std::shared_ptr<detail::Exchange> x_;
};

struct HttpHandlers {
  // One complete request.
  std::function<void(HttpRequest req, const HttpPeer& peer, HttpReply reply)> request;
  // The response to a request the server refused itself: 400 (malformed), 413 (body), 431
  // (header), 500 (the request handler threw). The connection closes after it.
  std::function<HttpResponse(unsigned status, std::string_view why, unsigned version)> refusal;
  // Optional. A TLS handshake failed (no, untrusted or bad client certificate; not TLS).
  std::function<void(const HttpPeer& peer, const boost::system::error_code& ec, ssl_st* ssl)>
      tls_failed;
  // Optional. The names a verified client certificate carries (HttpPeer::cert_names).
  std::function<std::vector<std::string>(ssl_st* ssl)> tls_names;
  // Optional. accept() failed; `failures` counts them since start.
  std::function<void(const boost::system::error_code& ec, std::uint64_t failures)> accept_failed;
};

class HttpServer {
 public:
  HttpServer(boost::asio::any_io_executor ex, HttpLimits limits, HttpHandlers handlers);
  ~HttpServer();  // stop()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Serve HTTPS with this server context (its verify mode decides about client certificates);
  // before listen().
  void use_tls(std::shared_ptr<boost::asio::ssl::context> ctx);
  std::error_code listen(const std::string& address, int port);
  int port() const;
  // Closes the listener and every connection; pending handlers see operation_aborted.
  void stop();

  std::uint64_t refused_connections() const;  // closed at accept: over a connection cap
  std::uint64_t refused_requests() const;     // answered through HttpHandlers::refusal
  std::uint64_t accept_errors() const;
  std::size_t connections() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace floorgate::net
