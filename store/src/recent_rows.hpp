#pragma once
// The rows of the latest commits, kept in memory (private). A consumer at the live edge reads
// what was just committed from here instead of from the database: no read transaction, no
// statement steps, no row decoding per consumer (issue 19). It holds every committed row with
// first() <= seq <= last() and nothing else, so "covered" means exactly what a scan of the
// tables would mean. Not thread-safe: the store guards it with StoreState::mu (store_state.hpp).

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "scan.hpp"

namespace floorgate::store::detail {

class RecentRows {
 public:
  // Keeps at most max_rows rows and about max_bytes of their text; the oldest go first.
  RecentRows(std::size_t max_rows, std::size_t max_bytes);

  // A row just committed: its seq follows last() (anything else empties the window first, so
  // it never holds a hole).
  void add(const Record& r);
  // Forgets everything (retention deleted rows: the window must not serve them).
  void clear();

  // True when every committed row after `after` is here: a read from `after` needs no database.
  // The caller knows the store's newest seq equals last() (both change under the same lock).
  bool covers(std::uint64_t after) const { return !rows_.empty() && after + 1 >= rows_.front().seq; }
  // The row with this seq, or null.
  const Record* find(std::uint64_t seq) const;

  // scan_route()'s answer from memory, for after >= first() - 1: up to max rows the route
  // selects with after < seq <= upto, examining at most budget rows.
  ScanResult read(const Route& route, std::uint64_t after, std::uint64_t upto, std::size_t max,
                  std::size_t budget) const;
  // count_route()'s answer from memory: how many rows the route selects with
  // after < seq <= upto, when every one of them is here (nullopt otherwise).
  std::optional<std::uint64_t> count(const Route& route, std::uint64_t after,
                                     std::uint64_t upto) const;

 private:
  static std::size_t weight(const Record& r);
  std::size_t max_rows_;
  std::size_t max_bytes_;
  std::size_t bytes_ = 0;
  std::deque<Record> rows_;
};

}  // namespace floorgate::store::detail
