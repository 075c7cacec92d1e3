// pty link: the bus on a new pseudo-terminal whose slave is symlinked at the target path. The
// slave is put in raw mode so the host sees our bytes unchanged. When no host holds the slave
// open, reads on the master fail with EIO: we then retry on a timer (never spin) and keep the
// symlink, so a host can close and reopen the port at will.
#include <fcntl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <array>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <cerrno>
#include <cstdio>

#include "link.hpp"

namespace floorgate::sim {
namespace {

namespace asio = boost::asio;
constexpr auto kReopenPoll = std::chrono::milliseconds(50);

class PtyLink final : public Link {
 public:
  PtyLink(asio::io_context& io, Bus& bus)
      : bus_(bus),
        master_(io),
        retry_(io),
        pump_(io, [this](const Bytes& b) { return write_now(b); }) {}

  ~PtyLink() override { stop(); }

  bool open(std::error_code& ec) {
    int fd = ::posix_openpt(O_RDWR | O_NOCTTY | O_NONBLOCK);
    if (fd < 0 || ::grantpt(fd) != 0 || ::unlockpt(fd) != 0) {
      ec = std::error_code(errno, std::generic_category());
      if (fd >= 0) ::close(fd);
      return false;
    }
    char name[128];
    if (::ptsname_r(fd, name, sizeof name) != 0) {
      ec = std::error_code(errno, std::generic_category());
      ::close(fd);
      return false;
    }
    slave_name_ = name;
    int slave = ::open(name, O_RDWR | O_NOCTTY);
    if (slave < 0) {
      ec = std::error_code(errno, std::generic_category());
      ::close(fd);
      return false;
    }
    termios tio{};
    ::tcgetattr(slave, &tio);
    ::cfmakeraw(&tio);
    ::cfsetispeed(&tio, B19200);
    ::cfsetospeed(&tio, B19200);
    ::tcsetattr(slave, TCSANOW, &tio);
    ::close(slave);
    const std::string& path = bus_.config().target;
    struct stat st{};
    if (::lstat(path.c_str(), &st) == 0) {
      if (!S_ISLNK(st.st_mode)) {
        ec = std::make_error_code(std::errc::file_exists);
        ::close(fd);
        return false;
      }
      ::unlink(path.c_str());
    }
    if (::symlink(name, path.c_str()) != 0) {
      ec = std::error_code(errno, std::generic_category());
      ::close(fd);
      return false;
    }
    path_ = path;
    master_.assign(fd);
    bus_.set_writer([this](std::vector<Chunk> c) { pump_.push(std::move(c)); });
    do_read();
    return true;
  }

  void stop() override {
    if (stopped_) return;
    stopped_ = true;
    bus_.set_writer(nullptr);
    pump_.stop();
    retry_.cancel();
    boost::system::error_code ignored;
    master_.close(ignored);
    if (!path_.empty()) ::unlink(path_.c_str());
  }

  std::string where() const override { return "pty " + path_ + " -> " + slave_name_; }

 private:
  void do_read() {
    master_.async_read_some(asio::buffer(buf_),
                            [this](const boost::system::error_code& ec, std::size_t n) {
                              on_read(ec, n);
                            });
  }

  void on_read(const boost::system::error_code& ec, std::size_t n) {
    if (stopped_ || ec == asio::error::operation_aborted) return;
    if (ec) {
      // EIO: no host has the slave open. Drop pending output and look again shortly.
      pump_.clear();
      host_present_ = false;
      retry_.expires_after(kReopenPoll);
      retry_.async_wait([this](const boost::system::error_code& e) {
        if (!e && !stopped_) do_read();
      });
      return;
    }
    host_present_ = true;
    bus_.on_bytes({buf_.data(), n});
    do_read();
  }

  bool write_now(const Bytes& b) {
    if (stopped_) return false;
    ssize_t w = ::write(master_.native_handle(), b.data(), b.size());
    return w == static_cast<ssize_t>(b.size());
  }

  Bus& bus_;
  asio::posix::stream_descriptor master_;
  asio::steady_timer retry_;
  ChunkPump pump_;
  std::array<std::uint8_t, 1024> buf_{};
  std::string path_;
  std::string slave_name_;
  bool stopped_ = false;
  bool host_present_ = false;
};

}  // namespace

std::unique_ptr<Link> start_pty_link(asio::io_context& io, Bus& bus, std::error_code& ec) {
  auto link = std::make_unique<PtyLink>(io, bus);
  if (!link->open(ec)) return nullptr;
  return link;
}

}  // namespace floorgate::sim
