// Read side: delivery batches, lookups, the event browser query, stats and chain checks. All
// run on the read connection under read_mu_, each in one read transaction (one snapshot).
#include <algorithm>
#include <filesystem>

#include "floorgate/core/clock.hpp"
#include "scan.hpp"
#include "sqlite_store.hpp"

namespace floorgate::store::detail {
namespace {

// Rows examined per call at most when type/EGM filters make a route sparse.
constexpr std::size_t kScanBudget = 20000;
// stats() asks for a new oldest-unacked reading when the last one is older than this.
constexpr std::int64_t kOldestRefreshMs = 1000;

struct ReadTxn {
  explicit ReadTxn(sqlite3* db) : db_(db) { exec(db_, "BEGIN"); }
  ~ReadTxn() { exec(db_, "COMMIT"); }
  sqlite3* db_;
};

std::uint64_t file_size_or_zero(const std::filesystem::path& p) {
  std::error_code ec;
  auto n = std::filesystem::file_size(p, ec);
  return ec ? 0 : static_cast<std::uint64_t>(n);
}

}  // namespace

std::optional<std::vector<Record>> SqliteStore::read_recent(const std::string& consumer,
                                                            std::uint64_t after_seq,
                                                            std::size_t max, std::error_code& ec,
                                                            std::uint64_t* covered) {
  std::lock_guard lk(state_.mu);
  auto it = state_.consumers.find(consumer);
  if (it == state_.consumers.end()) {
    ec = make_error_code(Errc::unknown_consumer);
    return std::vector<Record>{};
  }
  if (after_seq < state_.last_seq && !state_.recent.covers(after_seq)) return std::nullopt;
  auto res =
      state_.recent.read(it->second.spec.route, after_seq, state_.last_seq, max, kScanBudget);
  ec = {};
  if (covered) *covered = res.covered;
  if (!res.rows.empty()) it->second.sent_upto = std::max(it->second.sent_upto, res.rows.back().seq);
  return std::move(res.rows);
}

std::vector<Record> SqliteStore::read_after(const std::string& consumer, std::uint64_t after_seq,
                                            std::size_t max, std::error_code& ec,
                                            std::uint64_t* covered) {
  // At the live edge the rows are still in memory: no database read at all.
  if (auto rows = read_recent(consumer, after_seq, max, ec, covered)) return std::move(*rows);
  std::lock_guard lk(read_mu_);
  return read_stored(rcache_, consumer, after_seq, max, ec, covered);
}

void SqliteStore::read_after_async(const std::string& consumer, std::uint64_t after_seq,
                                   std::size_t max, ReadAfterHandler done) {
  const bool queued = backlog_reader_.post([this, consumer, after_seq, max, done](sqlite3* db) {
    if (!db) return done(make_error_code(Errc::closed), {}, after_seq);
    std::error_code ec;
    std::uint64_t covered = after_seq;
    auto rows = read_recent(consumer, after_seq, max, ec, &covered);
    if (!rows) rows = read_stored(bcache_, consumer, after_seq, max, ec, &covered);
    done(ec, std::move(*rows), covered);
  });
  if (!queued) done(make_error_code(Errc::busy), {}, after_seq);
}

std::vector<Record> SqliteStore::read_stored(StmtCache& db, const std::string& consumer,
                                             std::uint64_t after_seq, std::size_t max,
                                             std::error_code& ec, std::uint64_t* covered) {
  Route route;
  std::vector<int> tables;
  std::uint64_t upto = 0;
  {
    std::lock_guard lk(state_.mu);
    auto it = state_.consumers.find(consumer);
    if (it == state_.consumers.end()) {
      ec = make_error_code(Errc::unknown_consumer);
      return {};
    }
    route = it->second.spec.route;
    upto = state_.last_seq;
    tables = state_.tables_for(route);
  }
  ScanResult res;
  {
    ReadTxn txn(db.db());
    res = scan_route(db, route, tables, after_seq, upto, max, kScanBudget);
  }
  if (res.rc != SQLITE_OK) {
    ec = sqlite_error(res.rc);  // never a silently shortened batch
    if (covered) *covered = after_seq;
    return {};
  }
  ec = {};
  if (covered) *covered = res.covered;
  std::lock_guard lk(state_.mu);
  auto it = state_.consumers.find(consumer);
  if (it != state_.consumers.end() && !res.rows.empty()) {
    it->second.sent_upto = std::max(it->second.sent_upto, res.rows.back().seq);
  }
  return std::move(res.rows);
}

core::Result<std::optional<std::uint64_t>> first_seq_at_time(sqlite3* db, std::uint64_t lo,
                                                             std::uint64_t hi,
                                                             std::int64_t since_ms) {
  ReadTxn txn(db);
  // Binary search on seq: gateway time is non-decreasing in seq order except across clock
  // steps, so this finds the first row at or after since_ms without a time index.
  Stmt probe(db, "SELECT seq,ts_gw FROM event WHERE seq>=?1 ORDER BY seq LIMIT 1");
  if (!probe.valid()) return sqlite_error(sqlite3_errcode(db));
  int rc = SQLITE_OK;
  auto at = [&](std::uint64_t s, std::uint64_t* found, std::int64_t* ts) {
    probe.reset();
    probe.bind(1, static_cast<std::int64_t>(s));
    rc = probe.step();
    if (rc != SQLITE_ROW) return false;
    *found = static_cast<std::uint64_t>(probe.i64(0));
    *ts = probe.i64(1);
    return true;
  };
  std::optional<std::uint64_t> best;
  while (lo <= hi) {
    std::uint64_t mid = lo + (hi - lo) / 2, s = 0;
    std::int64_t ts = 0;
    if (!at(mid, &s, &ts) || s > hi) {
      if (rc != SQLITE_ROW && rc != SQLITE_DONE) return sqlite_error(rc);
      hi = mid - 1;  // nothing kept in [mid, hi]
      continue;
    }
    if (ts >= since_ms) {
      best = s;
      hi = mid - 1;
    } else {
      lo = s + 1;
    }
  }
  return best;
}

core::Result<std::vector<Record>> rows_by_seq(sqlite3* db, const std::vector<std::uint64_t>& seqs) {
  std::vector<Record> out;
  ReadTxn txn(db);
  Stmt st(db, std::string("SELECT ") + kEventColumns + " FROM event WHERE seq=?1");
  if (!st.valid()) return sqlite_error(sqlite3_errcode(db));
  for (auto s : seqs) {
    st.reset();
    st.bind(1, static_cast<std::int64_t>(s));
    int rc = st.step();
    if (rc == SQLITE_ROW) {
      Record r;
      read_record(st, r);
      out.push_back(std::move(r));
    } else if (rc != SQLITE_DONE) {
      return sqlite_error(rc);  // never a silently shorter list
    }
  }
  return out;
}

core::Result<std::vector<Record>> query_rows(sqlite3* db, const QueryFilter& f) {
  std::optional<EventClass> cls;
  if (f.cls) {
    cls = parse_event_class(*f.cls);
    if (!cls) return std::vector<Record>{};  // no event has a class that does not exist
  }
  // One class: its own table (over the view, the other four would be scanned to their ends).
  std::string sql = std::string("SELECT ") + kEventColumns + " FROM " +
                    (cls ? event_table(*cls) : std::string("event")) + " WHERE 1";
  if (f.egm) sql += " AND egm=?1";
  if (f.type) sql += " AND type=?2";
  if (f.since_ms) sql += " AND ts_gw>=?4";
  if (f.until_ms) sql += " AND ts_gw<?5";
  if (f.before_seq) sql += " AND seq<?6";
  sql += " ORDER BY seq DESC LIMIT ?7";
  std::vector<Record> out;
  ReadTxn txn(db);
  Stmt st(db, sql);
  if (!st.valid()) return sqlite_error(sqlite3_errcode(db));
  if (f.egm) st.bind(1, *f.egm);
  if (f.type) st.bind(2, *f.type);
  if (f.since_ms) st.bind(4, *f.since_ms);
  if (f.until_ms) st.bind(5, *f.until_ms);
  if (f.before_seq) st.bind(6, static_cast<std::int64_t>(*f.before_seq));
  st.bind(7, static_cast<std::int64_t>(std::min<std::size_t>(f.limit, 10000)));
  int rc = SQLITE_OK;
  while ((rc = st.step()) == SQLITE_ROW) {
    Record r;
    read_record(st, r);
    out.push_back(std::move(r));
  }
  if (rc != SQLITE_DONE) return sqlite_error(rc);  // never a silently truncated result
  return out;
}

std::pair<std::uint64_t, std::uint64_t> SqliteStore::kept_range() {
  std::lock_guard g(state_.mu);
  return {state_.anchor_seq + 1, state_.last_seq};
}

core::Result<std::optional<std::uint64_t>> SqliteStore::seq_at_time(std::int64_t since_ms) {
  auto [lo, hi] = kept_range();
  std::lock_guard lk(read_mu_);
  return first_seq_at_time(rdb_.get(), lo, hi, since_ms);
}

void SqliteStore::seq_at_time_async(std::int64_t since_ms,
                                    ReadHandler<std::optional<std::uint64_t>> done) {
  auto [lo, hi] = kept_range();
  post_query([lo, hi, since_ms, done](sqlite3* db) {
    if (!db) return done(make_error_code(Errc::closed));
    done(first_seq_at_time(db, lo, hi, since_ms));
  }, [done] { done(make_error_code(Errc::busy)); });
}

core::Result<std::vector<Record>> SqliteStore::get(const std::vector<std::uint64_t>& seqs) {
  {
    // Rows just committed come from memory; a seq after the newest is not stored (skipped, as
    // the database would).
    std::lock_guard lk(state_.mu);
    if (std::all_of(seqs.begin(), seqs.end(), [&](std::uint64_t s) {
          return s > state_.last_seq || state_.recent.covers(s - 1);
        })) {
      std::vector<Record> out;
      out.reserve(seqs.size());
      for (auto s : seqs) {
        if (const Record* r = state_.recent.find(s)) out.push_back(*r);
      }
      return out;
    }
  }
  std::lock_guard lk(read_mu_);
  return rows_by_seq(rdb_.get(), seqs);
}

std::optional<std::vector<Record>> SqliteStore::get_recent(std::uint64_t after, std::size_t max) {
  std::lock_guard lk(state_.mu);
  std::vector<Record> out;
  if (after >= state_.last_seq) return out;
  if (!state_.recent.covers(after)) return std::nullopt;
  const std::uint64_t upto = state_.last_seq - after > max ? after + max : state_.last_seq;
  out.reserve(static_cast<std::size_t>(upto - after));
  for (std::uint64_t s = after + 1; s <= upto; ++s) {
    if (const Record* r = state_.recent.find(s)) out.push_back(*r);
  }
  return out;
}

core::Result<std::vector<Record>> SqliteStore::query(const QueryFilter& f) {
  std::lock_guard lk(read_mu_);
  return query_rows(rdb_.get(), f);
}

void SqliteStore::query_async(QueryFilter filter, ReadHandler<std::vector<Record>> done) {
  post_query([filter = std::move(filter), done](sqlite3* db) {
    if (!db) return done(make_error_code(Errc::closed));
    done(query_rows(db, filter));
  }, [done] { done(make_error_code(Errc::busy)); });
}

void SqliteStore::post_query(DbWorker::Job job, const std::function<void()>& refused) {
  if (!query_reader_.post(std::move(job))) refused();
}

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

void SqliteStore::refresh_oldest_unacked(StmtCache& db) {
  struct Head {
    std::string name;
    Route route;
    std::vector<int> tables;
    std::uint64_t acked = 0;
  };
  std::vector<Head> heads;
  std::uint64_t last = 0;
  {
    std::lock_guard lk(state_.mu);
    last = state_.last_seq;
    for (const auto& [name, c] : state_.consumers) {
      if (c.pending == 0) continue;
      heads.push_back({name, c.spec.route, state_.tables_for(c.spec.route), c.acked});
    }
  }
  std::map<std::string, std::optional<std::int64_t>> found;
  {
    ReadTxn txn(db.db());
    for (const auto& h : heads) {
      auto r = scan_route(db, h.route, h.tables, h.acked, last, 1, kScanBudget);
      found[h.name] = r.rows.empty() ? std::nullopt : std::optional(r.rows.front().ts_gw_ms);
    }
  }
  std::lock_guard lk(state_.mu);
  state_.oldest_unacked = std::move(found);
  state_.oldest_refreshed_ms = core::steady_now_ms();
}

}  // namespace floorgate::store::detail
