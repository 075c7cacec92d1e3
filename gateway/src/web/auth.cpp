// Sessions and login rate limiting (see auth.hpp).
#include "web/auth.hpp"

#include "web/http_util.hpp"

#include <algorithm>

namespace floorgate::gateway::web::detail {

SessionStore::SessionStore(std::chrono::seconds idle, std::size_t max_sessions,
                           std::size_t max_per_user)
    : idle_(idle), max_sessions_(max_sessions), max_per_user_(std::max<std::size_t>(1, max_per_user)) {}

Session SessionStore::create(const std::string& user, const std::string& role, TimePoint now) {
  sweep(now);
  std::vector<std::map<std::string, Session, std::less<>>::iterator> mine;
  for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
    if (it->second.user == user) mine.push_back(it);
  }
  if (mine.size() >= max_per_user_) {
    auto oldest = *std::min_element(mine.begin(), mine.end(), [](auto& a, auto& b) {
      return a->second.last_seen < b->second.last_seen;
    });
    sessions_.erase(oldest);
  }
  while (sessions_.size() >= max_sessions_) {
    auto oldest = std::min_element(sessions_.begin(), sessions_.end(), [](auto& a, auto& b) {
      return a.second.last_seen < b.second.last_seen;
    });
    sessions_.erase(oldest);
  }
  Session s{random_token(32), random_token(32), user, role, now};
  sessions_[s.token] = s;
  return s;
}

const Session* SessionStore::find(std::string_view token, TimePoint now, bool touch) {
  if (token.empty()) return nullptr;
  auto it = sessions_.find(token);
  if (it == sessions_.end()) return nullptr;
  if (now - it->second.last_seen >= idle_) {
    sessions_.erase(it);
    return nullptr;
  }
  if (touch) it->second.last_seen = now;
  return &it->second;
}

void SessionStore::remove(std::string_view token) {
  auto it = sessions_.find(token);
  if (it != sessions_.end()) sessions_.erase(it);
}

void SessionStore::retain_users(const std::vector<User>& users, const std::vector<User>& old) {
  auto same = [&](const std::string& name, const std::string& role) {
    auto now_it = std::find_if(users.begin(), users.end(), [&](auto& u) { return u.name == name; });
    auto old_it = std::find_if(old.begin(), old.end(), [&](auto& u) { return u.name == name; });
    return now_it != users.end() && old_it != old.end() && now_it->role == role &&
           now_it->password_hash == old_it->password_hash;
  };
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    if (same(it->second.user, it->second.role)) {
      ++it;
    } else {
      it = sessions_.erase(it);
    }
  }
}

void SessionStore::sweep(TimePoint now) {
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    if (now - it->second.last_seen >= idle_) {
      it = sessions_.erase(it);
    } else {
      ++it;
    }
  }
}

LoginLimiter::LoginLimiter(int max_failures, std::chrono::seconds window)
    : max_failures_(std::max(1, max_failures)), window_(window) {}

void LoginLimiter::prune(std::deque<TimePoint>& q, TimePoint now) const {
  while (!q.empty() && now - q.front() >= window_) q.pop_front();
}

long LoginLimiter::blocked_for(const std::string& key, TimePoint now) {
  auto it = failures_.find(key);
  if (it == failures_.end()) return 0;
  prune(it->second, now);
  if (it->second.empty()) {
    failures_.erase(it);
    return 0;
  }
  if (static_cast<int>(it->second.size()) < max_failures_) return 0;
  auto left = std::chrono::ceil<std::chrono::seconds>(it->second.front() + window_ - now);
  return std::max<long>(1, static_cast<long>(left.count()));
}

void LoginLimiter::record_failure(const std::string& key, TimePoint now) {
  if (failures_.size() > 10000) failures_.clear();  // bounded memory under a spray attack
  auto& q = failures_[key];
  prune(q, now);
  q.push_back(now);
  while (static_cast<int>(q.size()) > max_failures_) q.pop_front();
}

void LoginLimiter::reset(const std::string& key) { failures_.erase(key); }

void LoginLimiter::forgive_last(const std::string& key) {
  auto it = failures_.find(key);
  if (it == failures_.end()) return;
  if (!it->second.empty()) it->second.pop_back();
  if (it->second.empty()) failures_.erase(it);
}

}  // namespace floorgate::gateway::web::detail
