#include "scan.hpp"

#include <algorithm>
#include <string>

#include "codec.hpp"

namespace floorgate::store::detail {
namespace {

struct Chunk {
  std::vector<Record> rows;  // matching rows only
  std::uint64_t covered = 0;
  int rc = SQLITE_OK;        // the first step() failure (then rows and covered mean nothing)
};

// Reads the filter columns first and decodes the whole row only when the route matches.
void read_if_match(const Stmt& st, const Route& route, bool exact, Chunk& c, Record& scratch) {
  scratch.seq = static_cast<std::uint64_t>(st.i64(0));
  if (!exact) {
    scratch.egm = st.text(2);
    scratch.type = st.text(4);
    scratch.cls = static_cast<EventClass>(st.i64(5));
    if (!selects(route, scratch)) return;
  }
  Record r;
  read_record(st, r);
  c.rows.push_back(std::move(r));
}

// One chunk: a stream of at most n rows per class table in `tables` with after < seq <= upto,
// merged by seq and stopped at `want` matches. Only emitted rows are decoded in full. covered
// is the highest seq up to which every row was examined.
Chunk fetch_chunk(StmtCache& cache, const Route& route, const std::vector<int>& tables,
                  std::uint64_t after, std::uint64_t upto, std::size_t n, std::size_t want) {
  Chunk c;
  c.rows.reserve(want);
  const bool exact = route.types.empty() && route.egms.empty();
  const std::string cols = kEventColumns;
  std::vector<Stmt*> streams;
  for (int k : tables) {
    streams.push_back(&cache.get("SELECT " + cols + " FROM " +
                                 event_table(static_cast<EventClass>(k)) +
                                 " WHERE seq>?1 AND seq<=?2 ORDER BY seq LIMIT ?3"));
  }
  c.covered = upto;
  std::vector<std::size_t> count(streams.size(), 0);
  std::vector<bool> live(streams.size(), false);
  // A failed step is an error, never "no more rows": that would claim the range covered and
  // the caller would skip rows it never read.
  auto step = [&c](Stmt* st) {
    const int rc = st->step();
    if (rc != SQLITE_ROW && rc != SQLITE_DONE && c.rc == SQLITE_OK) c.rc = rc;
    return rc == SQLITE_ROW;
  };
  for (std::size_t i = 0; i < streams.size(); ++i) {
    streams[i]->bind(1, static_cast<std::int64_t>(after)).bind(2, static_cast<std::int64_t>(upto));
    streams[i]->bind(3, static_cast<std::int64_t>(n));
    live[i] = step(streams[i]);
  }
  Record scratch;
  while (c.rc == SQLITE_OK) {
    std::size_t best = streams.size();
    std::uint64_t best_seq = UINT64_MAX;
    for (std::size_t i = 0; i < streams.size(); ++i) {
      if (!live[i]) continue;
      auto s = static_cast<std::uint64_t>(streams[i]->i64(0));
      if (s < best_seq) {
        best_seq = s;
        best = i;
      }
    }
    if (best == streams.size() || best_seq > c.covered) break;
    read_if_match(*streams[best], route, exact, c, scratch);
    ++count[best];
    if (c.rows.size() == want) {
      c.covered = best_seq;
      break;
    }
    live[best] = step(streams[best]);
    // A stream that stopped at its LIMIT bounds what the merge may claim to have covered.
    if (!live[best] && count[best] == n) c.covered = std::min(c.covered, best_seq);
  }
  for (auto* st : streams) st->reset();
  return c;
}

}  // namespace

std::vector<int> route_tables(const Route& route) {
  std::vector<int> out;
  for (int k = 0; k < kEventClassCount; ++k) {
    auto name = to_string(static_cast<EventClass>(k));
    if (route.classes.empty() ||
        std::find(route.classes.begin(), route.classes.end(), name) != route.classes.end()) {
      out.push_back(k);
    }
  }
  return out;
}

ScanResult scan_route(StmtCache& db, const Route& route, const std::vector<int>& tables,
                      std::uint64_t after, std::uint64_t upto, std::size_t max,
                      std::size_t budget) {
  ScanResult res;
  res.covered = after;
  if (max == 0 || after >= upto) return res;
  res.rows.reserve(std::min<std::size_t>(max, 4096));
  const bool exact = route.types.empty() && route.egms.empty();
  std::size_t examined = 0;
  std::uint64_t cur = after;
  while (res.rows.size() < max && cur < upto && examined < budget) {
    std::size_t want = max - res.rows.size();
    std::size_t n = exact ? want : std::max<std::size_t>(want + want / 2, 256);
    Chunk c = fetch_chunk(db, route, tables, cur, upto, n, want);
    if (c.rc != SQLITE_OK) {
      res.rc = c.rc;
      res.rows.clear();
      res.covered = after;
      return res;
    }
    examined += n;
    std::uint64_t next = c.covered;
    for (auto& r : c.rows) {
      res.rows.push_back(std::move(r));
      if (res.rows.size() == max) {
        next = res.rows.back().seq;
        break;
      }
    }
    cur = next;
  }
  res.covered = cur;
  return res;
}

std::uint64_t count_route(StmtCache& db, const Route& route, std::uint64_t after,
                          std::uint64_t upto, int* rc_out) {
  if (rc_out) *rc_out = SQLITE_OK;
  if (after >= upto) return 0;
  auto failed = [rc_out](int rc) {
    if (rc != SQLITE_ROW && rc != SQLITE_DONE && rc_out && *rc_out == SQLITE_OK) *rc_out = rc;
  };
  const bool exact = route.types.empty() && route.egms.empty();
  std::uint64_t total = 0;
  Record scratch;
  for (int k : route_tables(route)) {
    scratch.cls = static_cast<EventClass>(k);
    const std::string range = " FROM " + event_table(scratch.cls) + " WHERE seq>?1 AND seq<=?2";
    if (exact) {
      Stmt& st = db.get("SELECT count(*)" + range);
      st.bind(1, static_cast<std::int64_t>(after)).bind(2, static_cast<std::int64_t>(upto));
      const int rc = st.step();
      if (rc == SQLITE_ROW) total += static_cast<std::uint64_t>(st.i64(0));
      failed(rc);
      st.reset();
      continue;
    }
    // Type/EGM filters: stream the two filter columns, nothing materialized.
    Stmt& st = db.get("SELECT egm,type" + range);
    st.bind(1, static_cast<std::int64_t>(after)).bind(2, static_cast<std::int64_t>(upto));
    int rc = SQLITE_OK;
    while ((rc = st.step()) == SQLITE_ROW) {
      scratch.egm = st.text(0);
      scratch.type = st.text(1);
      total += selects(route, scratch) ? 1 : 0;
    }
    failed(rc);
    st.reset();
  }
  return total;
}

}  // namespace floorgate::store::detail
