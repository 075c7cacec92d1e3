#pragma once
// Links carry one Bus over a real byte stream (pty, TCP). main() picks a starter from its
// table of link kinds by BusConfig::kind. Loop thread only.

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <system_error>

#include "bus.hpp"

namespace floorgate::sim {

// A running link; stop() closes it (and removes what it created, e.g. the pty symlink).
class Link {
 public:
  virtual ~Link() = default;
  // Cancels I/O and closes; never blocks.
  virtual void stop() = 0;
  // Human-readable endpoint, e.g. "pty /tmp/sas0 -> /dev/pts/3".
  virtual std::string where() const = 0;
};

// Starts a link for `bus` at bus.config().target; on failure returns nullptr and sets `ec`.
using LinkStarter = std::unique_ptr<Link> (*)(boost::asio::io_context& io, Bus& bus,
                                              std::error_code& ec);

// pty link: new pseudo-terminal, raw slave, symlink at the target path.
std::unique_ptr<Link> start_pty_link(boost::asio::io_context& io, Bus& bus, std::error_code& ec);
// TCP link: listens on HOST:PORT, one host connection at a time (a serial device server).
std::unique_ptr<Link> start_tcp_link(boost::asio::io_context& io, Bus& bus, std::error_code& ec);

// Writes chunks in order, honouring each chunk's delay; drops bytes the stream refuses.
class ChunkPump {
 public:
  // `write_now` writes bytes immediately (non-blocking) and returns false if the peer is gone.
  ChunkPump(boost::asio::io_context& io, std::function<bool(const Bytes&)> write_now);
  // Queues chunks (from Bus::Writer).
  void push(std::vector<Chunk> chunks);
  // Drops everything queued (peer went away).
  void clear();
  // Cancels the delay timer.
  void stop();

 private:
  void pump();
  boost::asio::steady_timer timer_;
  std::function<bool(const Bytes&)> write_now_;
  std::deque<Chunk> queue_;
  bool waiting_ = false;
};

}  // namespace floorgate::sim
