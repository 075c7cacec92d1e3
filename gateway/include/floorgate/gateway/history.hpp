#pragma once
// The dashboard's last hour (GET /api/history, docs/web-api.md): one point per minute of
// events/s and, per consumer, the largest unacked count and oldest-unacked age seen in that
// minute, plus the minute in progress. Sans-I/O: the daemon feeds it once a second from its
// maintenance tick; a test feeds it any clock.

#include <boost/json/object.hpp>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

namespace floorgate::gateway {

class History {
 public:
  static constexpr std::size_t kMinutes = 60;
  static constexpr std::int64_t kStepMs = 60'000;

  struct Consumer {
    std::string name;
    std::uint64_t unacked = 0;
    std::optional<std::int64_t> oldest_age_s;  // none unacked: no age
  };
  struct Point {
    std::int64_t t_ms = 0;       // the minute's start (UTC ms)
    double events_per_s = 0;     // events made durable in the minute / seconds observed
    std::vector<Consumer> consumers;  // maxima over the minute
  };

  // `durable`: events made durable since the daemon started (a counter that only grows).
  void sample(std::int64_t now_ms, std::uint64_t durable, const std::vector<Consumer>& consumers);
  // Closed minutes oldest first (at most kMinutes - 1), then the minute in progress.
  std::vector<Point> points() const;
  // {"step_s":60,"points":[{"t_ms":..,"events_per_s":..,"consumers":{"<name>":{"unacked":..,
  //  "oldest_unacked_age_s":..|null}}},...]}
  boost::json::object to_json() const;

 private:
  std::deque<Point> closed_;
  std::optional<Point> current_;
  std::int64_t first_ms_ = 0;         // first sample of the current minute
  std::int64_t last_ms_ = 0;
  std::uint64_t durable_start_ = 0;   // durable count at first_ms_
  std::uint64_t durable_last_ = 0;
};

}  // namespace floorgate::gateway
