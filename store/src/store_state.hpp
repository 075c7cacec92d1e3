#pragma once
// What the store's threads share (private), under one mutex, `StoreState::mu`. Who writes what:
// - the writer thread (StoreWriter, store_writer.hpp; retention, store_retention.hpp) is the
//   only one that moves the head (last_seq, row_count, first/anchor seq, the recent rows, the
//   type classes) and the consumers' durable counters (acked, pending, counted);
// - callers' threads change a consumer's ack_req (ack_async) and sent_upto (delivery reads);
// - the counter thread writes oldest_unacked and integrity.
// Everyone else reads under `mu`. The writer's queue is guarded by the same mutex (an ack's
// ack_req and its place in the queue change together).

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "floorgate/store/store.hpp"
#include "recent_rows.hpp"

namespace floorgate::store::detail {

// One consumer's cursors and counters.
struct ConsumerState {
  ConsumerSpec spec;
  std::uint64_t acked = 0;       // durable cursor
  std::uint64_t ack_req = 0;     // highest ack accepted (durable or queued)
  std::uint64_t sent_upto = 0;   // highest seq served by read_after (in memory)
  std::uint64_t pending = 0;     // matching rows after `counted` (stored with pending_at)
  std::uint64_t pending_at = 0;  // open only: the seq the stored pending was exact at
  // pending counts the rows in (counted, last_seq]. counted == acked, except after an ack
  // that jumped further than kSyncCountSpan: the counter thread counts that range off in
  // chunks so one big ack never stalls appends; until it is done, unacked over-reports.
  std::uint64_t counted = 0;
  std::uint64_t dead_letters = 0;
  std::uint64_t routed_total = 0;  // committed rows the route selected, since open
};

// One commit's changes to one consumer's counters.
struct CursorDelta {
  std::int64_t pending = 0;
  std::uint64_t routed = 0;  // appended rows the route selects (ConsumerState::routed_total)
  std::optional<std::uint64_t> acked;
  std::optional<std::uint64_t> counted;
};
using CursorDeltas = std::map<std::string, CursorDelta>;

struct StoreState {
  // The in-memory window of just-committed rows: about 4 s at 1,000 events/s, a few MiB.
  static constexpr std::size_t kRecentRows = 4096;
  static constexpr std::size_t kRecentBytes = 4u << 20;

  std::mutex mu;  // guards everything below
  std::map<std::string, ConsumerState> consumers;
  // The rows of the latest commits (added by the writer with last_seq, emptied when retention
  // deletes rows): read_after and get serve the live edge from here.
  RecentRows recent{kRecentRows, kRecentBytes};
  // Type -> bit (1 << class) per class a committed row of that type has; written by the writer
  // with last_seq, so every row up to last_seq is covered (persisted in type_class). The writer
  // reads it without the lock (it is the only writer).
  std::unordered_map<std::string, std::uint8_t> type_classes;

  // the head
  std::uint64_t epoch = 0;
  std::uint64_t last_seq = 0;
  std::uint64_t anchor_seq = 0;  // the chain anchor: the hash before the first kept row
  std::uint64_t first_seq = 0;   // smallest kept seq, 0 when empty (exact; see min_kept_seq)
  std::uint64_t row_count = 0;

  // counters (Stats)
  std::uint64_t evicted_total = 0;
  std::uint64_t evicted_unacked_total = 0;
  std::uint64_t appended_total = 0;
  std::uint64_t commits_total = 0;
  std::uint64_t wal_restarts_total = 0;       // StoreWriter::catch_up_wal
  std::uint64_t wal_restart_busy_total = 0;
  std::chrono::microseconds commit_avg{0};  // commit_average() of COMMIT durations
  std::uint64_t append_failures_total = 0;
  std::uint64_t disk_full_total = 0;
  std::uint64_t retention_commits = 0;  // a recount counted before one of these is stale
  bool alarm = false;                   // retention cannot meet the size bound
  std::string alarm_reason;
  std::string integrity = "ok";  // see Stats::integrity

  // Stats::oldest_unacked_ts_ms per consumer, refreshed by the counter thread.
  std::map<std::string, std::optional<std::int64_t>> oldest_unacked;
  std::int64_t oldest_refreshed_ms = -1'000'000;  // steady ms of the last refresh

  // Applies a commit's counter changes. Caller holds mu (the writer thread).
  void apply(const CursorDeltas& deltas);
  // The class tables that can hold rows of `route` up to last_seq. Caller holds mu.
  std::vector<int> tables_for(const Route& route) const;
};

}  // namespace floorgate::store::detail
