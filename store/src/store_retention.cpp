// Retention: bounded chunks on the writer thread. First the oldest rows every required
// consumer has acked (by age or size); under size pressure then acked rows further on, then
// unacked telemetry, operational and fault rows (in that order); never an unacked financial or
// security row: if only those remain, the alarm is raised. Rows evicted from the middle keep
// their hash in `gap` so the chain still verifies; the anchor holds the hash before the first
// kept row.
#include <algorithm>
#include <array>

#include "floorgate/core/check.hpp"
#include "scan.hpp"
#include "sqlite_store.hpp"

namespace floorgate::store::detail {
namespace {

struct Row {
  Record rec;  // seq, cls, egm, type, ts_gw, hash only
};

constexpr const char* kRowCols = "seq,cls,egm,type,ts_gw,hash";

Row read_row(const Stmt& st) {
  Row r;
  r.rec.seq = static_cast<std::uint64_t>(st.i64(0));
  r.rec.cls = static_cast<EventClass>(st.i64(1));
  r.rec.egm = st.text(2);
  r.rec.type = st.text(3);
  r.rec.ts_gw_ms = st.i64(4);
  r.rec.hash = to_hash(st.blob(5));
  return r;
}

}  // namespace

std::uint64_t SqliteStore::live_bytes() {
  auto pages = query_i64(wdb_.get(), "PRAGMA page_count");
  auto free_pages = query_i64(wdb_.get(), "PRAGMA freelist_count");
  auto page_size = query_i64(wdb_.get(), "PRAGMA page_size");
  return static_cast<std::uint64_t>(std::max<std::int64_t>(pages - free_pages, 0) * page_size);
}

void SqliteStore::vacuum_some() {
  auto free_pages = query_i64(wdb_.get(), "PRAGMA freelist_count");
  if (free_pages <= 0) return;
  exec(wdb_.get(),
       "PRAGMA incremental_vacuum(" + std::to_string(std::min<std::int64_t>(free_pages, 8192)) +
           ")");
  // Give the pages back to the file system now: checkpoint and truncate the WAL too.
  exec(wdb_.get(), "PRAGMA wal_checkpoint(TRUNCATE)");
}

// The state of one retention chunk (one transaction).
struct SqliteStore::RetentionCtx {
  SqliteStore& st;
  std::uint64_t excess = 0;     // live bytes above max_bytes
  std::uint64_t size_rows = 0;  // rows the size bound needs removed (estimate)
  std::int64_t cutoff = 0;      // rows older than this may go by age
  std::size_t chunk = 0;
  CursorDeltas delta;  // pending counter changes per consumer
  std::uint64_t removed = 0, removed_unacked = 0;
  std::uint64_t upto = 0;       // prefix deleted up to here
  Hash upto_hash{};
  std::uint64_t blocker = 0;    // first row the prefix could not take
  std::uint64_t blocked = 0;    // rows the size bound still needs but may not take
  std::uint64_t new_anchor = 0;
  Hash new_anchor_hash{};

  // True when no required consumer still waits for r.
  bool releasable(const Record& r) const {
    for (const auto& [name, c] : st.consumers_) {
      if (c.spec.required && r.seq > c.acked && selects(c.spec.route, r)) return false;
    }
    return true;
  }
  void account(const Record& r) {
    bool unacked = !releasable(r);
    for (const auto& [name, c] : st.consumers_) {
      if (r.seq > c.counted && selects(c.spec.route, r)) --delta[name].pending;
    }
    ++removed;
    removed_unacked += unacked ? 1 : 0;
  }
  bool room() const { return removed < size_rows && removed < chunk; }
};

std::error_code SqliteStore::retention_chunk(bool* more) {
  *more = false;
  if (row_count_ == 0) return {};
  RetentionCtx x{*this};
  const std::uint64_t live = live_bytes();
  x.excess = live > opt_.max_bytes ? live - opt_.max_bytes : 0;
  const std::uint64_t avg = std::max<std::uint64_t>(live / std::max<std::uint64_t>(row_count_, 1), 1);
  x.size_rows = x.excess ? x.excess / avg + 1 : 0;
  x.cutoff = now_ms() - std::chrono::duration_cast<std::chrono::milliseconds>(opt_.max_age).count();
  x.chunk = opt_.retention_chunk_rows;
  x.new_anchor = anchor_seq_;
  x.new_anchor_hash = anchor_hash_;

  if (int rc = exec(wdb_.get(), "BEGIN IMMEDIATE"); rc != SQLITE_OK) return sqlite_error(rc);
  std::error_code ec = retention_prefix(x);
  if (!ec && x.removed < x.size_rows && x.blocker > 0) ec = retention_evict(x);
  if (!ec) ec = retention_fold_anchor(x);
  if (!ec && x.removed == 0 && x.new_anchor == anchor_seq_) {
    exec(wdb_.get(), "ROLLBACK");  // nothing to do: no commit, no fsync
    std::lock_guard lk(mu_);
    update_alarm(x, x.excess == 0);
    return {};
  }
  // The book first, at the head: the row count below then counts every row, and no row
  // retention removes is left in the tail load_state() would count again.
  if (!ec) ec = write_head_book(last_seq_, last_hash_, row_count_, {});
  if (!ec) {
    Stmt st(wdb_.get(),
            "UPDATE state SET row_count=row_count-?1,anchor_seq=?2,anchor_hash=?3,"
            "evicted_total=evicted_total+?1,evicted_unacked_total=evicted_unacked_total+?4");
    st.bind(1, static_cast<std::int64_t>(x.removed));
    st.bind(2, static_cast<std::int64_t>(x.new_anchor));
    st.bind_blob(3, x.new_anchor_hash.data(), 32);
    st.bind(4, static_cast<std::int64_t>(x.removed_unacked));
    ec = sqlite_error(st.step());
  }
  if (!ec) ec = write_consumer_counters(x.delta, last_seq_, true);
  if (!ec) ec = sqlite_error(exec(wdb_.get(), "COMMIT"));
  if (ec) {
    exec(wdb_.get(), "ROLLBACK");
    return ec;
  }
  const std::uint64_t first = min_kept_seq();
  std::lock_guard lk(mu_);
  ++retention_commits_;
  FG_CHECK(x.new_anchor >= anchor_seq_, "the chain anchor moved backwards");
  FG_CHECK(first == 0 || first > x.new_anchor, "a kept row sits at or before the anchor");
  first_seq_ = first;
  if (x.removed > 0) recent_.clear();  // it must not serve a deleted row
  egm_unbooked_.clear();
  book_seq_ = last_seq_;
  row_count_ -= std::min(row_count_, x.removed);
  anchor_seq_ = x.new_anchor;
  anchor_hash_ = x.new_anchor_hash;
  evicted_total_ += x.removed;
  evicted_unacked_total_ += x.removed_unacked;
  apply_cursor_deltas(x.delta);
  update_alarm(x, x.excess == 0 || x.removed >= x.size_rows);
  *more = x.removed >= x.chunk;
  return {};
}

void SqliteStore::update_alarm(const RetentionCtx& x, bool clear) {
  if (x.blocked > 0) {
    alarm_ = true;
    alarm_reason_ = "size bound " + std::to_string(opt_.max_bytes) + " bytes exceeded by " +
                    std::to_string(x.excess) +
                    " bytes: the rest is financial/security events not yet acked by a required "
                    "consumer";
  } else if (clear) {
    alarm_ = false;
    alarm_reason_.clear();
  }
}

std::error_code SqliteStore::retention_prefix(RetentionCtx& x) {
  Stmt st(wdb_.get(), std::string("SELECT ") + kRowCols + " FROM event ORDER BY seq LIMIT ?1");
  st.bind(1, static_cast<std::int64_t>(x.chunk));
  while (st.step() == SQLITE_ROW) {
    Row r = read_row(st);
    bool wanted = r.rec.ts_gw_ms < x.cutoff || x.removed < x.size_rows;
    if (!wanted || !x.releasable(r.rec)) {
      x.blocker = r.rec.seq;
      break;
    }
    x.account(r.rec);
    x.upto = r.rec.seq;
    x.upto_hash = r.rec.hash;
  }
  st.reset();
  if (x.upto == 0) return {};
  for (int k = 0; k < kEventClassCount; ++k) {
    Stmt del(wdb_.get(),
             "DELETE FROM " + event_table(static_cast<EventClass>(k)) + " WHERE seq<=?1");
    del.bind(1, static_cast<std::int64_t>(x.upto));
    if (int rc = del.step(); rc != SQLITE_DONE) return sqlite_error(rc);
  }
  return {};
}

std::error_code SqliteStore::retention_evict(RetentionCtx& x) {
  Stmt gap(wdb_.get(), "INSERT INTO gap(seq,hash) VALUES(?1,?2)");
  std::array<Stmt, kEventClassCount> dels;
  for (int k = 0; k < kEventClassCount; ++k) {
    dels[k] = Stmt(wdb_.get(),
                   "DELETE FROM " + event_table(static_cast<EventClass>(k)) + " WHERE seq=?1");
  }
  auto evict = [&](const Record& r) {
    gap.reset();
    gap.bind(1, static_cast<std::int64_t>(r.seq)).bind_blob(2, r.hash.data(), 32);
    Stmt& del = dels[static_cast<std::size_t>(r.cls)];
    del.reset();
    del.bind(1, static_cast<std::int64_t>(r.seq));
    int rc = gap.step();
    if (rc == SQLITE_DONE) rc = del.step();
    if (rc != SQLITE_DONE) return sqlite_error(rc);
    // The row must have been in its class's table (verify_chain names one that is not).
    if (sqlite3_changes(wdb_.get()) != 1) return make_error_code(Errc::corrupt);
    x.account(r);
    return std::error_code();
  };
  auto load = [&](Stmt& q) {
    std::vector<Record> out;
    while (q.step() == SQLITE_ROW) out.push_back(read_row(q).rec);
    return out;
  };
  std::error_code ec;
  // First rows past the blocker that every required consumer already acked.
  Stmt scan(wdb_.get(), std::string("SELECT ") + kRowCols +
                            " FROM event WHERE seq>?1 ORDER BY seq LIMIT ?2");
  scan.bind(1, static_cast<std::int64_t>(x.blocker)).bind(2, static_cast<std::int64_t>(x.chunk));
  for (const auto& r : load(scan)) {
    if (ec || !x.room()) break;
    if (x.releasable(r)) ec = evict(r);
  }
  // Then unacked rows by class, telemetry first; financial and security never.
  for (auto cls : {EventClass::telemetry, EventClass::operational, EventClass::fault}) {
    if (ec || !x.room()) break;
    Stmt q(wdb_.get(), std::string("SELECT ") + kRowCols + " FROM " + event_table(cls) +
                           " ORDER BY seq LIMIT ?2");
    q.bind(2, static_cast<std::int64_t>(std::min(x.size_rows - x.removed, x.chunk - x.removed)));
    for (const auto& r : load(q)) {
      if (ec) break;
      ec = evict(r);
    }
  }
  if (!ec && x.room()) x.blocked = x.size_rows - x.removed;
  return ec;
}

std::error_code SqliteStore::retention_fold_anchor(RetentionCtx& x) {
  // Gaps below the first kept row fold into the anchor (the hash just before that row).
  auto first = static_cast<std::uint64_t>(
      query_i64(wdb_.get(), "SELECT ifnull((SELECT seq FROM event ORDER BY seq LIMIT 1),0)"));
  if (first == 0) first = last_seq_ + 1;
  if (first - 1 <= anchor_seq_) return {};
  Stmt h(wdb_.get(), "SELECT hash FROM gap WHERE seq=?1");
  h.bind(1, static_cast<std::int64_t>(first - 1));
  if (h.step() == SQLITE_ROW) {
    x.new_anchor_hash = to_hash(h.blob(0));
  } else if (x.upto == first - 1) {
    x.new_anchor_hash = x.upto_hash;
  } else {
    return {};  // a hole the chain check will report; keep the old anchor
  }
  h.reset();
  x.new_anchor = first - 1;
  Stmt dg(wdb_.get(), "DELETE FROM gap WHERE seq<?1");
  dg.bind(1, static_cast<std::int64_t>(first));
  return sqlite_error(dg.step());
}

}  // namespace floorgate::store::detail

namespace floorgate::store::detail {

std::uint64_t SqliteStore::min_kept_seq() {
  // The smallest rowid of each class table is one index lookup; the minimum of five.
  std::uint64_t first = 0;
  for (int k = 0; k < kEventClassCount; ++k) {
    // Prepared here, not cached: it runs at open and once per retention commit only.
    Stmt st(wdb_.get(), "SELECT min(seq) FROM " + event_table(static_cast<EventClass>(k)));
    if (st.step() == SQLITE_ROW && !st.is_null(0)) {
      auto s = static_cast<std::uint64_t>(st.i64(0));
      first = first == 0 ? s : std::min(first, s);
    }
  }
  return first;
}

}  // namespace floorgate::store::detail
