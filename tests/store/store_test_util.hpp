#pragma once
// Helpers shared by the store suites: event factory, hex, store opening in a temp dir.
#include <atomic>
#include <cstdio>
#include <memory>
#include <string>

#include "floorgate/store/store.hpp"

namespace floorgate::store::testing {

inline Record make_event(const std::string& egm, EventClass cls = EventClass::operational,
                         const std::string& type = "door.opened", std::int64_t ts = 1000) {
  Record r;
  r.egm = egm;
  r.cls = cls;
  r.type = type;
  r.ts_gw_ms = ts;
  r.source = "sas:0x01";
  r.attrs_json = "{\"door\":\"main\",\"pad\":\"" + std::string(120, 'x') + "\"}";
  r.raw_hex = "01ff00";
  return r;
}

inline std::string hex(const std::array<std::uint8_t, 32>& h) {
  std::string s;
  char b[3];
  for (auto c : h) {
    std::snprintf(b, sizeof b, "%02x", c);
    s += b;
  }
  return s;
}

// A manual wall clock for retention-by-age tests.
struct ManualClock {
  std::shared_ptr<std::atomic<std::int64_t>> now = std::make_shared<std::atomic<std::int64_t>>(
      1'700'000'000'000);
  std::function<std::int64_t()> fn() const {
    auto n = now;
    return [n] { return n->load(); };
  }
};

}  // namespace floorgate::store::testing
