#pragma once
// The simulator's HTTP plumbing (Boost.Beast): a loopback server and a FIFO POST client.

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace floorgate::egmsim::g2s {

// Serves every POST; the handler returns {status, body} or nullopt to hang up without answer.
class SimServer {
 public:
  struct Answer {
    unsigned status = 200;
    std::string body;
  };
  using Handler = std::function<std::optional<Answer>(const std::string& target, const std::string& body)>;
  SimServer(boost::asio::io_context& io, Handler h);
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
  SimClient(boost::asio::io_context& io, std::string host, std::string port, std::string path,
            std::chrono::milliseconds timeout);
  ~SimClient();
  void post(std::string body, Done done);
  std::size_t pending() const;
  void stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace floorgate::egmsim::g2s
