// Retention: bounded chunks on the writer thread. First the oldest rows every required
// consumer has acked (by age or size); under size pressure then acked rows further on, then
// unacked telemetry, operational and fault rows (in that order); never an unacked financial or
// security row: if only those remain, the alarm is raised. Rows evicted from the middle keep
// their hash in `gap` so the chain still verifies; the anchor holds the hash before the first
// kept row.
#include <algorithm>

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

std::error_code SqliteStore::retention_chunk(bool* more) {
  *more = false;
  if (row_count_ == 0) return {};
  const std::uint64_t live = live_bytes();
  const std::uint64_t excess = live > opt_.max_bytes ? live - opt_.max_bytes : 0;
  const std::uint64_t avg = std::max<std::uint64_t>(live / std::max<std::uint64_t>(row_count_, 1), 1);
  const std::uint64_t size_rows = excess ? excess / avg + 1 : 0;
  const std::int64_t cutoff =
      now_ms() - std::chrono::duration_cast<std::chrono::milliseconds>(opt_.max_age).count();
  const std::size_t chunk = opt_.retention_chunk_rows;

  auto releasable = [&](const Record& r) {
    for (const auto& [name, c] : consumers_) {
      if (c.spec.required && r.seq > c.acked && c.spec.route.matches(r)) return false;
    }
    return true;
  };
  // Caller holds mu_. raise: protected rows block the size bound; clear: the bound is met.
  auto update_alarm = [&](bool raise, bool clear) {
    if (raise) {
      alarm_ = true;
      alarm_reason_ = "size bound " + std::to_string(opt_.max_bytes) + " bytes exceeded by " +
                      std::to_string(excess) +
                      " bytes: the rest is financial/security events not yet acked by a "
                      "required consumer";
    } else if (clear) {
      alarm_ = false;
      alarm_reason_.clear();
    }
  };
  std::map<std::string, std::int64_t> delta;
  std::uint64_t removed = 0, removed_unacked = 0;
  auto account = [&](const Record& r) {
    bool unacked = !releasable(r);
    for (const auto& [name, c] : consumers_) {
      if (r.seq > c.acked && c.spec.route.matches(r)) --delta[name];
    }
    ++removed;
    removed_unacked += unacked ? 1 : 0;
  };

  if (int rc = exec(wdb_.get(), "BEGIN IMMEDIATE"); rc != SQLITE_OK) return sqlite_error(rc);
  std::error_code ec;
  // Phase 1: the oldest contiguous rows, while old enough or the size bound needs it.
  std::uint64_t upto = 0;
  Hash upto_hash{};
  std::uint64_t blocker = 0;
  {
    Stmt st(wdb_.get(), std::string("SELECT ") + kRowCols + " FROM event ORDER BY seq LIMIT ?1");
    st.bind(1, static_cast<std::int64_t>(chunk));
    while (st.step() == SQLITE_ROW) {
      Row r = read_row(st);
      bool wanted = r.rec.ts_gw_ms < cutoff || removed < size_rows;
      if (!wanted || !releasable(r.rec)) {
        blocker = r.rec.seq;
        break;
      }
      account(r.rec);
      upto = r.rec.seq;
      upto_hash = r.rec.hash;
    }
  }
  if (upto > 0) {
    Stmt del(wdb_.get(), "DELETE FROM event WHERE seq<=?1");
    del.bind(1, static_cast<std::int64_t>(upto));
    ec = sqlite_error(del.step());
  }
  // Phase 2: the size bound still needs rows; evict from the middle, keeping their hashes.
  std::uint64_t blocked = 0;
  if (!ec && removed < size_rows && blocker > 0) {
    Stmt gap(wdb_.get(), "INSERT INTO gap(seq,hash) VALUES(?1,?2)");
    Stmt del(wdb_.get(), "DELETE FROM event WHERE seq=?1");
    auto evict = [&](const Record& r) {
      gap.reset();
      gap.bind(1, static_cast<std::int64_t>(r.seq)).bind_blob(2, r.hash.data(), 32);
      del.reset();
      del.bind(1, static_cast<std::int64_t>(r.seq));
      int rc = gap.step();
      if (rc == SQLITE_DONE) rc = del.step();
      if (rc != SQLITE_DONE) return sqlite_error(rc);
      account(r);
      return std::error_code();
    };
    // 2a: rows past the blocker that every required consumer already acked.
    Stmt scan(wdb_.get(), std::string("SELECT ") + kRowCols +
                              " FROM event WHERE seq>?1 ORDER BY seq LIMIT ?2");
    scan.bind(1, static_cast<std::int64_t>(blocker)).bind(2, static_cast<std::int64_t>(chunk));
    std::vector<Record> cand;
    while (scan.step() == SQLITE_ROW) cand.push_back(read_row(scan).rec);
    for (const auto& r : cand) {
      if (ec || removed >= size_rows || removed >= chunk) break;
      if (releasable(r)) ec = evict(r);
    }
    // 2b: unacked rows by class, telemetry first; financial and security never.
    for (auto cls : {EventClass::telemetry, EventClass::operational, EventClass::fault}) {
      if (ec || removed >= size_rows || removed >= chunk) break;
      Stmt bycls(wdb_.get(), std::string("SELECT ") + kRowCols +
                                 " FROM event WHERE cls=?1 ORDER BY seq LIMIT ?2");
      bycls.bind(1, static_cast<std::int64_t>(cls));
      bycls.bind(2, static_cast<std::int64_t>(std::min(size_rows - removed, chunk - removed)));
      cand.clear();
      while (bycls.step() == SQLITE_ROW) cand.push_back(read_row(bycls).rec);
      for (const auto& r : cand) {
        if (ec) break;
        ec = evict(r);
      }
    }
    if (!ec && removed < size_rows && removed < chunk) blocked = size_rows - removed;
  }
  // Fold gaps below the first kept row into the anchor.
  std::uint64_t new_anchor = anchor_seq_;
  Hash new_anchor_hash = anchor_hash_;
  if (!ec) {
    int rc = SQLITE_OK;
    auto first = static_cast<std::uint64_t>(
        query_i64(wdb_.get(), "SELECT ifnull(min(seq),0) FROM event", &rc));
    if (first == 0) first = last_seq_ + 1;
    if (first - 1 > anchor_seq_) {
      Stmt h(wdb_.get(), "SELECT hash FROM gap WHERE seq=?1");
      h.bind(1, static_cast<std::int64_t>(first - 1));
      bool found = true;
      if (h.step() == SQLITE_ROW) {
        new_anchor_hash = to_hash(h.blob(0));
      } else if (upto == first - 1) {
        new_anchor_hash = upto_hash;
      } else {
        found = false;  // a hole the chain check will report; keep the old anchor
      }
      if (found) {
        new_anchor = first - 1;
        Stmt dg(wdb_.get(), "DELETE FROM gap WHERE seq<?1");
        dg.bind(1, static_cast<std::int64_t>(first));
        ec = sqlite_error(dg.step());
      }
    }
  }
  if (!ec && removed == 0 && new_anchor == anchor_seq_) {
    exec(wdb_.get(), "ROLLBACK");  // nothing to do: no commit, no fsync
    std::lock_guard lk(mu_);
    update_alarm(blocked > 0, excess == 0);
    return {};
  }
  if (!ec) {
    Stmt st(wdb_.get(),
            "UPDATE state SET row_count=row_count-?1,anchor_seq=?2,anchor_hash=?3,"
            "evicted_total=evicted_total+?1,evicted_unacked_total=evicted_unacked_total+?4");
    st.bind(1, static_cast<std::int64_t>(removed)).bind(2, static_cast<std::int64_t>(new_anchor));
    st.bind_blob(3, new_anchor_hash.data(), 32);
    st.bind(4, static_cast<std::int64_t>(removed_unacked));
    ec = sqlite_error(st.step());
  }
  if (!ec) ec = write_consumer_counters(delta, {});
  if (!ec) ec = sqlite_error(exec(wdb_.get(), "COMMIT"));
  if (ec) {
    exec(wdb_.get(), "ROLLBACK");
    return ec;
  }
  std::lock_guard lk(mu_);
  row_count_ -= std::min(row_count_, removed);
  anchor_seq_ = new_anchor;
  anchor_hash_ = new_anchor_hash;
  evicted_total_ += removed;
  evicted_unacked_total_ += removed_unacked;
  for (auto& [name, c] : consumers_) {
    auto d = delta.find(name);
    if (d == delta.end()) continue;
    c.pending = static_cast<std::uint64_t>(
        std::max<std::int64_t>(static_cast<std::int64_t>(c.pending) + d->second, 0));
  }
  update_alarm(blocked > 0, excess == 0 || removed >= size_rows);
  *more = removed >= chunk;
  return {};
}

}  // namespace floorgate::store::detail
