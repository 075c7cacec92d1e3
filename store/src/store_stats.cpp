// Stats: the counters StoreState keeps as the store works, read under its lock (no scan), plus
// the file sizes and the oldest-unacked times the counter thread refreshes.
#include <filesystem>

#include "floorgate/core/clock.hpp"
#include "sqlite_store.hpp"

namespace floorgate::store::detail {
namespace {

// stats() asks for a new oldest-unacked reading when the last one is older than this.
constexpr std::int64_t kOldestRefreshMs = 1000;

std::uint64_t file_size_or_zero(const std::filesystem::path& p) {
  std::error_code ec;
  auto n = std::filesystem::file_size(p, ec);
  return ec ? 0 : static_cast<std::uint64_t>(n);
}

}  // namespace

Stats SqliteStore::stats() { return snapshot(true); }

Stats SqliteStore::counters() { return snapshot(false); }

Stats SqliteStore::snapshot(bool full) {
  Stats s;
  bool refresh = false;
  {
    std::lock_guard lk(state_.mu);
    s.epoch = state_.epoch;
    s.rows = state_.row_count;
    s.last_seq = state_.last_seq;
    s.anchor_seq = state_.anchor_seq;
    s.first_seq = state_.first_seq;
    s.retention_alarm = state_.alarm;
    s.retention_alarm_reason = state_.alarm_reason;
    s.evicted_total = state_.evicted_total;
    s.evicted_unacked_total = state_.evicted_unacked_total;
    s.appended_total = state_.appended_total;
    s.commits_total = state_.commits_total;
    s.wal_restarts_total = state_.wal_restarts_total;
    s.wal_restart_busy_total = state_.wal_restart_busy_total;
    s.commit_us_avg = state_.commit_avg.count();
    s.append_failures_total = state_.append_failures_total;
    s.disk_full_total = state_.disk_full_total;
    s.integrity = state_.integrity;
    for (const auto& [name, c] : state_.consumers) {
      ConsumerStats cs;
      cs.name = name;
      cs.required = c.spec.required;
      cs.acked_upto = c.acked;
      cs.sent_upto = c.sent_upto;
      cs.unacked = c.pending;
      cs.counting = c.counted < c.acked;
      cs.dead_letters = c.dead_letters;
      cs.routed_total = c.routed_total;
      if (full && c.pending > 0) {
        if (auto it = state_.oldest_unacked.find(name); it != state_.oldest_unacked.end()) {
          cs.oldest_unacked_ts_ms = it->second;
        }
      }
      s.consumers.push_back(std::move(cs));
    }
    refresh = full && core::steady_now_ms() - state_.oldest_refreshed_ms >= kOldestRefreshMs;
  }
  if (!full) return s;
  if (refresh) counter_.want_oldest();
  s.bytes = file_size_or_zero(opt_.path) + file_size_or_zero(opt_.path.string() + "-wal");
  return s;
}

}  // namespace floorgate::store::detail
