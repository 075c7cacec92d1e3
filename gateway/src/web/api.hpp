#pragma once
// The request router: static assets, the JSON API, auth, CSRF, /metrics. No sockets here: a
// parsed request and the client's address in, a response (or "switch to SSE") out. Runs on
// the server's executor; work priced by the client (PBKDF2 of a login, parsing and checking a
// configuration) runs on a bounded worker thread.

#include "web/auth.hpp"

#include <floorgate/gateway/web/backend.hpp>
#include <floorgate/gateway/web/web_server.hpp>

#include <boost/asio/any_io_executor.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace floorgate::gateway::web::detail {

using Request = boost::beast::http::request<boost::beast::http::string_body>;
using Response = boost::beast::http::response<boost::beast::http::string_body>;

// What the connection should do with a request.
struct Outcome {
  Response res;
  bool sse = false;           // true: write SSE headers and join the live stream
  std::string session_token;  // the session an SSE stream belongs to
};

// Where a request came from (rate limiting, cookie flags).
struct ClientInfo {
  std::string address;
  bool tls = false;
};

// Runs a blocking job off the loop and hands the result back on the executor.
using Offload = std::function<void(std::function<bool()> job, std::function<void(bool)> done)>;

// Secrets (web.users[].password_hash) replaced by "(set)" in configuration text and in its
// JSON document, for viewers.
std::string redact_secrets(std::string_view yaml);
void redact_secrets(boost::json::object& document);

// Routes requests; owns sessions and the login limiter.
class Api {
 public:
  Api(const WebOptions& options, Backend& backend, Offload offload);
  // Handles one request; calls `done` exactly once (synchronously except for login).
  void handle(Request req, const ClientInfo& client, std::function<void(Outcome)> done);
  // A plain response with security headers (for errors decided by the connection).
  static Response error(unsigned status, std::string_view message, unsigned version,
                        bool keep_alive);
  // True while the session behind an SSE stream is still valid (does not refresh it).
  bool session_alive(const std::string& token);
  // Accounts changed (configuration reload).
  void set_users(std::vector<User> users);
  // Extra /metrics lines from the server (connection counters).
  void set_server_metrics(std::function<std::string()> f) { server_metrics_ = std::move(f); }
  // Drops expired sessions; called periodically.
  void sweep();
  // The session store (tests and metrics).
  SessionStore& sessions() { return sessions_; }

 private:
  TimePoint now() const;
  void handle_api(Request& req, const ClientInfo& client, const std::string& path,
                  const std::string& query, std::function<void(Outcome)>& done);
  void handle_login(Request& req, const ClientInfo& client, std::function<void(Outcome)> done);
  // POST /api/config/validate and /api/config/apply: checked on the worker, applied here.
  void handle_config(Request& req, const Session& session, bool apply,
                     std::function<void(Outcome)> done);
  Response busy(unsigned version, bool keep_alive) const;
  // POST /api/users (add), /api/users/password, /api/users/role, /api/users/remove
  // (technician): passwords hashed on the worker, the change stored by the backend.
  void handle_users(Request& req, const Session& session, const std::string& path,
                    std::function<void(Outcome)> done);
  // Offloads `job` unless kMaxWorkerJobs are queued or running (then false, nothing called).
  bool run_off_loop(std::function<bool()> job, std::function<void(bool)> done);
  Response route_authed(Request& req, const Session& session, const std::string& path,
                        bool& sse);
  Response serve_asset(const Request& req, const std::string& path) const;
  Response json(unsigned status, const boost::json::value& v, const Request& req) const {
    return json(status, v, req.version(), req.keep_alive());
  }
  // Stateless: the worker formats large answers with it too.
  static Response json(unsigned status, const boost::json::value& v, unsigned version,
                       bool keep_alive);
  static Response config_result(const ConfigResult& r, unsigned version, bool keep_alive);
  // The event browser's query string as an EventQuery, or the 400 that says what is wrong.
  std::optional<Response> parse_event_query(const Request& req, const std::string& query,
                                            bool csv, EventQuery& out) const;
  // GET /api/events, /api/events.csv, /api/audit and /api/egms/<id>: their rows come from the
  // store off the loop (Backend::events), the answer goes out when they arrive. False: not one
  // of these requests.
  bool handle_stored(Request& req, const std::string& path, const std::string& query,
                     std::function<void(Outcome)>& done);
  static Response events_csv(boost::json::array rows, unsigned version, bool keep_alive);

  const WebOptions& options_;
  Backend& backend_;
  Offload offload_;
  std::function<std::string()> server_metrics_;
  // Client-priced jobs queued or running on the worker; beyond the bound requests get 503 at
  // once, so a flood neither queues without limit nor delays a technician's login for long.
  static constexpr int kMaxWorkerJobs = 8;
  int worker_jobs_ = 0;
  std::vector<User> users_;
  SessionStore sessions_;
  LoginLimiter limiter_;       // per (user, address) and per address
  LoginLimiter user_limiter_;  // per user, from anywhere (10x the limit)
  // Answers that arrive later (store reads) check that the Api still exists.
  std::shared_ptr<Api*> alive_ = std::make_shared<Api*>(this);
  std::vector<std::string> host_names_;  // Host names besides IP literals (see host_ok)
};

}  // namespace floorgate::gateway::web::detail
