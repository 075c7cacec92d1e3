#pragma once
// The simulator's HTTP plumbing (Boost.Beast): a loopback server and a FIFO POST client, each
// plain HTTP or HTTPS with mutual TLS (a SimTls from make_sim_tls).

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace boost::asio::ssl {
class context;
}

namespace floorgate::egmsim::g2s {

// The machine's TLS identity: a server context (requires a client certificate from the host)
// and a client context (presents ours, checks the host's against the CA).
struct SimTls {
  std::shared_ptr<boost::asio::ssl::context> server, client;
};
// Loads the three PEM files; nullopt with `error` set when one is unusable.
std::optional<SimTls> make_sim_tls(const std::string& cert, const std::string& key,
                                   const std::string& ca, std::string& error);

// Serves every POST; the handler returns {status, body} or nullopt to hang up without answer.
class SimServer {
 public:
  struct Answer {
    unsigned status = 200;
    std::string body;
  };
  using Handler = std::function<std::optional<Answer>(const std::string& target, const std::string& body)>;
  // tls: HTTPS with a required client certificate; nullptr: plain HTTP.
  SimServer(boost::asio::io_context& io, Handler h,
            std::shared_ptr<boost::asio::ssl::context> tls = nullptr);
  ~SimServer();
  bool listen(int port);  // 127.0.0.1:port; false on bind failure
  int port() const;
  void stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// One POST at a time to a fixed URL, in order; `done(ok, status, body)`.
class SimClient {
 public:
  using Done = std::function<void(bool ok, unsigned status, std::string body)>;
  // tls: HTTPS (the host's certificate must chain to the CA and name `host`).
  SimClient(boost::asio::io_context& io, std::string host, std::string port, std::string path,
            std::chrono::milliseconds timeout,
            std::shared_ptr<boost::asio::ssl::context> tls = nullptr);
  ~SimClient();
  void post(std::string body, Done done);
  std::size_t pending() const;
  // Why the last POST failed ("" after a success), e.g. a TLS verification reason.
  const std::string& last_error() const;
  void stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace floorgate::egmsim::g2s
