#include "store_state.hpp"

#include <algorithm>

#include "scan.hpp"

namespace floorgate::store::detail {

void StoreState::apply(const CursorDeltas& deltas) {
  for (const auto& [name, d] : deltas) {
    auto it = consumers.find(name);
    if (it == consumers.end()) continue;
    auto& c = it->second;
    c.pending = static_cast<std::uint64_t>(
        std::max<std::int64_t>(static_cast<std::int64_t>(c.pending) + d.pending, 0));
    if (d.acked) c.acked = *d.acked;
    if (d.counted) c.counted = *d.counted;
    c.routed_total += d.routed;
  }
}

std::vector<int> StoreState::tables_for(const Route& route) const {
  std::vector<int> tables = route_tables(route);
  if (route.types.empty()) return tables;
  unsigned mask = 0;
  for (const auto& [type, bits] : type_classes) {
    if (route.selects_type(type)) mask |= bits;
  }
  std::erase_if(tables, [&](int k) { return !(mask & (1u << k)); });
  return tables;
}

}  // namespace floorgate::store::detail
