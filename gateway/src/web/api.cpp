// Request routing, authentication and CSRF checks (see api.hpp).
#include "web/api.hpp"

#include "web/assets.hpp"
#include "web/http_util.hpp"

#include <floorgate/gateway/web/password.hpp>

#include <boost/json.hpp>
#include <unistd.h>
#include <boost/asio/ip/address.hpp>

#include <algorithm>
#include <cctype>
#include "floorgate/core/loop_site.hpp"

namespace floorgate::gateway::web::detail {
namespace http = boost::beast::http;
namespace json = boost::json;

namespace {
constexpr std::string_view kCookie = "fg_session";
// Verified when the user name is unknown, so a miss costs as much as a wrong password.
constexpr std::string_view kDummyHash =
    "pbkdf2-sha256$210000$AAAAAAAAAAAAAAAAAAAAAA==$"
    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

bool state_changing(http::verb v) {
  return v == http::verb::post || v == http::verb::put || v == http::verb::patch ||
         v == http::verb::delete_;
}

bool is_json_content(const Request& req) {
  std::string_view ct = req[http::field::content_type];
  auto semi = ct.find(';');
  ct = ct.substr(0, semi);
  while (!ct.empty() && ct.back() == ' ') ct.remove_suffix(1);
  if (ct.size() != 16) return false;
  std::string lower(ct);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower == "application/json";
}

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The names a Host header may carry besides IP literals and localhost: this machine's host
// name (also with .local) and web.allowed_hosts, lower case. Worked out once, not per request.
std::vector<std::string> known_host_names(const std::vector<std::string>& allowed) {
  std::vector<std::string> names;
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) == 0 && name[0] != '\0') {
    names.push_back(lower(name));
    names.push_back(lower(name) + ".local");
  }
  for (const auto& a : allowed) names.push_back(lower(a));
  return names;
}

// The Host header must name this server: an IP literal, localhost, this machine's host name
// or a configured name. A page on another site that re-points its DNS name at us (DNS
// rebinding) would send its own name, and is refused.
bool host_ok(const Request& req, const std::vector<std::string>& names) {
  std::string_view h = req[http::field::host];
  if (h.empty()) return false;
  std::string host;
  if (h.front() == '[') {
    auto close = h.find(']');
    if (close == std::string_view::npos) return false;
    host = std::string(h.substr(1, close - 1));
  } else {
    host = std::string(h.substr(0, h.find(':')));
  }
  host = lower(std::move(host));
  while (!host.empty() && host.back() == '.') host.pop_back();
  boost::system::error_code ec;
  boost::asio::ip::make_address(host, ec);
  if (!ec || host == "localhost") return true;
  return std::find(names.begin(), names.end(), host) != names.end();
}

// An Origin header, when sent, must name this server (defence in depth beside SameSite).
bool origin_ok(const Request& req) {
  auto it = req.find(http::field::origin);
  if (it == req.end()) return true;
  std::string_view origin = it->value();
  std::string_view host = req[http::field::host];
  if (host.empty()) return false;
  return origin == "http://" + std::string(host) || origin == "https://" + std::string(host);
}

// Reads {"yaml": "..."} from a request body; nullopt when the shape is wrong.
std::optional<std::string> yaml_field(const Request& req) {
  boost::system::error_code ec;
  json::value v = json::parse(req.body(), ec);
  if (ec || !v.is_object()) return std::nullopt;
  const json::value* y = v.as_object().if_contains("yaml");
  if (!y || !y->is_string()) return std::nullopt;
  return std::string(y->as_string());
}

std::string session_cookie(const std::string& token, bool tls, bool clear) {
  std::string c = std::string(kCookie) + "=" + token + "; Path=/; HttpOnly; SameSite=Strict";
  if (tls) c += "; Secure";
  if (clear) c += "; Max-Age=0";
  return c;
}
}  // namespace

Api::Api(const WebOptions& options, Backend& backend, Offload offload)
    : options_(options),
      backend_(backend),
      offload_(std::move(offload)),
      users_(options.users),
      sessions_(options.session_idle),
      limiter_(options.login_attempts, options.login_window),
      user_limiter_(options.login_attempts * 10, options.login_window),
      host_names_(known_host_names(options.allowed_hosts)) {}

TimePoint Api::now() const {
  return options_.clock ? options_.clock() : std::chrono::steady_clock::now();
}

Response Api::error(unsigned status, std::string_view message, unsigned version,
                    bool keep_alive) {
  Response res{static_cast<http::status>(status), version};
  res.set(http::field::content_type, "application/json; charset=utf-8");
  res.set(http::field::cache_control, "no-store");
  res.set("X-Content-Type-Options", "nosniff");
  res.set("X-Frame-Options", "DENY");
  res.body() = json::serialize(json::object{{"error", message}});
  res.keep_alive(keep_alive);
  res.prepare_payload();
  return res;
}

Response Api::json(unsigned status, const json::value& v, unsigned version, bool keep_alive) {
  Response res{static_cast<http::status>(status), version};
  res.set(http::field::content_type, "application/json; charset=utf-8");
  res.set(http::field::cache_control, "no-store");
  res.set("X-Content-Type-Options", "nosniff");
  res.set("X-Frame-Options", "DENY");
  res.body() = json::serialize(v);
  res.keep_alive(keep_alive);
  res.prepare_payload();
  return res;
}

bool Api::session_alive(const std::string& token) {
  return sessions_.find(token, now(), false) != nullptr;
}

void Api::set_users(std::vector<User> users) {
  sessions_.retain_users(users, users_);
  users_ = std::move(users);
}

void Api::sweep() { sessions_.sweep(now()); }

void Api::handle(Request req, const ClientInfo& client, std::function<void(Outcome)> done) {
  auto fail = [&](unsigned status, std::string_view msg) {
    // A malformed request ends the connection; a plain miss (404, 405) keeps it.
    done(Outcome{error(status, msg, req.version(), req.keep_alive() && status != 400), false, {}});
  };
  std::string_view target = req.target();
  if (target.empty() || target.front() != '/') return fail(400, "bad request target");
  if (!host_ok(req, host_names_)) {
    return fail(421, "unknown Host; add this name to web.allowed_hosts");
  }
  auto qpos = target.find('?');
  auto path = url_decode(target.substr(0, qpos), false);
  std::string query(qpos == std::string_view::npos ? "" : target.substr(qpos + 1));
  if (!path) return fail(400, "bad escape in path");
  if (path->find("..") != std::string::npos || path->find('\\') != std::string::npos ||
      path->find("//") != std::string::npos) {
    return fail(404, "not found");
  }
  if (path->rfind("/api/", 0) == 0) return handle_api(req, client, *path, query, done);
  if (*path == "/healthz" || *path == "/readyz") {
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      return fail(405, "method not allowed");
    }
    Backend::Probe p = *path == "/healthz" ? backend_.liveness() : backend_.readiness();
    boost::json::object o = std::move(p.detail);
    o["status"] = p.ok ? "ok" : "fail";
    Response res{p.ok ? http::status::ok : http::status::service_unavailable, req.version()};
    res.set(http::field::content_type, "application/json");
    res.set(http::field::cache_control, "no-store");
    res.body() = boost::json::serialize(o) + "\n";
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    return done(Outcome{std::move(res), false, {}});
  }
  if (*path == "/metrics") {
    core::LoopSite site("web.metrics");
    if (req.method() != http::verb::get) return fail(405, "method not allowed");
    if (options_.metrics_require_login &&
        !sessions_.find(cookie_value(req[http::field::cookie], kCookie), now(), false)) {
      return fail(401, "login required");
    }
    Response res{http::status::ok, req.version()};
    res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
    res.set(http::field::cache_control, "no-store");
    res.body() = backend_.metrics_text();
    res.body() += "# HELP floorgate_web_sessions Live technician web sessions.\n"
                  "# TYPE floorgate_web_sessions gauge\nfloorgate_web_sessions " +
                  std::to_string(sessions_.size()) + "\n";
    res.body() += "# HELP floorgate_web_worker_jobs Logins and configuration checks queued or "
                  "running on the web worker.\n# TYPE floorgate_web_worker_jobs gauge\n"
                  "floorgate_web_worker_jobs " + std::to_string(worker_jobs_) + "\n";
    if (server_metrics_) res.body() += server_metrics_();
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    return done(Outcome{std::move(res), false, {}});
  }
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    auto res = error(405, "method not allowed", req.version(), req.keep_alive());
    res.set(http::field::allow, "GET, HEAD");
    return done(Outcome{std::move(res), false, {}});
  }
  done(Outcome{serve_asset(req, *path), false, {}});
}

Response Api::serve_asset(const Request& req, const std::string& path) const {
  const Asset* a = find_asset(path);
  if (!a) return error(404, "not found", req.version(), req.keep_alive());
  Response res{http::status::ok, req.version()};
  res.set(http::field::content_type, a->content_type);
  res.set(http::field::cache_control, "no-cache");
  res.set("X-Content-Type-Options", "nosniff");
  res.set("X-Frame-Options", "DENY");
  res.set("Referrer-Policy", "no-referrer");
  res.set("Content-Security-Policy",
          "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'");
  res.keep_alive(req.keep_alive());
  if (req.method() == http::verb::head) {
    res.content_length(a->data.size());
  } else {
    res.body().assign(a->data);
    res.prepare_payload();
  }
  return res;
}

void Api::handle_api(Request& req, const ClientInfo& client, const std::string& path,
                     const std::string& query, std::function<void(Outcome)>& done) {
  auto fail = [&](unsigned status, std::string_view msg) {
    done(Outcome{error(status, msg, req.version(), req.keep_alive()), false, {}});
  };
  bool changing = state_changing(req.method());
  if (changing) {
    if (!origin_ok(req)) return fail(403, "cross-origin request refused");
    if (!req.body().empty() && !is_json_content(req)) {
      return fail(415, "request body must be application/json");
    }
  }
  if (path == "/api/login") {
    if (req.method() != http::verb::post) return fail(405, "method not allowed");
    if (!is_json_content(req)) return fail(415, "request body must be application/json");
    return handle_login(req, client, std::move(done));
  }
  const Session* s = sessions_.find(cookie_value(req[http::field::cookie], kCookie), now(), true);
  if (!s) return fail(401, "login required");
  if (changing && !constant_time_equal(req["X-CSRF-Token"], s->csrf)) {
    return fail(403, "missing or wrong CSRF token");
  }
  Session session = *s;  // copy: handlers may end the session
  if ((path == "/api/users" && req.method() != http::verb::get) ||
      path.rfind("/api/users/", 0) == 0) {
    if (req.method() != http::verb::post) return fail(405, "method not allowed");
    if (session.role != "technician") return fail(403, "the technician role is required");
    return handle_users(req, session, path, std::move(done));
  }
  if (path == "/api/config/validate" || path == "/api/config/apply") {
    if (req.method() != http::verb::post) return fail(405, "method not allowed");
    bool apply = path == "/api/config/apply";
    if (apply && session.role != "technician") return fail(403, "technician role required");
    return handle_config(req, session, apply, std::move(done));
  }
  if (path == "/api/config/rollback") {
    if (req.method() != http::verb::post) return fail(405, "method not allowed");
    if (session.role != "technician") return fail(403, "the technician role is required");
    return backend_.rollback_config(
        session.user, [done, version = req.version(), keep = req.keep_alive()](ConfigResult r) {
          done(Outcome{config_result(r, version, keep), false, {}});
        });
  }
  if (handle_stored(req, path, query, done)) return;
  bool sse = false;
  Response res = route_authed(req, session, path, sse);
  if (path == "/api/logout" && res.result() == http::status::no_content) {
    res.set(http::field::set_cookie, session_cookie("", client.tls, true));
  }
  done(Outcome{std::move(res), sse, sse ? session.token : std::string{}});
}

void Api::handle_login(Request& req, const ClientInfo& client, std::function<void(Outcome)> done) {
  boost::system::error_code ec;
  json::value body = json::parse(req.body(), ec);
  const json::string* user = nullptr;
  const json::string* pw = nullptr;
  if (!ec && body.is_object()) {
    user = body.as_object().if_contains("user") ? body.as_object()["user"].if_string() : nullptr;
    pw = body.as_object().if_contains("password") ? body.as_object()["password"].if_string()
                                                   : nullptr;
  }
  if (!user || !pw || user->size() > 128 || pw->size() > 1024) {
    return done(Outcome{error(400, "expected {\"user\": ..., \"password\": ...}", req.version(),
                              req.keep_alive()),
                        false, {}});
  }
  std::string name(*user);
  // Failures count per (user, address) and per address, so that guessing from one place
  // cannot lock the real user out elsewhere; and per user at ten times the limit, so that
  // guessing from many places is still bounded.
  std::string ukey = "u:" + name + "@" + client.address;
  std::string ikey = "ip:" + client.address;
  std::string gkey = name;
  long wait = std::max({limiter_.blocked_for(ukey, now()), limiter_.blocked_for(ikey, now()),
                        user_limiter_.blocked_for(gkey, now())});
  if (wait > 0) {
    auto res = error(429, "too many failed logins; try again later", req.version(),
                     req.keep_alive());
    res.set(http::field::retry_after, std::to_string(wait));
    return done(Outcome{std::move(res), false, {}});
  }
  std::string hash(kDummyHash);
  std::string role;
  for (const auto& u : users_) {
    if (u.name == name) {
      hash = u.password_hash;
      role = u.role;
    }
  }
  bool known = !role.empty();
  auto version = req.version();
  bool keep = req.keep_alive();
  bool tls = client.tls;
  // The attempt counts as a failure from now on (reserved): parallel guesses all see it,
  // instead of all running before the first verdict is recorded.
  limiter_.record_failure(ukey, now());
  limiter_.record_failure(ikey, now());
  user_limiter_.record_failure(gkey, now());
  // The callback owns the reply; if the worker is full it never runs and we answer here.
  auto reply = std::make_shared<std::function<void(Outcome)>>(std::move(done));
  bool queued = run_off_loop(
      [password = std::string(*pw), hash] { return verify_password(password, hash); },
      [this, known, name, role, ukey, ikey, gkey, version, keep, tls, reply](bool ok) {
        if (!ok || !known) {
          return (*reply)(Outcome{error(401, "wrong user name or password", version, keep),
                                  false, {}});
        }
        limiter_.reset(ukey);
        limiter_.forgive_last(ikey);
        user_limiter_.forgive_last(gkey);
        Session s = sessions_.create(name, role, now());
        Response res{http::status::ok, version};
        res.set(http::field::content_type, "application/json; charset=utf-8");
        res.set(http::field::cache_control, "no-store");
        res.set(http::field::set_cookie, session_cookie(s.token, tls, false));
        res.body() = json::serialize(json::object{
            {"user", s.user}, {"role", s.role}, {"csrf", s.csrf},
            {"idle_seconds", options_.session_idle.count()}});
        res.keep_alive(keep);
        res.prepare_payload();
        (*reply)(Outcome{std::move(res), false, {}});
      });
  if (!queued) {
    limiter_.forgive_last(ukey);
    limiter_.forgive_last(ikey);
    user_limiter_.forgive_last(gkey);
    (*reply)(Outcome{busy(req.version(), keep), false, {}});
  }
}

bool Api::run_off_loop(std::function<bool()> job, std::function<void(bool)> done) {
  if (worker_jobs_ >= kMaxWorkerJobs) return false;
  ++worker_jobs_;
  offload_(std::move(job), [this, done = std::move(done)](bool r) {
    --worker_jobs_;
    done(r);
  });
  return true;
}

void Api::handle_users(Request& req, const Session& session, const std::string& path,
                       std::function<void(Outcome)> done) {
  using Action = UserChange::Action;
  auto fail = [&](unsigned status, std::string_view msg) {
    done(Outcome{error(status, msg, req.version(), req.keep_alive()), false, {}});
  };
  UserChange change;
  if (path == "/api/users") change.action = Action::add;
  else if (path == "/api/users/password") change.action = Action::set_password;
  else if (path == "/api/users/role") change.action = Action::set_role;
  else if (path == "/api/users/remove") change.action = Action::remove;
  else return fail(404, "not found");
  boost::system::error_code ec;
  json::value body = json::parse(req.body(), ec);
  auto field = [&](std::string_view key) -> const json::string* {
    if (ec || !body.is_object()) return nullptr;
    const json::value* v = body.as_object().if_contains(key);
    return v ? v->if_string() : nullptr;
  };
  const bool add = change.action == Action::add;
  const json::string* user = field(add ? "name" : "user");
  const json::string* pw = field("password");
  const json::string* role = field("role");
  const bool wants_pw = add || change.action == Action::set_password;
  const bool wants_role = add || change.action == Action::set_role;
  if (!user || (wants_pw && !pw) || (wants_role && !role)) {
    return fail(400, add ? "expected {\"name\", \"role\", \"password\"}"
                 : change.action == Action::set_password ? "expected {\"user\", \"password\"}"
                 : change.action == Action::set_role     ? "expected {\"user\", \"role\"}"
                                                         : "expected {\"user\"}");
  }
  change.account = std::string(*user);
  if (wants_role) {
    change.role = std::string(*role);
    if (change.role != "viewer" && change.role != "technician")
      return fail(422, "a role is viewer or technician");
  }
  const bool known = std::any_of(users_.begin(), users_.end(),
                                 [&](const User& u) { return u.name == change.account; });
  if (add) {
    const bool name_ok = !change.account.empty() && change.account.size() <= 64 &&
                         std::all_of(change.account.begin(), change.account.end(), [](char c) {
                           return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
                         });
    if (!name_ok) return fail(422, "an account name has 1-64 characters from A-Z a-z 0-9 - _");
    if (known) return fail(409, "there is already an account with that name");
  } else if (!known) {
    return fail(404, "no such web account");
  }
  if (wants_pw && (pw->size() < 8 || pw->size() > 1024))
    return fail(422, "a password has 8 to 1024 characters");
  auto reply = std::make_shared<std::function<void(Outcome)>>(std::move(done));
  const auto version = req.version();
  const bool keep = req.keep_alive();
  auto store = [this, reply, version, keep, by = session.user](const UserChange& c) {
    backend_.change_user(c, by, [reply, version, keep](ConfigResult r) {
      (*reply)(Outcome{config_result(r, version, keep), false, {}});
    });
  };
  if (!wants_pw) return store(change);
  // PBKDF2 on the worker; the loop only stores the hash.
  auto pending = std::make_shared<UserChange>(std::move(change));
  bool queued = run_off_loop(
      [pending, password = std::string(*pw)] {
        pending->password_hash = hash_password(password);
        return true;
      },
      [pending, store](bool) { store(*pending); });
  if (!queued) (*reply)(Outcome{busy(version, keep), false, {}});
}

Response Api::busy(unsigned version, bool keep_alive) const {
  auto res = error(503, "the gateway is busy; try again in a moment", version, keep_alive);
  res.set(http::field::retry_after, "1");
  return res;
}

void Api::handle_config(Request& req, const Session& session, bool apply,
                        std::function<void(Outcome)> done) {
  auto yaml = yaml_field(req);
  if (!yaml) {
    return done(Outcome{error(400, "expected {\"yaml\": \"...\"}", req.version(),
                              req.keep_alive()),
                        false, {}});
  }
  // Parsing and checking cost what the client sent, so they never run on the loop; only
  // installing the checked result (apply) comes back to it.
  auto checked = std::make_shared<std::shared_ptr<const CheckedConfig>>();
  auto reply = std::make_shared<std::function<void(Outcome)>>(std::move(done));
  const Backend& backend = backend_;
  const auto version = req.version();
  const bool keep = req.keep_alive();
  bool queued = run_off_loop(
      [checked, &backend, text = std::move(*yaml)]() mutable {
        *checked = backend.check_config(std::move(text));
        return true;
      },
      [this, checked, reply, apply, user = session.user, version, keep](bool) {
        auto answer = [reply, version, keep](const ConfigResult& r) {
          (*reply)(Outcome{config_result(r, version, keep), false, {}});
        };
        if (!apply) return answer((*checked)->result);
        backend_.apply_config(*checked, user, answer);
      });
  if (!queued) (*reply)(Outcome{busy(version, keep), false, {}});
}

}  // namespace floorgate::gateway::web::detail
