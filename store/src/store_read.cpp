// The read side (store_reader.hpp): delivery batches, lookups and the event browser query,
// each in one read transaction (one snapshot).
#include <algorithm>

#include "scan.hpp"
#include "store_reader.hpp"

namespace floorgate::store::detail {

std::optional<std::vector<Record>> StoreReader::read_recent(const std::string& consumer,
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

std::vector<Record> StoreReader::read_after(const std::string& consumer, std::uint64_t after_seq,
                                            std::size_t max, std::error_code& ec,
                                            std::uint64_t* covered) {
  // At the live edge the rows are still in memory: no database read at all.
  if (auto rows = read_recent(consumer, after_seq, max, ec, covered)) return std::move(*rows);
  std::lock_guard lk(mu_);
  return read_stored(cache_, consumer, after_seq, max, ec, covered);
}

void StoreReader::read_after_async(const std::string& consumer, std::uint64_t after_seq,
                                   std::size_t max, ReadAfterHandler done) {
  const bool queued = backlog_.post([this, consumer, after_seq, max, done](sqlite3* db) {
    if (!db) return done(make_error_code(Errc::closed), {}, after_seq);
    std::error_code ec;
    std::uint64_t covered = after_seq;
    auto rows = read_recent(consumer, after_seq, max, ec, &covered);
    if (!rows) rows = read_stored(backlog_cache_, consumer, after_seq, max, ec, &covered);
    done(ec, std::move(*rows), covered);
  });
  if (!queued) done(make_error_code(Errc::busy), {}, after_seq);
}

std::vector<Record> StoreReader::read_stored(StmtCache& db, const std::string& consumer,
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
  if (f.from_seq) sql += " AND seq>=?8";
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
  if (f.from_seq) st.bind(8, static_cast<std::int64_t>(*f.from_seq));
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

std::pair<std::uint64_t, std::uint64_t> StoreReader::kept_range() {
  std::lock_guard g(state_.mu);
  return {state_.anchor_seq + 1, state_.last_seq};
}

core::Result<std::optional<std::uint64_t>> StoreReader::seq_at_time(std::int64_t since_ms) {
  auto [lo, hi] = kept_range();
  std::lock_guard lk(mu_);
  return first_seq_at_time(db_.get(), lo, hi, since_ms);
}

void StoreReader::seq_at_time_async(std::int64_t since_ms,
                                    ReadHandler<std::optional<std::uint64_t>> done) {
  auto [lo, hi] = kept_range();
  post_query([lo, hi, since_ms, done](sqlite3* db) {
    if (!db) return done(make_error_code(Errc::closed));
    done(first_seq_at_time(db, lo, hi, since_ms));
  }, [done] { done(make_error_code(Errc::busy)); });
}

core::Result<std::vector<Record>> StoreReader::get(const std::vector<std::uint64_t>& seqs) {
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
  std::lock_guard lk(mu_);
  return rows_by_seq(db_.get(), seqs);
}

std::optional<std::vector<Record>> StoreReader::get_recent(std::uint64_t after, std::size_t max) {
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

core::Result<std::vector<Record>> StoreReader::query(const QueryFilter& f) {
  std::lock_guard lk(mu_);
  return query_rows(db_.get(), f);
}

void StoreReader::query_async(QueryFilter filter, ReadHandler<std::vector<Record>> done) {
  post_query([filter = std::move(filter), done](sqlite3* db) {
    if (!db) return done(make_error_code(Errc::closed));
    done(query_rows(db, filter));
  }, [done] { done(make_error_code(Errc::busy)); });
}

void StoreReader::post_query(DbWorker::Job job, const std::function<void()>& refused) {
  if (!query_.post(std::move(job))) refused();
}

void StoreReader::start() {
  cache_.reset_db(db_.get());
  backlog_cache_.reset_db(backlog_.connection().get());
  query_.start();
  backlog_.start();
}

void StoreReader::stop() {
  query_.stop();
  backlog_.stop();
}

void StoreReader::close() {
  cache_.reset_db(nullptr);
  db_.close();
  query_.connection().close();
  backlog_cache_.reset_db(nullptr);
  backlog_.connection().close();
}

}  // namespace floorgate::store::detail
