#include "scan.hpp"

#include <algorithm>
#include <string>

#include "codec.hpp"

namespace floorgate::store::detail {
namespace {

struct Chunk {
  std::vector<Record> rows;  // matching rows only
  std::uint64_t covered = 0;
};

// Reads the filter columns first and decodes the whole row only when the route matches.
void read_if_match(const Stmt& st, const Route& route, bool exact, Chunk& c, Record& scratch) {
  scratch.seq = static_cast<std::uint64_t>(st.i64(0));
  if (!exact) {
    scratch.egm = st.text(2);
    scratch.type = st.text(4);
    scratch.cls = static_cast<EventClass>(st.i64(5));
    if (!route.matches(scratch)) return;
  }
  Record r;
  read_record(st, r);
  c.rows.push_back(std::move(r));
}

// One chunk: streams of at most n rows per class with after < seq <= upto, merged by seq and
// stopped at `want` matches. Only emitted rows are decoded in full. covered is the highest seq
// up to which every row was examined.
Chunk fetch_chunk(StmtCache& cache, const Route& route, const std::vector<int>& classes,
                  std::uint64_t after, std::uint64_t upto, std::size_t n, std::size_t want,
                  ScanPlan plan) {
  Chunk c;
  c.rows.reserve(want);
  const bool exact = route.types.empty() && route.egms.empty();
  const std::string cols = kEventColumns;
  std::vector<Stmt*> streams;
  if (!classes.empty() && plan == ScanPlan::by_seq) {
    // "+cls" keeps SQLite on the rowid range instead of the class index.
    std::string in;
    for (int k : classes) in += (in.empty() ? "" : ",") + std::to_string(k);
    streams.push_back(&cache.get("SELECT " + cols +
                                 " FROM event WHERE seq>?1 AND seq<=?2 AND +cls IN (" + in +
                                 ") ORDER BY seq LIMIT ?3"));
    upto = std::min<std::uint64_t>(upto, after + kDenseSpan * n);
  } else if (classes.empty()) {
    streams.push_back(&cache.get(
        "SELECT " + cols + " FROM event WHERE seq>?1 AND seq<=?2 ORDER BY seq LIMIT ?3"));
  } else {
    for (std::size_t i = 0; i < classes.size(); ++i) {
      streams.push_back(&cache.get("SELECT " + cols +
                                       " FROM event WHERE cls=?4 AND seq>?1 AND seq<=?2 ORDER BY "
                                       "seq LIMIT ?3",
                                   static_cast<int>(i)));
      streams.back()->bind(4, static_cast<std::int64_t>(classes[i]));
    }
  }
  c.covered = upto;
  std::vector<std::size_t> count(streams.size(), 0);
  std::vector<bool> live(streams.size(), false);
  for (std::size_t i = 0; i < streams.size(); ++i) {
    streams[i]->bind(1, static_cast<std::int64_t>(after)).bind(2, static_cast<std::int64_t>(upto));
    streams[i]->bind(3, static_cast<std::int64_t>(n));
    live[i] = streams[i]->step() == SQLITE_ROW;
  }
  Record scratch;
  for (;;) {
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
    live[best] = streams[best]->step() == SQLITE_ROW;
    // A stream that stopped at its LIMIT bounds what the merge may claim to have covered.
    if (!live[best] && count[best] == n) c.covered = std::min(c.covered, best_seq);
  }
  for (auto* st : streams) st->reset();
  return c;
}

}  // namespace

ScanPlan plan_for(std::size_t matched, std::uint64_t span) {
  return span > 0 && matched * 16 >= span ? ScanPlan::by_seq : ScanPlan::by_index;
}

std::vector<int> route_classes(const Route& route) {
  std::vector<int> out;
  for (int i = 0; i <= static_cast<int>(EventClass::telemetry); ++i) {
    auto name = to_string(static_cast<EventClass>(i));
    if (std::find(route.classes.begin(), route.classes.end(), name) != route.classes.end()) {
      out.push_back(i);
    }
  }
  if (route.classes.empty() || out.size() == 5) out.clear();
  if (!route.classes.empty() && out.empty() && route.classes.size() < 5) out.push_back(-1);
  return out;
}

ScanResult scan_route(StmtCache& db, const Route& route, std::uint64_t after, std::uint64_t upto,
                      std::size_t max, std::size_t budget, ScanPlan plan) {
  ScanResult res;
  res.covered = after;
  if (max == 0 || after >= upto) return res;
  res.rows.reserve(std::min<std::size_t>(max, 4096));
  const auto classes = route_classes(route);
  const bool exact = route.types.empty() && route.egms.empty();
  std::size_t examined = 0;
  std::uint64_t cur = after;
  while (res.rows.size() < max && cur < upto && examined < budget) {
    std::size_t want = max - res.rows.size();
    std::size_t n = exact ? want : std::max<std::size_t>(want + want / 2, 256);
    Chunk c = fetch_chunk(db, route, classes, cur, upto, n, want, plan);
    examined += plan == ScanPlan::by_seq && !classes.empty() ? kDenseSpan * n : n;
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
                          std::uint64_t upto) {
  if (after >= upto) return 0;
  const auto classes = route_classes(route);
  if (route.types.empty() && route.egms.empty()) {
    std::uint64_t total = 0;
    if (classes.empty()) {
      Stmt& st = db.get("SELECT count(*) FROM event WHERE seq>?1 AND seq<=?2");
      st.bind(1, static_cast<std::int64_t>(after)).bind(2, static_cast<std::int64_t>(upto));
      if (st.step() == SQLITE_ROW) total = static_cast<std::uint64_t>(st.i64(0));
      st.reset();
      return total;
    }
    Stmt& st = db.get("SELECT count(*) FROM event WHERE cls=?3 AND seq>?1 AND seq<=?2");
    for (int cls : classes) {
      st.reset();
      st.bind(1, static_cast<std::int64_t>(after)).bind(2, static_cast<std::int64_t>(upto));
      st.bind(3, static_cast<std::int64_t>(cls));
      if (st.step() == SQLITE_ROW) total += static_cast<std::uint64_t>(st.i64(0));
      st.reset();
    }
    return total;
  }
  std::uint64_t total = 0;
  std::uint64_t cur = after;
  while (cur < upto) {
    auto r = scan_route(db, route, cur, upto, 4096, SIZE_MAX);
    total += r.rows.size();
    if (r.covered <= cur) break;
    cur = r.covered;
  }
  return total;
}

}  // namespace floorgate::store::detail
