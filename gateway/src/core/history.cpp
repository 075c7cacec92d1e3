// History: per-minute samples of the last hour (history.hpp).
#include "floorgate/gateway/history.hpp"

#include <algorithm>
#include <cmath>
#include <boost/json.hpp>

namespace floorgate::gateway {
namespace json = boost::json;

void History::sample(std::int64_t now_ms, std::uint64_t durable,
                     const std::vector<Consumer>& consumers) {
  const std::int64_t minute = now_ms - ((now_ms % kStepMs) + kStepMs) % kStepMs;
  if (current_ && current_->t_ms != minute) {
    // The minute ends with its last sample (its rate is already that of first..last sample).
    closed_.push_back(std::move(*current_));
    while (closed_.size() > kMinutes - 1) closed_.pop_front();
    current_.reset();
  }
  if (!current_) {
    current_.emplace();
    current_->t_ms = minute;
    // A minute that follows another starts where the last sample left off: no event is
    // counted twice or lost between two minutes.
    const bool continuing = last_ms_ != 0;
    first_ms_ = continuing ? last_ms_ : now_ms;
    durable_start_ = continuing ? durable_last_ : durable;
  }
  durable_last_ = durable;
  last_ms_ = now_ms;
  const double seconds = (now_ms - first_ms_) / 1000.0;
  current_->events_per_s =
      seconds > 0 ? static_cast<double>(durable - durable_start_) / seconds : 0.0;
  for (const auto& c : consumers) {
    auto it = std::find_if(current_->consumers.begin(), current_->consumers.end(),
                           [&](const Consumer& x) { return x.name == c.name; });
    if (it == current_->consumers.end()) {
      current_->consumers.push_back(c);
      continue;
    }
    it->unacked = std::max(it->unacked, c.unacked);
    if (c.oldest_age_s && (!it->oldest_age_s || *c.oldest_age_s > *it->oldest_age_s))
      it->oldest_age_s = c.oldest_age_s;
  }
}

std::vector<History::Point> History::points() const {
  std::vector<Point> out(closed_.begin(), closed_.end());
  if (current_) out.push_back(*current_);
  return out;
}

json::object History::to_json() const {
  json::array points;
  for (const auto& p : this->points()) {
    json::object consumers;
    for (const auto& c : p.consumers) {
      consumers[c.name] = json::object{
          {"unacked", c.unacked},
          {"oldest_unacked_age_s", c.oldest_age_s ? json::value(*c.oldest_age_s) : nullptr}};
    }
    points.push_back(json::object{{"t_ms", p.t_ms},
                                  {"events_per_s", std::round(p.events_per_s * 100) / 100},
                                  {"consumers", std::move(consumers)}});
  }
  return json::object{{"step_s", kStepMs / 1000}, {"points", std::move(points)}};
}

}  // namespace floorgate::gateway
