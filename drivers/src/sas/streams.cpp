// ByteStream implementations over a file descriptor (pty) and TCP, both with the in-band
// wakeup escape. The UART stream is in uart_stream.cpp.
#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/write.hpp>
#include <deque>

#include "floorgate/drivers/sas/byte_stream.hpp"

namespace asio = boost::asio;

namespace floorgate::drivers::sas {

std::vector<std::uint8_t> escape_frame(std::span<const std::uint8_t> frame) {
  std::vector<std::uint8_t> out;
  escape_frame(frame, out);
  return out;
}

void escape_frame(std::span<const std::uint8_t> frame, std::vector<std::uint8_t>& out) {
  out.clear();
  out.reserve(frame.size() + 4);
  for (std::size_t i = 0; i < frame.size(); ++i) {
    if (i == 0) {
      out.push_back(0xFF);
      out.push_back(0x00);
      out.push_back(frame[0]);
    } else {
      out.push_back(frame[i]);
      if (frame[i] == 0xFF) out.push_back(0xFF);
    }
  }
}

namespace {

// Shared read/write plumbing for any Asio stream with the in-band escape. Writes are
// serialised through a queue (one in flight).
template <typename Socket>
class EscapedStream : public ByteStream {
 public:
  explicit EscapedStream(asio::any_io_executor ex) : ex_(ex), sock_(ex) {}

  void async_read(ReadHandler h) override {
    std::weak_ptr<int> alive = alive_;
    sock_.async_read_some(asio::buffer(buf_), [this, alive, h = std::move(h)](
                                                  boost::system::error_code ec, std::size_t n) {
      if (alive.expired()) return h(std::make_error_code(std::errc::operation_canceled), {});
      h(ec, std::span<const std::uint8_t>(buf_.data(), ec ? 0 : n));
    });
  }

  // A poll is a few bytes and the line is nearly always writable: with nothing queued the
  // frame is written at once (the socket is non-blocking) and `h` runs inline, which saves the
  // loop a completion handler per poll. Whatever does not go out at once is queued.
  void async_write_frame(std::span<const std::uint8_t> frame, Handler h) override {
    escape_frame(frame, tx_);
    std::size_t n = 0;
    if (queue_.empty()) {
      boost::system::error_code ec;
      n = sock_.write_some(asio::buffer(tx_), ec);
      if (!ec && n == tx_.size()) return h({});
      if (ec && ec != asio::error::would_block && ec != asio::error::try_again) {
        return asio::post(ex_, [h = std::move(h), ec] { h(ec); });
      }
      if (ec) n = 0;
    }
    queue_.push_back({std::vector<std::uint8_t>(tx_.begin() + static_cast<std::ptrdiff_t>(n), tx_.end()),
                      std::move(h)});
    if (queue_.size() == 1) do_write();
  }

  void close() override {
    boost::system::error_code ignored;
    sock_.close(ignored);
    alive_ = std::make_shared<int>(0);
    auto q = std::move(queue_);
    queue_.clear();
    for (auto& item : q) {
      asio::post(ex_, [h = std::move(item.handler)] { h(std::make_error_code(std::errc::operation_canceled)); });
    }
  }

 protected:
  struct Item {
    std::vector<std::uint8_t> bytes;
    Handler handler;
  };
  void do_write() {
    std::weak_ptr<int> alive = alive_;
    asio::async_write(sock_, asio::buffer(queue_.front().bytes),
                      [this, alive](boost::system::error_code ec, std::size_t) {
                        if (alive.expired()) return;
                        Item done = std::move(queue_.front());
                        queue_.pop_front();
                        // Start the next write before the handler can queue another one.
                        if (!queue_.empty()) do_write();
                        done.handler(ec);
                      });
  }

  asio::any_io_executor ex_;
  Socket sock_;
  std::array<std::uint8_t, 1024> buf_{};
  std::vector<std::uint8_t> tx_;  // the escaped frame being written at once (reused)
  std::deque<Item> queue_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

class PtyStream final : public EscapedStream<asio::posix::stream_descriptor> {
 public:
  PtyStream(asio::any_io_executor ex, std::string path) : EscapedStream(ex), path_(std::move(path)) {}
  void async_open(Handler h) override {
    std::error_code ec;
    int fd = ::open(path_.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
      ec = std::error_code(errno, std::generic_category());
    } else {
      termios t{};
      if (::tcgetattr(fd, &t) == 0) {  // raw bytes: no echo, no line discipline
        ::cfmakeraw(&t);
        ::tcsetattr(fd, TCSANOW, &t);
      }
      // Bytes already waiting were answers to polls of an earlier open (a bus restarted by a
      // configuration change, a killed gateway): read as the answer to this driver's first
      // poll they would be put on the wrong EGM. The resume poll asks the EGM again.
      ::tcflush(fd, TCIFLUSH);
      alive_ = std::make_shared<int>(0);
      sock_.assign(fd);
      boost::system::error_code ignored;
      sock_.non_blocking(true, ignored);  // async_write_frame's direct write never blocks
    }
    asio::post(ex_, [h = std::move(h), ec] { h(ec); });
  }

 private:
  std::string path_;
};

class TcpStream final : public EscapedStream<asio::ip::tcp::socket> {
 public:
  TcpStream(asio::any_io_executor ex, std::string hp) : EscapedStream(ex), resolver_(ex) {
    auto colon = hp.rfind(':');
    host_ = colon == std::string::npos ? hp : hp.substr(0, colon);
    port_ = colon == std::string::npos ? "" : hp.substr(colon + 1);
  }
  void async_open(Handler h) override {
    alive_ = std::make_shared<int>(0);
    std::weak_ptr<int> alive = alive_;
    resolver_.async_resolve(
        host_, port_,
        [this, alive, h = std::move(h)](boost::system::error_code ec,
                                        asio::ip::tcp::resolver::results_type res) mutable {
          if (alive.expired()) return h(std::make_error_code(std::errc::operation_canceled));
          if (ec) return h(ec);
          asio::async_connect(sock_, res,
                              [this, alive, h = std::move(h)](boost::system::error_code ec2,
                                                              const asio::ip::tcp::endpoint&) {
                                if (alive.expired()) return h(std::make_error_code(std::errc::operation_canceled));
                                if (!ec2) {
                                  boost::system::error_code ignored;
                                  sock_.set_option(asio::ip::tcp::no_delay(true), ignored);
                                  sock_.non_blocking(true, ignored);  // see async_write_frame
                                }
                                h(ec2);
                              });
        });
  }

 private:
  asio::ip::tcp::resolver resolver_;
  std::string host_, port_;
};

}  // namespace

std::unique_ptr<ByteStream> make_pty_stream(asio::any_io_executor ex, std::string path) {
  return std::make_unique<PtyStream>(ex, std::move(path));
}

std::unique_ptr<ByteStream> make_tcp_stream(asio::any_io_executor ex, std::string host_port) {
  return std::make_unique<TcpStream>(ex, std::move(host_port));
}

}  // namespace floorgate::drivers::sas
