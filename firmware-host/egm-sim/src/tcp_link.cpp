// TCP link: the bus served on a TCP port, as a serial device server would, with the same
// escaped byte stream as the pty. One host connection at a time; a new one replaces the old.
#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <charconv>

#include "link.hpp"

namespace floorgate::sim {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

class TcpLink final : public Link {
 public:
  TcpLink(asio::io_context& io, Bus& bus)
      : bus_(bus),
        acceptor_(io),
        socket_(io),
        pump_(io, [this](const Bytes& b) { return write_now(b); }) {}

  ~TcpLink() override { stop(); }

  bool open(std::error_code& ec) {
    const std::string& target = bus_.config().target;
    auto colon = target.rfind(':');
    unsigned port = 0;
    if (colon == std::string::npos ||
        std::from_chars(target.data() + colon + 1, target.data() + target.size(), port).ec !=
            std::errc{} ||
        port > 65535) {
      ec = std::make_error_code(std::errc::invalid_argument);
      return false;
    }
    boost::system::error_code bec;
    auto addr = asio::ip::make_address(target.substr(0, colon), bec);
    if (bec) {
      ec = std::make_error_code(std::errc::invalid_argument);
      return false;
    }
    tcp::endpoint ep(addr, static_cast<unsigned short>(port));
    acceptor_.open(ep.protocol(), bec);
    if (!bec) acceptor_.set_option(tcp::acceptor::reuse_address(true), bec);
    if (!bec) acceptor_.bind(ep, bec);
    if (!bec) acceptor_.listen(4, bec);
    if (bec) {
      ec = std::error_code(bec.value(), std::generic_category());
      return false;
    }
    where_ = "tcp " + target;
    bus_.set_writer([this](std::vector<Chunk> c) {
      if (socket_.is_open()) pump_.push(std::move(c));
    });
    do_accept();
    return true;
  }

  void stop() override {
    if (stopped_) return;
    stopped_ = true;
    bus_.set_writer(nullptr);
    pump_.stop();
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    socket_.close(ignored);
  }

  std::string where() const override { return where_; }

 private:
  void do_accept() {
    acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket s) {
      if (stopped_ || ec == asio::error::operation_aborted) return;
      if (!ec) {
        boost::system::error_code ignored;
        socket_.close(ignored);
        pump_.clear();
        socket_ = std::move(s);
        socket_.set_option(tcp::no_delay(true), ignored);
        socket_.non_blocking(true, ignored);
        ++generation_;
        do_read(generation_);
      }
      do_accept();
    });
  }

  void do_read(std::uint64_t gen) {
    socket_.async_read_some(asio::buffer(buf_), [this, gen](const boost::system::error_code& ec,
                                                             std::size_t n) {
      if (stopped_ || gen != generation_) return;
      if (ec) {
        boost::system::error_code ignored;
        socket_.close(ignored);
        pump_.clear();
        return;
      }
      bus_.on_bytes({buf_.data(), n});
      do_read(gen);
    });
  }

  bool write_now(const Bytes& b) {
    if (!socket_.is_open()) return false;
    boost::system::error_code ec;
    std::size_t w = socket_.write_some(asio::buffer(b), ec);
    return !ec && w == b.size();
  }

  Bus& bus_;
  tcp::acceptor acceptor_;
  tcp::socket socket_;
  ChunkPump pump_;
  std::array<std::uint8_t, 1024> buf_{};
  std::string where_;
  std::uint64_t generation_ = 0;
  bool stopped_ = false;
};

}  // namespace

std::unique_ptr<Link> start_tcp_link(asio::io_context& io, Bus& bus, std::error_code& ec) {
  auto link = std::make_unique<TcpLink>(io, bus);
  if (!link->open(ec)) return nullptr;
  return link;
}

}  // namespace floorgate::sim
