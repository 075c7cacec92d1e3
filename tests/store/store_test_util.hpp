#pragma once
// Helpers shared by the store suites: event factory, hex, store opening in a temp dir.
#include <atomic>
#include <cstdio>
#include <map>
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

// A delivery position held by the caller, as the gateway's consumer stream holds one: starts
// at the consumer's durable cursor, reads by seq range (read_after) and goes on past sparse
// stretches a scan covered without a match.
class Reader {
 public:
  Reader(Store& s, std::string consumer) : s_(&s), consumer_(std::move(consumer)) {
    rewind_to_ack();
  }
  std::vector<Record> next(std::size_t max, std::error_code& ec) {
    std::uint64_t covered = pos_;
    auto rows = s_->read_after(consumer_, pos_, max, ec, &covered);
    if (!rows.empty()) pos_ = rows.back().seq;
    if (rows.size() < max) pos_ = std::max(pos_, covered);
    return rows;
  }
  void seek(std::uint64_t from_seq) { pos_ = from_seq ? from_seq - 1 : 0; }
  void rewind_to_ack() {
    for (const auto& c : s_->stats().consumers) {
      if (c.name == consumer_) pos_ = c.acked_upto;
    }
  }
  std::uint64_t pos() const { return pos_; }

 private:
  Store* s_;
  std::string consumer_;
  std::uint64_t pos_ = 0;
};

// One Reader per consumer name, made on first use.
class Readers {
 public:
  explicit Readers(Store& s) : s_(&s) {}
  Reader& operator[](const std::string& consumer) {
    auto it = readers_.find(consumer);
    if (it == readers_.end()) it = readers_.emplace(consumer, Reader(*s_, consumer)).first;
    return it->second;
  }

 private:
  Store* s_;
  std::map<std::string, Reader> readers_;
};

}  // namespace floorgate::store::testing
