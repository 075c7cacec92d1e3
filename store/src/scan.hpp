#pragma once
// Route-filtered reads over the event table (private). Rows are selected in SQL by seq range
// (through the class index when the route names classes) and filtered in C++ by type and EGM.

#include <cstdint>
#include <functional>
#include <vector>

#include "floorgate/store/store.hpp"
#include "sqlite_util.hpp"

namespace floorgate::store::detail {

struct ScanResult {
  std::vector<Record> rows;  // matching rows, ascending seq
  std::uint64_t covered = 0;  // every matching row in (after, covered] is in rows
};

// How a class route's rows are found. by_index: one stream per class through the class index
// (a b-tree lookup per row; best when the classes are rare). by_seq: one walk along seq that
// skips other classes (best when they are common: every page holds matches anyway); each
// chunk walks at most kDenseSpan rows per wanted row, so a wrong guess costs little.
enum class ScanPlan { by_index, by_seq };
inline constexpr std::uint64_t kDenseSpan = 24;
// The plan for a route whose last scan found `matched` rows over `span` seqs.
ScanPlan plan_for(std::size_t matched, std::uint64_t span);

// Reads up to max matching rows with after < seq <= upto, examining at most budget rows
// (sparse type/EGM filters); covered tells how far the scan got. Thread: the connection owner.
ScanResult scan_route(StmtCache& db, const Route& route, std::uint64_t after, std::uint64_t upto,
                      std::size_t max, std::size_t budget, ScanPlan plan = ScanPlan::by_index);

// Counts matching rows with after < seq <= upto (used to keep per-consumer pending counters).
std::uint64_t count_route(StmtCache& db, const Route& route, std::uint64_t after,
                          std::uint64_t upto);

// Class numbers a route selects; empty when it selects every class.
std::vector<int> route_classes(const Route& route);

}  // namespace floorgate::store::detail
