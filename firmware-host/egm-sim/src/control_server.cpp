#include "control_server.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <deque>

namespace floorgate::sim {

namespace asio = boost::asio;
using asio::local::stream_protocol;

namespace {
constexpr std::size_t kMaxLine = 4096;
}

// One client: read a line, execute, write the answer, repeat (one write in flight).
class ControlServer::Session : public std::enable_shared_from_this<ControlServer::Session> {
 public:
  Session(stream_protocol::socket s, Simulator& sim, std::shared_ptr<bool> alive)
      : socket_(std::move(s)), sim_(sim), in_(kMaxLine), alive_(std::move(alive)) {}

  void start() { do_read(); }

 private:
  void do_read() {
    asio::async_read_until(socket_, in_, '\n',
                           [self = shared_from_this()](const boost::system::error_code& ec,
                                                       std::size_t n) { self->on_line(ec, n); });
  }

  void on_line(const boost::system::error_code& ec, std::size_t n) {
    if (!*alive_) return;
    if (ec) return;  // EOF, line too long, or shutdown: drop the client
    std::string line(asio::buffers_begin(in_.data()), asio::buffers_begin(in_.data()) + n);
    in_.consume(n);
    while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
    out_.push_back(sim_.execute(line));
    if (out_.size() == 1) do_write();
    do_read();
  }

  void do_write() {
    asio::async_write(socket_, asio::buffer(out_.front()),
                      [self = shared_from_this()](const boost::system::error_code& ec,
                                                  std::size_t) {
                        if (ec || !*self->alive_) return;
                        self->out_.pop_front();
                        if (!self->out_.empty()) self->do_write();
                      });
  }

  stream_protocol::socket socket_;
  Simulator& sim_;
  asio::streambuf in_;
  std::deque<std::string> out_;
  std::shared_ptr<bool> alive_;
};

ControlServer::ControlServer(asio::io_context& io, Simulator& sim)
    : sim_(sim), acceptor_(io), alive_(std::make_shared<bool>(true)) {}

ControlServer::~ControlServer() { stop(); }

bool ControlServer::start(const std::string& path, std::error_code& ec) {
  struct stat st{};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      ec = std::make_error_code(std::errc::file_exists);
      return false;
    }
    ::unlink(path.c_str());
  }
  boost::system::error_code bec;
  stream_protocol::endpoint ep(path);
  acceptor_.open(ep.protocol(), bec);
  if (!bec) acceptor_.bind(ep, bec);
  if (!bec) acceptor_.listen(16, bec);
  if (bec) {
    ec = std::error_code(bec.value(), std::generic_category());
    return false;
  }
  path_ = path;
  do_accept();
  return true;
}

void ControlServer::do_accept() {
  acceptor_.async_accept([this, alive = alive_](const boost::system::error_code& ec,
                                                stream_protocol::socket s) {
    if (!*alive || ec == asio::error::operation_aborted) return;
    if (!ec) std::make_shared<Session>(std::move(s), sim_, alive_)->start();
    do_accept();
  });
}

void ControlServer::stop() {
  if (!*alive_) return;
  *alive_ = false;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  if (!path_.empty()) ::unlink(path_.c_str());
}

}  // namespace floorgate::sim
