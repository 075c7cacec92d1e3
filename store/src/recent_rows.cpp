#include "recent_rows.hpp"

#include <algorithm>

#include "floorgate/core/check.hpp"

namespace floorgate::store::detail {

RecentRows::RecentRows(std::size_t max_rows, std::size_t max_bytes)
    : max_rows_(std::max<std::size_t>(1, max_rows)), max_bytes_(max_bytes) {}

std::size_t RecentRows::weight(const Record& r) {
  return sizeof(Record) + r.egm.size() + r.type.size() + r.source.size() + r.attrs_json.size() +
         r.raw_hex.size();
}

void RecentRows::add(const Record& r) {
  if (!rows_.empty() && r.seq != rows_.back().seq + 1) clear();
  rows_.push_back(r);
  bytes_ += weight(r);
  while (rows_.size() > 1 && (rows_.size() > max_rows_ || bytes_ > max_bytes_)) {
    bytes_ -= weight(rows_.front());
    rows_.pop_front();
  }
}

void RecentRows::clear() {
  rows_.clear();
  bytes_ = 0;
}

const Record* RecentRows::find(std::uint64_t seq) const {
  if (rows_.empty() || seq < rows_.front().seq || seq > rows_.back().seq) return nullptr;
  return &rows_[seq - rows_.front().seq];
}

ScanResult RecentRows::read(const Route& route, std::uint64_t after, std::uint64_t upto,
                            std::size_t max, std::size_t budget) const {
  ScanResult res;
  res.covered = after;
  if (max == 0 || after >= upto || rows_.empty()) return res;
  FG_CHECK(covers(after), "a read from memory before the first row the window holds");
  const std::uint64_t first = rows_.front().seq;
  const std::uint64_t end = std::min(upto, rows_.back().seq);
  std::size_t examined = 0;
  std::uint64_t seq = std::max(after + 1, first);
  for (; seq <= end && res.rows.size() < max && examined < budget; ++seq, ++examined) {
    const Record& r = rows_[seq - first];
    if (selects(route, r)) res.rows.push_back(r);
  }
  // Every row up to seq - 1 was examined; a full batch ends at its last row.
  res.covered = res.rows.size() == max ? res.rows.back().seq : seq - 1;
  return res;
}

std::optional<std::uint64_t> RecentRows::count(const Route& route, std::uint64_t after,
                                               std::uint64_t upto) const {
  if (after >= upto) return 0;
  if (!covers(after) || upto > rows_.back().seq) return std::nullopt;
  const std::uint64_t first = rows_.front().seq;
  std::uint64_t n = 0;
  for (std::uint64_t seq = std::max(after + 1, first); seq <= upto; ++seq) {
    n += selects(route, rows_[seq - first]) ? 1 : 0;
  }
  return n;
}

}  // namespace floorgate::store::detail
