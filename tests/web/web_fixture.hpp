#pragma once
// Test-only: a WebServer with the FakeBackend on its own io_context thread, a manual clock
// offset (session expiry without waiting) and helpers to log in and call the API.

#include "fake_backend.hpp"
#include "http_client.hpp"

#include <floorgate/gateway/web/password.hpp>
#include <floorgate/gateway/web/web_server.hpp>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <atomic>
#include <future>
#include <memory>
#include <thread>

namespace floorgate::testing {

namespace web = floorgate::gateway::web;

// Fast hashes for tests (the default work factor is deliberately slow).
inline const std::string& tech_hash() {
  static const std::string h = web::hash_password("tech-pass", 1000);
  return h;
}
inline const std::string& viewer_hash() {
  static const std::string h = web::hash_password("view-pass", 1000);
  return h;
}

struct Login {
  std::string cookie;  // "fg_session=..."
  std::string csrf;
};

class WebHarness {
 public:
  explicit WebHarness(web::WebOptions opts = {}) {
    opts.port = 0;
    if (opts.users.empty()) {
      opts.users = {{"tech", "technician", tech_hash()}, {"view", "viewer", viewer_hash()}};
    }
    opts.clock = [this] {
      return std::chrono::steady_clock::now() + std::chrono::seconds(offset_s.load());
    };
    server_ = std::make_unique<web::WebServer>(io_.get_executor(), std::move(opts), backend);
    start_error = server_->start();
    port = server_->port();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~WebHarness() {
    boost::asio::post(io_, [this] {
      server_->stop();
      work_.reset();
    });
    thread_.join();
    server_.reset();
  }

  // Runs `f` on the server's thread and waits for it.
  template <class F>
  auto on_io(F f) {
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto fut = task.get_future();
    boost::asio::post(io_, [&task] { task(); });
    return fut.get();
  }

  // Logs in; empty cookie on failure.
  Login login(const std::string& user, const std::string& password) {
    auto r = http_request(port, "POST", "/api/login",
                          "{\"user\":\"" + user + "\",\"password\":\"" + password + "\"}",
                          {{"Content-Type", "application/json"}});
    Login l;
    auto it = r.headers.find("set-cookie");
    if (r.status != 200 || it == r.headers.end()) return l;
    l.cookie = it->second.substr(0, it->second.find(';'));
    boost::system::error_code ec;
    auto v = boost::json::parse(r.body, ec);
    if (!ec) l.csrf = std::string(v.at("csrf").as_string());
    return l;
  }

  HttpReply get(const Login& l, const std::string& target) {
    return http_request(port, "GET", target, {}, {{"Cookie", l.cookie}});
  }
  HttpReply post(const Login& l, const std::string& target, const std::string& body,
                 std::map<std::string, std::string> extra = {}) {
    extra.emplace("Cookie", l.cookie);
    extra.emplace("X-CSRF-Token", l.csrf);
    extra.emplace("Content-Type", "application/json");
    return http_request(port, "POST", target, body, extra);
  }

  // The server (call its methods on the io thread only, e.g. through on_io()).
  web::WebServer& server() { return *server_; }

  FakeBackend backend;
  std::atomic<long> offset_s{0};
  std::error_code start_error;
  int port = 0;

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{
      io_.get_executor()};
  std::unique_ptr<web::WebServer> server_;
  std::thread thread_;
};

}  // namespace floorgate::testing
