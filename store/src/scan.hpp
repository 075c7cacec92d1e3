#pragma once
// Route-filtered reads over the event tables (private). Rows are selected in SQL by seq range
// from the class tables the route names (merged by seq here) and filtered in C++ by type and EGM.

#include <cstdint>
#include <functional>
#include <vector>

#include "floorgate/store/store.hpp"
#include "sqlite_util.hpp"

namespace floorgate::store::detail {

// Rows examined per call at most when type/EGM filters make a route sparse.
constexpr std::size_t kScanBudget = 20000;

struct ScanResult {
  std::vector<Record> rows;  // matching rows, ascending seq
  std::uint64_t covered = 0;  // every matching row in (after, covered] is in rows
  int rc = SQLITE_OK;         // a read failure: rows empty, covered == after
};

// Reads up to max matching rows with after < seq <= upto from the class tables `tables` (all
// that can hold the route's rows), examining at most budget rows per table (sparse type/EGM
// filters); covered tells how far the scan got. Thread: the connection owner.
ScanResult scan_route(StmtCache& db, const Route& route, const std::vector<int>& tables,
                      std::uint64_t after, std::uint64_t upto, std::size_t max,
                      std::size_t budget);

// Counts matching rows with after < seq <= upto (used to keep per-consumer pending counters).
// *rc_out (when given) gets the first read failure; the count is then incomplete.
std::uint64_t count_route(StmtCache& db, const Route& route, std::uint64_t after,
                          std::uint64_t upto, int* rc_out = nullptr);

// The class tables (EventClass numbers) a route's classes allow: all five when it names none.
std::vector<int> route_tables(const Route& route);

}  // namespace floorgate::store::detail
