#pragma once
// Sessions and login rate limiting for the web server. Pure state machines with an injected
// clock; used on the server's executor thread only.

#include <floorgate/gateway/web/backend.hpp>
#include <floorgate/gateway/web/web_server.hpp>

#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace floorgate::gateway::web::detail {

using TimePoint = std::chrono::steady_clock::time_point;

// One logged-in browser.
struct Session {
  std::string token;  // cookie value (random, 32 bytes hex)
  std::string csrf;   // X-CSRF-Token value (random, 32 bytes hex)
  std::string user;
  std::string role;
  TimePoint last_seen;
};

// Live sessions keyed by token, expiring after `idle` without a request.
class SessionStore {
 public:
  // `idle`: inactivity that ends a session; `max_sessions`: oldest are dropped beyond it.
  // `max_per_user`: a user's oldest session is dropped beyond it, so logins of one account
  // (a viewer's, scripted) cannot push everyone else's sessions out of the store.
  SessionStore(std::chrono::seconds idle, std::size_t max_sessions = 256,
               std::size_t max_per_user = 16);
  // Creates a session for `user`/`role`; returns a copy of it.
  Session create(const std::string& user, const std::string& role, TimePoint now);
  // The session for `token` when it exists and has not expired; refreshes last_seen when
  // `touch`. Expired sessions are removed.
  const Session* find(std::string_view token, TimePoint now, bool touch);
  // Ends one session (logout).
  void remove(std::string_view token);
  // Ends every session whose user is not in `users` with the same role and hash.
  void retain_users(const std::vector<User>& users, const std::vector<User>& old_users);
  // Drops expired sessions (periodic sweep).
  void sweep(TimePoint now);
  // Number of live sessions (tests, metrics).
  std::size_t size() const { return sessions_.size(); }

 private:
  std::chrono::seconds idle_;
  std::size_t max_sessions_, max_per_user_;
  std::map<std::string, Session, std::less<>> sessions_;
};

// Failed-login counter per key (user name, client address) in a sliding window.
class LoginLimiter {
 public:
  LoginLimiter(int max_failures, std::chrono::seconds window);
  // Seconds until `key` may try again; 0 when allowed now.
  long blocked_for(const std::string& key, TimePoint now);
  // Records a failed attempt for `key`.
  void record_failure(const std::string& key, TimePoint now);
  // Forgets the failures of `key` (successful login).
  void reset(const std::string& key);
  // Takes back the most recent failure of `key` (an attempt reserved up front that succeeded
  // or never ran).
  void forgive_last(const std::string& key);

 private:
  void prune(std::deque<TimePoint>& q, TimePoint now) const;
  int max_failures_;
  std::chrono::seconds window_;
  std::map<std::string, std::deque<TimePoint>> failures_;
};

}  // namespace floorgate::gateway::web::detail
