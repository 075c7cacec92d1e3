#pragma once
// One ordered outbound HTTP POST queue towards one EGM's egmLocation (Boost.Beast): one
// request in flight, a deadline on each (connect + write + read), a kept-alive connection.

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <system_error>

namespace floorgate::drivers::g2s {

class HttpClient {
 public:
  // ec empty and status 200 -> body is the reply. Runs on the executor.
  using Done = std::function<void(std::error_code ec, unsigned status, std::string body)>;

  HttpClient(boost::asio::any_io_executor ex, std::chrono::milliseconds timeout);
  ~HttpClient();
  // "http://host:port/path"; false when unparsable (posts then fail with invalid_argument).
  bool set_target(const std::string& url);
  // Queues one POST (SOAPAction SendG2SMessage); FIFO.
  void post(std::string body, Done done);
  // Drops queued (not yet sent) requests; their callbacks get operation_aborted.
  void clear();
  std::size_t queued() const;
  // Closes the connection, drops everything. Idempotent.
  void stop();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace floorgate::drivers::g2s
