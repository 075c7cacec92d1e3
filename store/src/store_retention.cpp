// Retention's chunks (store_retention.hpp says what they remove and in what order).
#include "store_retention.hpp"

#include <algorithm>
#include <array>

#include "floorgate/core/check.hpp"
#include "scan.hpp"
#include "store_writer.hpp"

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

sqlite3* Retention::db() { return writer_.db().get(); }

std::uint64_t Retention::live_bytes() {
  auto pages = query_i64(db(), "PRAGMA page_count");
  auto free_pages = query_i64(db(), "PRAGMA freelist_count");
  auto page_size = query_i64(db(), "PRAGMA page_size");
  return static_cast<std::uint64_t>(std::max<std::int64_t>(pages - free_pages, 0) * page_size);
}

void Retention::vacuum_some() {
  auto free_pages = query_i64(db(), "PRAGMA freelist_count");
  if (free_pages <= 0) return;
  exec(db(), "PRAGMA incremental_vacuum(" +
                 std::to_string(std::min<std::int64_t>(free_pages, 8192)) + ")");
  // Give the pages back to the file system now: checkpoint and truncate the WAL too.
  exec(db(), "PRAGMA wal_checkpoint(TRUNCATE)");
}

// The state of one retention chunk (one transaction).
struct Retention::Ctx {
  const StoreState& st;
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
    for (const auto& [name, c] : st.consumers) {
      if (c.spec.required && r.seq > c.acked && selects(c.spec.route, r)) return false;
    }
    return true;
  }
  void account(const Record& r) {
    bool unacked = !releasable(r);
    for (const auto& [name, c] : st.consumers) {
      if (r.seq > c.counted && selects(c.spec.route, r)) --delta[name].pending;
    }
    ++removed;
    removed_unacked += unacked ? 1 : 0;
  }
  bool room() const { return removed < size_rows && removed < chunk; }
};

std::error_code Retention::chunk(bool* more) {
  *more = false;
  if (state_.row_count == 0) return {};
  Ctx x{state_};
  const std::uint64_t live = live_bytes();
  x.excess = live > opt_.max_bytes ? live - opt_.max_bytes : 0;
  const std::uint64_t avg =
      std::max<std::uint64_t>(live / std::max<std::uint64_t>(state_.row_count, 1), 1);
  x.size_rows = x.excess ? x.excess / avg + 1 : 0;
  x.cutoff =
      opt_.now_ms() - std::chrono::duration_cast<std::chrono::milliseconds>(opt_.max_age).count();
  x.chunk = opt_.retention_chunk_rows;
  x.new_anchor = state_.anchor_seq;
  x.new_anchor_hash = writer_.anchor_hash();

  if (int rc = exec(db(), "BEGIN IMMEDIATE"); rc != SQLITE_OK) return sqlite_error(rc);
  std::error_code ec = prefix(x);
  if (!ec && x.removed < x.size_rows && x.blocker > 0) ec = evict(x);
  if (!ec) ec = fold_anchor(x);
  if (!ec) ec = transaction_lost(db());  // nothing below may run outside the transaction
  if (!ec && x.removed == 0 && x.new_anchor == state_.anchor_seq) {
    exec(db(), "ROLLBACK");  // nothing to do: no commit, no fsync
    std::lock_guard lk(state_.mu);
    update_alarm(x, x.excess == 0);
    return {};
  }
  // The book first, at the head: the row count below then counts every row, and no row
  // retention removes is left in the tail StoreWriter::load_head() would count again.
  if (!ec) ec = writer_.book_head();
  if (!ec) {
    Stmt st(db(),
            "UPDATE state SET row_count=row_count-?1,anchor_seq=?2,anchor_hash=?3,"
            "evicted_total=evicted_total+?1,evicted_unacked_total=evicted_unacked_total+?4");
    st.bind(1, static_cast<std::int64_t>(x.removed));
    st.bind(2, static_cast<std::int64_t>(x.new_anchor));
    st.bind_blob(3, x.new_anchor_hash.data(), 32);
    st.bind(4, static_cast<std::int64_t>(x.removed_unacked));
    ec = sqlite_error(st.step());
  }
  if (!ec) ec = writer_.write_consumer_counters(x.delta, state_.last_seq, true);
  if (!ec) ec = sqlite_error(exec(db(), "COMMIT"));
  if (ec) {
    exec(db(), "ROLLBACK");
    return ec;
  }
  const std::uint64_t first = min_kept_seq(db());
  std::lock_guard lk(state_.mu);
  ++state_.retention_commits;
  FG_CHECK(x.new_anchor >= state_.anchor_seq, "the chain anchor moved backwards");
  FG_CHECK(first == 0 || first > x.new_anchor, "a kept row sits at or before the anchor");
  state_.first_seq = first;
  if (x.removed > 0) state_.recent.clear();  // it must not serve a deleted row
  writer_.booked();
  state_.row_count -= std::min(state_.row_count, x.removed);
  state_.anchor_seq = x.new_anchor;
  writer_.set_anchor_hash(x.new_anchor_hash);
  state_.evicted_total += x.removed;
  state_.evicted_unacked_total += x.removed_unacked;
  state_.apply(x.delta);
  update_alarm(x, x.excess == 0 || x.removed >= x.size_rows);
  *more = x.removed >= x.chunk;
  return {};
}

void Retention::update_alarm(const Ctx& x, bool clear) {
  if (x.blocked > 0) {
    state_.alarm = true;
    state_.alarm_reason =
        "size bound " + std::to_string(opt_.max_bytes) + " bytes exceeded by " +
        std::to_string(x.excess) +
        " bytes: the rest is financial/security events not yet acked by a required "
        "consumer";
  } else if (clear) {
    state_.alarm = false;
    state_.alarm_reason.clear();
  }
}

std::error_code Retention::prefix(Ctx& x) {
  Stmt st(db(), std::string("SELECT ") + kRowCols + " FROM event ORDER BY seq LIMIT ?1");
  st.bind(1, static_cast<std::int64_t>(x.chunk));
  int rc;
  while ((rc = st.step()) == SQLITE_ROW) {
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
  // A read that failed ends the scan early; it has also rolled the transaction back.
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return sqlite_error(rc);
  if (x.upto == 0) return {};
  for (int k = 0; k < kEventClassCount; ++k) {
    Stmt del(db(), "DELETE FROM " + event_table(static_cast<EventClass>(k)) + " WHERE seq<=?1");
    del.bind(1, static_cast<std::int64_t>(x.upto));
    if (rc = del.step(); rc != SQLITE_DONE) return sqlite_error(rc);
  }
  return {};
}

std::error_code Retention::evict(Ctx& x) {
  Stmt gap(db(), "INSERT INTO gap(seq,hash) VALUES(?1,?2)");
  std::array<Stmt, kEventClassCount> dels;
  for (int k = 0; k < kEventClassCount; ++k) {
    dels[k] =
        Stmt(db(), "DELETE FROM " + event_table(static_cast<EventClass>(k)) + " WHERE seq=?1");
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
    if (sqlite3_changes(db()) != 1) return make_error_code(Errc::corrupt);
    x.account(r);
    return std::error_code();
  };
  std::error_code ec;
  auto load = [&](Stmt& q) {
    std::vector<Record> out;
    int rc;
    while ((rc = q.step()) == SQLITE_ROW) out.push_back(read_row(q).rec);
    if (rc != SQLITE_DONE) {  // not a short list: the transaction is gone with the read
      ec = sqlite_error(rc);
      out.clear();
    }
    return out;
  };
  // First rows past the blocker that every required consumer already acked.
  Stmt scan(db(),
            std::string("SELECT ") + kRowCols + " FROM event WHERE seq>?1 ORDER BY seq LIMIT ?2");
  scan.bind(1, static_cast<std::int64_t>(x.blocker)).bind(2, static_cast<std::int64_t>(x.chunk));
  for (const auto& r : load(scan)) {
    if (ec || !x.room()) break;
    if (x.releasable(r)) ec = evict(r);
  }
  // Then unacked rows by class, telemetry first; financial and security never.
  for (auto cls : {EventClass::telemetry, EventClass::operational, EventClass::fault}) {
    if (ec || !x.room()) break;
    Stmt q(db(), std::string("SELECT ") + kRowCols + " FROM " + event_table(cls) +
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

std::error_code Retention::fold_anchor(Ctx& x) {
  // Gaps below the first kept row fold into the anchor (the hash just before that row).
  int rc = SQLITE_OK;
  auto first = static_cast<std::uint64_t>(
      query_i64(db(), "SELECT ifnull((SELECT seq FROM event ORDER BY seq LIMIT 1),0)", &rc));
  if (rc != SQLITE_OK) return sqlite_error(rc);
  if (first == 0) first = state_.last_seq + 1;
  if (first - 1 <= state_.anchor_seq) return {};
  Stmt h(db(), "SELECT hash FROM gap WHERE seq=?1");
  h.bind(1, static_cast<std::int64_t>(first - 1));
  rc = h.step();
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) return sqlite_error(rc);
  if (rc == SQLITE_ROW) {
    x.new_anchor_hash = to_hash(h.blob(0));
  } else if (x.upto == first - 1) {
    x.new_anchor_hash = x.upto_hash;
  } else {
    return {};  // a hole the chain check will report; keep the old anchor
  }
  h.reset();
  x.new_anchor = first - 1;
  Stmt dg(db(), "DELETE FROM gap WHERE seq<?1");
  dg.bind(1, static_cast<std::int64_t>(first));
  return sqlite_error(dg.step());
}

std::uint64_t min_kept_seq(sqlite3* db) {
  // The smallest rowid of each class table is one index lookup; the minimum of five.
  std::uint64_t first = 0;
  for (int k = 0; k < kEventClassCount; ++k) {
    // Prepared here, not cached: it runs at open and once per retention commit only.
    Stmt st(db, "SELECT min(seq) FROM " + event_table(static_cast<EventClass>(k)));
    if (st.step() == SQLITE_ROW && !st.is_null(0)) {
      auto s = static_cast<std::uint64_t>(st.i64(0));
      first = first == 0 ? s : std::min(first, s);
    }
  }
  return first;
}

}  // namespace floorgate::store::detail
