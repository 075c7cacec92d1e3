// verify_chain: walks kept rows and evicted-row hashes in seq order from the anchor (or from
// the row before from_seq) and recomputes every hash; names the first seq that does not fit.
#include "sqlite_store.hpp"

namespace floorgate::store::detail {

ChainCheck SqliteStore::verify_chain(std::uint64_t from_seq, std::uint64_t to_seq) {
  return reader_.with_connection(
      [&](sqlite3* db) { return verify_chain_db(db, from_seq, to_seq); });
}

ChainCheck verify_chain_db(sqlite3* db, std::uint64_t from_seq, std::uint64_t to_seq) {
  ChainCheck out;
  ReadTxn txn(db);
  Stmt st(db, "SELECT last_seq,anchor_seq,anchor_hash FROM state WHERE id=1");
  if (st.step() != SQLITE_ROW) {
    out.ok = false;
    out.detail = "state row missing";
    return out;
  }
  auto last = static_cast<std::uint64_t>(st.i64(0));
  // The state row's head book lags the rows by up to a second (StoreWriter::load_head).
  Stmt head(db, "SELECT seq FROM event WHERE seq>?1 ORDER BY seq DESC LIMIT 1");
  head.bind(1, static_cast<std::int64_t>(last));
  if (head.step() == SQLITE_ROW) last = static_cast<std::uint64_t>(head.i64(0));
  const auto anchor = static_cast<std::uint64_t>(st.i64(1));
  Hash prev = to_hash(st.blob(2));
  auto fail = [&](std::uint64_t seq, std::string why) {
    out.ok = false;
    out.first_bad_seq = seq;
    out.detail = std::move(why);
    return out;
  };
  std::uint64_t expect = anchor + 1;
  if (from_seq > expect) {
    // Start inside the chain: trust the stored hash of the row (or gap) just before.
    Stmt h(db, "SELECT hash FROM event WHERE seq=?1 UNION ALL SELECT hash FROM gap WHERE seq=?1");
    h.bind(1, static_cast<std::int64_t>(from_seq - 1));
    if (h.step() != SQLITE_ROW) return fail(from_seq - 1, "row before the range is missing");
    prev = to_hash(h.blob(0));
    expect = from_seq;
  }
  const std::uint64_t end = std::min(to_seq, last);
  // tbl: the class of the table the row is in (a row moved to another class's table would be
  // delivered to the wrong consumers while its hash still fits).
  Stmt ev(db, std::string("SELECT ") + kEventColumns +
                  ",tbl FROM event WHERE seq>=?1 AND seq<=?2 ORDER BY seq");
  ev.bind(1, static_cast<std::int64_t>(expect)).bind(2, static_cast<std::int64_t>(end));
  Stmt gp(db, "SELECT seq,hash FROM gap WHERE seq>=?1 AND seq<=?2 ORDER BY seq");
  gp.bind(1, static_cast<std::int64_t>(expect)).bind(2, static_cast<std::int64_t>(end));
  bool ev_ok = ev.step() == SQLITE_ROW, gp_ok = gp.step() == SQLITE_ROW;
  ChainHasher hasher;
  Record r;
  while (expect <= end && expect != 0) {
    std::uint64_t es = ev_ok ? static_cast<std::uint64_t>(ev.i64(0)) : UINT64_MAX;
    std::uint64_t gs = gp_ok ? static_cast<std::uint64_t>(gp.i64(0)) : UINT64_MAX;
    if (es == expect && gs == expect) return fail(expect, "row both kept and evicted");
    if (es == expect) {
      read_record(ev, r);
      if (hasher.link(prev, r) != r.hash) return fail(expect, "hash mismatch");
      if (ev.i64(12) != static_cast<std::int64_t>(r.cls)) {
        return fail(expect, "row in another class's table");
      }
      prev = r.hash;
      ev_ok = ev.step() == SQLITE_ROW;
    } else if (gs == expect) {
      prev = to_hash(gp.blob(1));
      gp_ok = gp.step() == SQLITE_ROW;
    } else {
      return fail(expect, "row missing");
    }
    ++expect;
  }
  if (ev_ok) return fail(static_cast<std::uint64_t>(ev.i64(0)), "row beyond the sequence");
  if (to_seq >= last) {
    auto extra = static_cast<std::uint64_t>(
        query_i64(db, "SELECT ifnull((SELECT seq FROM event ORDER BY seq DESC LIMIT 1),0)"));
    if (extra > last) return fail(last + 1, "row beyond the high-water mark");
  }
  out.detail = "verified " + std::to_string(expect - std::max<std::uint64_t>(from_seq, anchor + 1)) +
               " rows";
  return out;
}

}  // namespace floorgate::store::detail

namespace floorgate::store {

ChainCheck verify_file(const std::filesystem::path& path, std::uint64_t from_seq,
                       std::uint64_t to_seq) {
  // Read-only (a live store: the daemon keeps writing; this reads one snapshot).
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    ChainCheck c;
    c.ok = false;
    c.detail = "cannot open " + path.string() + ": " + (db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close_v2(db);
    return c;
  }
  sqlite3_busy_timeout(db, 5000);
  ChainCheck c = detail::verify_chain_db(db, from_seq, to_seq);
  sqlite3_close_v2(db);
  return c;
}

}  // namespace floorgate::store
