// Real UART: libserialport opens and configures the port (19200 8N1); the 9th bit is done with
// termios stick parity on its fd. Transmit: mark parity for the address byte, tcdrain, space
// parity for the rest in one write. Receive: space parity with INPCK|PARMRK, so a byte with the
// wakeup bit (a chirp) arrives as FF 00 X and a data FF as FF FF, the same as the escaped link.
#include <libserialport.h>
#include <linux/serial.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

#include <array>
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include "floorgate/drivers/sas/byte_stream.hpp"

namespace asio = boost::asio;

namespace floorgate::drivers::sas {
namespace {

std::error_code errno_ec() { return {errno, std::generic_category()}; }

class UartStream final : public ByteStream {
 public:
  UartStream(asio::any_io_executor ex, std::string path, std::chrono::microseconds wakeup_delay,
             bool low_latency)
      : ex_(ex), desc_(ex), path_(std::move(path)), wakeup_delay_(wakeup_delay),
        low_latency_(low_latency) {}
  ~UartStream() override { close(); }

  void async_open(Handler h) override {
    std::error_code ec = open_port();
    asio::post(ex_, [h = std::move(h), ec] { h(ec); });
  }

  void async_read(ReadHandler h) override {
    std::weak_ptr<int> alive = alive_;
    desc_.async_read_some(asio::buffer(buf_), [this, alive, h = std::move(h)](
                                                  boost::system::error_code ec, std::size_t n) {
      if (alive.expired()) return h(std::make_error_code(std::errc::operation_canceled), {});
      h(ec, std::span<const std::uint8_t>(buf_.data(), ec ? 0 : n));
    });
  }

  // Synchronous on the loop: the address byte must drain before parity flips (about 0.6 ms at
  // 19200 baud); the rest goes out in one write() so the frame keeps the 5 ms inter-byte rule.
  void async_write_frame(std::span<const std::uint8_t> frame, Handler h) override {
    std::error_code ec;
    if (!port_) ec = std::make_error_code(std::errc::not_connected);
    if (!ec && !frame.empty()) ec = set_parity(true);
    if (!ec && !frame.empty() && ::write(fd_, frame.data(), 1) != 1) ec = errno_ec();
    if (!ec) ::tcdrain(fd_);
    if (!ec && wakeup_delay_.count() > 0) {
      // tcdrain returns when a USB adapter took the byte, not when it left the adapter's FIFO.
      timespec ts{0, static_cast<long>(wakeup_delay_.count()) * 1000L};
      while (::nanosleep(&ts, &ts) != 0 && errno == EINTR) {
      }
    }
    if (!ec) ec = set_parity(false);
    if (!ec && frame.size() > 1) {
      auto n = ::write(fd_, frame.data() + 1, frame.size() - 1);
      if (n != static_cast<ssize_t>(frame.size() - 1)) ec = errno_ec();
    }
    asio::post(ex_, [h = std::move(h), ec] { h(ec); });
  }

  void close() override {
    alive_ = std::make_shared<int>(0);
    if (desc_.is_open()) desc_.release();  // libserialport owns the fd
    if (port_) {
      sp_close(port_);
      sp_free_port(port_);
      port_ = nullptr;
    }
  }

 private:
  std::error_code open_port() {
    close();
    if (sp_get_port_by_name(path_.c_str(), &port_) != SP_OK) {
      port_ = nullptr;
      return std::make_error_code(std::errc::no_such_device);
    }
    if (sp_open(port_, SP_MODE_READ_WRITE) != SP_OK) {
      sp_free_port(port_);
      port_ = nullptr;
      return std::make_error_code(std::errc::permission_denied);
    }
    sp_set_baudrate(port_, 19200);
    sp_set_bits(port_, 8);
    sp_set_parity(port_, SP_PARITY_NONE);
    sp_set_stopbits(port_, 1);
    sp_set_flowcontrol(port_, SP_FLOWCONTROL_NONE);
    sp_get_port_handle(port_, &fd_);
    termios t{};
    if (::tcgetattr(fd_, &t) != 0) return errno_ec();
    t.c_iflag &= ~static_cast<tcflag_t>(IGNPAR | ISTRIP | IXON | IXOFF);
    t.c_iflag |= INPCK | PARMRK;
    t.c_cflag |= PARENB | CMSPAR;
    t.c_cflag &= ~static_cast<tcflag_t>(PARODD);
    if (::tcsetattr(fd_, TCSANOW, &t) != 0) return errno_ec();
    if (low_latency_) {
      // Not every driver has it (ptys, some USB bridges): best effort, the port still works.
      serial_struct ss{};
      if (::ioctl(fd_, TIOCGSERIAL, &ss) == 0) {
        ss.flags |= ASYNC_LOW_LATENCY;
        (void)::ioctl(fd_, TIOCSSERIAL, &ss);
      }
    }
    // Stale input belongs to polls of an earlier open (see PtyStream::async_open).
    sp_flush(port_, SP_BUF_INPUT);
    alive_ = std::make_shared<int>(0);
    desc_.assign(fd_);
    return {};
  }

  // Stick parity: mark (1) for the wakeup byte, space (0) otherwise.
  std::error_code set_parity(bool mark) {
    termios t{};
    if (::tcgetattr(fd_, &t) != 0) return errno_ec();
    if (mark) t.c_cflag |= PARODD;
    else t.c_cflag &= ~static_cast<tcflag_t>(PARODD);
    if (::tcsetattr(fd_, TCSADRAIN, &t) != 0) return errno_ec();
    return {};
  }

  asio::any_io_executor ex_;
  asio::posix::stream_descriptor desc_;
  std::string path_;
  std::chrono::microseconds wakeup_delay_;
  bool low_latency_;
  sp_port* port_ = nullptr;
  int fd_ = -1;
  std::array<std::uint8_t, 512> buf_{};
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace

std::unique_ptr<ByteStream> make_uart_stream(asio::any_io_executor ex, std::string path,
                                             std::chrono::microseconds wakeup_delay,
                                             bool low_latency) {
  return std::make_unique<UartStream>(ex, std::move(path), wakeup_delay, low_latency);
}

std::vector<std::string> list_serial_ports() {
  std::vector<std::string> out;
  sp_port** ports = nullptr;
  if (sp_list_ports(&ports) != SP_OK) return out;
  for (int i = 0; ports[i]; ++i) out.emplace_back(sp_get_port_name(ports[i]));
  sp_free_port_list(ports);
  return out;
}

}  // namespace floorgate::drivers::sas
