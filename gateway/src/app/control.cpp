// The control socket (control.hpp): accept, read one bounded line, answer, close.
#include "floorgate/gateway/control.hpp"

#include <pwd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "floorgate/drivers/json_writer.hpp"

namespace floorgate::gateway {

namespace asio = boost::asio;
using local = asio::local::stream_protocol;

namespace {
constexpr std::size_t kMaxRequestBytes = 4096;
constexpr std::size_t kMaxConnections = 4;
constexpr std::chrono::seconds kRequestDeadline{5};

std::string peer_name(local::socket& s) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(s.native_handle(), SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return "unknown";
  return user_name(cred.uid);
}
}  // namespace

std::string user_name(unsigned uid) {
  passwd pw{};
  passwd* found = nullptr;
  char buf[1024];
  if (::getpwuid_r(uid, &pw, buf, sizeof buf, &found) == 0 && found) return found->pw_name;
  return "uid " + std::to_string(uid);
}

std::string consumer_reset_refusal(std::error_code ec, const std::string& consumer,
                                   std::uint64_t to_seq, const store::Stats& st) {
  if (ec == store::Errc::unknown_consumer) return "no consumer named '" + consumer + "'";
  if (ec == store::Errc::out_of_range) {
    return "seq " + std::to_string(to_seq) + " is outside the kept rows (oldest " +
           std::to_string(st.first_seq) + ", newest " + std::to_string(st.last_seq) + ")";
  }
  return ec.message();
}

std::filesystem::path control_socket_path(const std::filesystem::path& store_path) {
  return store_path.parent_path() / "control.sock";
}

std::string consumer_reset_attrs(const std::string& consumer, std::uint64_t previous,
                                 std::uint64_t to_seq, const std::string& by,
                                 const std::string& via) {
  drivers::JsonWriter w;
  w.add("consumer", consumer).add("from_seq", previous).add("to_seq", to_seq);
  w.add("direction", to_seq < previous ? "back" : to_seq > previous ? "forward" : "none");
  w.add("by", by).add("via", via);
  return std::move(w).finish();
}

struct ControlServer::Impl : std::enable_shared_from_this<Impl> {
  Impl(asio::any_io_executor ex, std::filesystem::path p, Handler h)
      : acceptor(ex), path(std::move(p)), handle(std::move(h)) {}

  struct Conn {
    explicit Conn(asio::any_io_executor ex) : sock(ex), deadline(ex), buf(kMaxRequestBytes) {}
    local::socket sock;
    asio::steady_timer deadline;
    asio::streambuf buf;
    std::string out;
  };

  local::acceptor acceptor;
  std::filesystem::path path;
  Handler handle;
  std::size_t open = 0;
  bool stopped = false;

  void accept() {
    auto conn = std::make_shared<Conn>(acceptor.get_executor());
    acceptor.async_accept(conn->sock, [self = shared_from_this(), conn](boost::system::error_code ec) {
      if (self->stopped || ec == asio::error::operation_aborted) return;
      if (!ec) {
        if (self->open >= kMaxConnections) {
          boost::system::error_code ignored;
          conn->sock.close(ignored);
        } else {
          self->serve(conn);
        }
      }
      self->accept();
    });
  }

  void serve(const std::shared_ptr<Conn>& conn) {
    ++open;
    conn->deadline.expires_after(kRequestDeadline);
    conn->deadline.async_wait([conn](boost::system::error_code ec) {
      if (!ec) {
        boost::system::error_code ignored;
        conn->sock.cancel(ignored);
      }
    });
    asio::async_read_until(conn->sock, conn->buf, '\n',
                           [self = shared_from_this(), conn](boost::system::error_code ec, std::size_t n) {
                             conn->deadline.cancel();
                             if (ec) {
                               self->answer(conn, {{"ok", false},
                                                   {"error", ec == asio::error::not_found
                                                                 ? "request longer than 4096 bytes"
                                                                 : "no request line: " + ec.message()}});
                               return;
                             }
                             std::string line(asio::buffers_begin(conn->buf.data()),
                                              asio::buffers_begin(conn->buf.data()) + static_cast<std::ptrdiff_t>(n));
                             self->dispatch(conn, line);
                           });
  }

  void dispatch(const std::shared_ptr<Conn>& conn, const std::string& line) {
    boost::system::error_code ec;
    auto v = boost::json::parse(line, ec);
    if (ec || !v.is_object()) {
      answer(conn, {{"ok", false}, {"error", "the request is not a JSON object"}});
      return;
    }
    auto weak = weak_from_this();
    handle(v.as_object(), peer_name(conn->sock), [weak, conn](boost::json::object reply) {
      if (auto self = weak.lock()) self->answer(conn, std::move(reply));
    });
  }

  void answer(const std::shared_ptr<Conn>& conn, boost::json::object reply) {
    conn->out = boost::json::serialize(reply) + "\n";
    asio::async_write(conn->sock, asio::buffer(conn->out),
                      [self = shared_from_this(), conn](boost::system::error_code, std::size_t) {
                        boost::system::error_code ignored;
                        conn->sock.close(ignored);
                        --self->open;
                      });
  }
};

ControlServer::ControlServer(asio::any_io_executor ex, std::filesystem::path path, Handler handle)
    : impl_(std::make_shared<Impl>(std::move(ex), std::move(path), std::move(handle))) {}

ControlServer::~ControlServer() { stop(); }

std::error_code ControlServer::start() {
  std::error_code fs_ec;
  std::filesystem::remove(impl_->path, fs_ec);
  if (impl_->path.string().size() >= sizeof(sockaddr_un{}.sun_path)) {
    return std::make_error_code(std::errc::filename_too_long);
  }
  boost::system::error_code ec;
  local::endpoint ep(impl_->path.string());
  impl_->acceptor.open(ep.protocol(), ec);
  if (!ec) impl_->acceptor.bind(ep, ec);
  if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return ec;
  ::chmod(impl_->path.c_str(), 0660);
  impl_->accept();
  return {};
}

void ControlServer::stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  boost::system::error_code ignored;
  if (impl_->acceptor.is_open()) {
    impl_->acceptor.close(ignored);
    std::error_code fs_ec;
    std::filesystem::remove(impl_->path, fs_ec);
  }
}

}  // namespace floorgate::gateway
