#pragma once
// One HTTP connection (plain or TLS): reads a request under a deadline with size limits,
// hands it to the Api, writes the response, keeps alive or closes; or turns into a live
// Server-Sent Events stream. Lives in shared_ptrs captured by its own handlers.

#include "web/server_impl.hpp"

#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <array>
#include <deque>
#include <type_traits>

namespace floorgate::gateway::web::detail {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using error_code = boost::system::error_code;

inline constexpr std::chrono::seconds kWriteTimeout{30};
inline constexpr std::size_t kMaxSseQueue = 512;

template <class Stream>
class Connection : public ConnectionBase,
                   public std::enable_shared_from_this<Connection<Stream>> {
 public:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;

  template <class... Args>
  Connection(std::shared_ptr<WebServer::Impl> server, std::string client_addr, Args&&... args)
      : stream_(std::forward<Args>(args)...), server_(std::move(server)) {
    client_.address = std::move(client_addr);
    client_.tls = kTls;
  }
  ~Connection() override { server_->remove_connection(id_); }

  void run() {
    id_ = server_->add_connection(this->weak_from_this(), client_.address);
    if constexpr (kTls) {
      lowest().expires_after(server_->opts_.read_timeout);
      stream_.async_handshake(boost::asio::ssl::stream_base::server,
                              [self = this->shared_from_this()](error_code ec) {
                                if (ec) return self->close();
                                self->do_read();
                              });
    } else {
      do_read();
    }
  }

  void close() override {
    error_code ec;
    lowest().socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ec);
    lowest().close();
  }

  void send_sse(std::shared_ptr<const std::string> frame) override {
    if (sse_session_.empty()) return;
    if (sse_queue_.size() >= kMaxSseQueue) return close();  // a client that stopped reading
    sse_queue_.push_back(std::move(frame));
    if (sse_queue_.size() == 1) do_sse_write();
  }

  const std::string& sse_session() const override { return sse_session_; }

 private:
  auto& lowest() { return beast::get_lowest_layer(stream_); }

  void do_read() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_->opts_.max_header_bytes));
    parser_->body_limit(server_->opts_.max_body);
    lowest().expires_after(server_->opts_.read_timeout);  // the whole request, header and body
    bhttp::async_read_header(stream_, buffer_, *parser_,
                             [self = this->shared_from_this()](error_code ec, std::size_t) {
                               self->on_header(ec);
                             });
  }

  // A failure that deserves an answer gets one, then the connection closes.
  bool answer_error(error_code ec) {
    if (ec == bhttp::error::header_limit) return reply_and_close(431, "request header too large");
    if (ec == bhttp::error::body_limit) return reply_and_close(413, "request body too large");
    if (ec == bhttp::error::end_of_stream || ec == beast::error::timeout ||
        ec == boost::asio::error::operation_aborted || ec == boost::asio::error::eof ||
        ec == boost::asio::error::connection_reset) {
      close();
      return true;
    }
    return reply_and_close(400, "malformed request");
  }

  bool reply_and_close(unsigned status, std::string_view msg) {
    write(server_->api_->error(status, msg, 11, false));
    return true;
  }

  void on_header(error_code ec) {
    if (ec) return void(answer_error(ec));
    const auto& h = parser_->get();
    std::size_t count = 0;
    for (auto it = h.begin(); it != h.end(); ++it) ++count;
    if (count > server_->opts_.max_header_count) return void(reply_and_close(431, "too many header fields"));
    if (auto len = parser_->content_length(); len && *len > server_->opts_.max_body) {
      return void(reply_and_close(413, "request body too large"));
    }
    bhttp::async_read(stream_, buffer_, *parser_,
                      [self = this->shared_from_this()](error_code e, std::size_t) {
                        self->on_body(e);
                      });
  }

  void on_body(error_code ec) {
    if (ec) return void(answer_error(ec));
    lowest().expires_never();
    Request req = parser_->release();
    try {
      server_->api_->handle(std::move(req), client_,
                            [self = this->shared_from_this()](Outcome o) {
                              self->on_outcome(std::move(o));
                            });
    } catch (const std::exception&) {
      // A backend that threw: answer 500 rather than letting it cross the event loop.
      reply_and_close(500, "internal error");
    }
  }

  void on_outcome(Outcome o) {
    if (o.sse) return start_sse(std::move(o.session_token));
    write(std::move(o.res));
  }

  void write(Response res) {
    res_ = std::make_shared<Response>(std::move(res));
    lowest().expires_after(kWriteTimeout);
    bhttp::async_write(stream_, *res_,
                       [self = this->shared_from_this()](error_code ec, std::size_t) {
                         self->on_write(ec);
                       });
  }

  void on_write(error_code ec) {
    bool keep = res_ && res_->keep_alive();
    res_.reset();
    if (ec || !keep) return close();
    do_read();
  }

  void start_sse(std::string token) {
    sse_session_ = std::move(token);
    auto head = std::make_shared<const std::string>(
        "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-store\r\n"
        "X-Content-Type-Options: nosniff\r\nConnection: close\r\n\r\n"
        "retry: 2000\n\n");
    sse_queue_.push_back(std::move(head));
    do_sse_write();
    do_sse_read();
  }

  // A live stream keeps one read pending: it holds the connection alive (the server only keeps
  // weak references) and notices at once when the browser goes away.
  void do_sse_read() {
    stream_.async_read_some(boost::asio::buffer(sse_in_),
                            [self = this->shared_from_this()](error_code ec, std::size_t) {
                              if (ec) return self->close();
                              self->do_sse_read();  // clients have nothing to say; discard
                            });
  }

  void do_sse_write() {
    lowest().expires_after(kWriteTimeout);
    boost::asio::async_write(stream_, boost::asio::buffer(*sse_queue_.front()),
                             [self = this->shared_from_this()](error_code ec, std::size_t) {
                               if (ec) return self->close();
                               self->sse_queue_.pop_front();
                               if (!self->sse_queue_.empty()) {
                                 self->do_sse_write();
                               } else {
                                 self->lowest().expires_never();
                               }
                             });
  }

  Stream stream_;
  std::shared_ptr<WebServer::Impl> server_;
  ClientInfo client_;
  std::uint64_t id_ = 0;
  beast::flat_buffer buffer_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  std::shared_ptr<Response> res_;
  std::string sse_session_;
  std::deque<std::shared_ptr<const std::string>> sse_queue_;
  std::array<char, 512> sse_in_{};
};

}  // namespace floorgate::gateway::web::detail
