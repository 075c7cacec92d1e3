#pragma once
// One ordered outbound HTTP POST queue towards one EGM's egmLocation (Boost.Beast): one
// request in flight, a deadline on each (connect + [TLS handshake] + write + read), a
// kept-alive connection. https:// targets need a client TLS context (use_tls): we present our
// certificate and verify the EGM's against the CA and the URL's host.

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <system_error>

#include "floorgate/drivers/g2s/host.hpp"

namespace boost::asio::ssl {
class context;
}

namespace floorgate::drivers::g2s {

class HttpClient final : public PostQueue {
 public:

  HttpClient(boost::asio::any_io_executor ex, std::chrono::milliseconds timeout);
  ~HttpClient() override;
  // With a context, only https:// targets are accepted (no plain-text downgrade); without
  // one, only http://. Call before set_target.
  void use_tls(std::shared_ptr<boost::asio::ssl::context> ctx);
  // "http(s)://host:port/path"; false when unparsable or of the wrong scheme (posts then fail
  // with invalid_argument; see target_problem()).
  bool set_target(const std::string& url) override;
  // Why the last set_target failed ("" when it did not).
  const std::string& target_problem() const override;
  // Queues one POST (SOAPAction SendG2SMessage); FIFO.
  void post(std::string body, Done done) override;
  // Drops queued (not yet sent) requests; their callbacks get operation_aborted.
  void clear() override;
  std::size_t queued() const override;
  // Detail of the last failed request (TLS verification reason, ...); "" after a success.
  const std::string& last_error() const override;
  // Closes the connection, drops everything. Idempotent.
  void stop() override;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace floorgate::drivers::g2s
