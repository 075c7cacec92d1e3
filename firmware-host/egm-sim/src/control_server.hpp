#pragma once
// The control socket: a Unix stream socket; one text command per line in, the Simulator's
// JSON line(s) out. Any number of clients. Loop thread only.

#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <memory>
#include <string>
#include <system_error>

#include "simulator.hpp"

namespace floorgate::sim {

// Listens at a path and serves commands against one Simulator.
class ControlServer {
 public:
  ControlServer(boost::asio::io_context& io, Simulator& sim);
  ~ControlServer();
  // Binds `path` (replacing a stale socket file) and starts accepting; false + ec on failure.
  bool start(const std::string& path, std::error_code& ec);
  // Stops accepting, closes every client and removes the socket file.
  void stop();

 private:
  class Session;
  void do_accept();

  Simulator& sim_;
  boost::asio::local::stream_protocol::acceptor acceptor_;
  std::string path_;
  std::shared_ptr<bool> alive_;
};

}  // namespace floorgate::sim
