#include "scan.hpp"

#include <algorithm>
#include <string>

#include "codec.hpp"

namespace floorgate::store::detail {
namespace {

struct Chunk {
  std::vector<Record> rows;
  std::uint64_t covered = 0;
};

// One chunk of at most n rows per class with after < seq <= upto, merged by seq.
Chunk fetch_chunk(sqlite3* db, const std::vector<int>& classes, std::uint64_t after,
                  std::uint64_t upto, std::size_t n) {
  Chunk c;
  c.covered = upto;
  auto run = [&](Stmt& st) {
    std::size_t got = 0;
    std::uint64_t last = 0;
    while (st.step() == SQLITE_ROW) {
      Record r;
      read_record(st, r);
      last = r.seq;
      c.rows.push_back(std::move(r));
      ++got;
    }
    if (got == n) c.covered = std::min(c.covered, last);
  };
  const std::string cols = kEventColumns;
  if (classes.empty()) {
    Stmt st(db, "SELECT " + cols + " FROM event WHERE seq>?1 AND seq<=?2 ORDER BY seq LIMIT ?3");
    st.bind(1, static_cast<std::int64_t>(after)).bind(2, static_cast<std::int64_t>(upto));
    st.bind(3, static_cast<std::int64_t>(n));
    run(st);
  } else {
    Stmt st(db, "SELECT " + cols +
                    " FROM event WHERE cls=?4 AND seq>?1 AND seq<=?2 ORDER BY seq LIMIT ?3");
    for (int cls : classes) {
      st.reset();
      st.bind(1, static_cast<std::int64_t>(after)).bind(2, static_cast<std::int64_t>(upto));
      st.bind(3, static_cast<std::int64_t>(n)).bind(4, static_cast<std::int64_t>(cls));
      run(st);
    }
    std::sort(c.rows.begin(), c.rows.end(),
              [](const Record& a, const Record& b) { return a.seq < b.seq; });
  }
  while (!c.rows.empty() && c.rows.back().seq > c.covered) c.rows.pop_back();
  return c;
}

}  // namespace

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

ScanResult scan_route(sqlite3* db, const Route& route, std::uint64_t after, std::uint64_t upto,
                      std::size_t max, std::size_t budget) {
  ScanResult res;
  res.covered = after;
  if (max == 0 || after >= upto) return res;
  const auto classes = route_classes(route);
  const bool exact = route.types.empty() && route.egms.empty();
  std::size_t examined = 0;
  std::uint64_t cur = after;
  while (res.rows.size() < max && cur < upto && examined < budget) {
    std::size_t want = max - res.rows.size();
    std::size_t n = exact ? want : std::max<std::size_t>(want * 4, 512);
    Chunk c = fetch_chunk(db, classes, cur, upto, n);
    std::uint64_t next = c.covered;
    for (auto& r : c.rows) {
      ++examined;
      if (!route.matches(r)) continue;
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

std::uint64_t count_route(sqlite3* db, const Route& route, std::uint64_t after,
                          std::uint64_t upto) {
  if (after >= upto) return 0;
  const auto classes = route_classes(route);
  if (route.types.empty() && route.egms.empty()) {
    std::uint64_t total = 0;
    if (classes.empty()) {
      Stmt st(db, "SELECT count(*) FROM event WHERE seq>?1 AND seq<=?2");
      st.bind(1, static_cast<std::int64_t>(after)).bind(2, static_cast<std::int64_t>(upto));
      if (st.step() == SQLITE_ROW) total = static_cast<std::uint64_t>(st.i64(0));
      return total;
    }
    Stmt st(db, "SELECT count(*) FROM event WHERE cls=?3 AND seq>?1 AND seq<=?2");
    for (int cls : classes) {
      st.reset();
      st.bind(1, static_cast<std::int64_t>(after)).bind(2, static_cast<std::int64_t>(upto));
      st.bind(3, static_cast<std::int64_t>(cls));
      if (st.step() == SQLITE_ROW) total += static_cast<std::uint64_t>(st.i64(0));
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
