#pragma once
// Retention (private): bounded chunks on the writer thread, each one transaction. First the
// oldest rows every required consumer has acked (by age or size); under size pressure then acked
// rows further on, then unacked telemetry, operational and fault rows (in that order); never an
// unacked financial or security row: if only those remain, the alarm is raised. Rows evicted
// from the middle keep their hash in `gap` so the chain still verifies; the anchor holds the
// hash before the first kept row.

#include <cstdint>
#include <system_error>

#include "sqlite_util.hpp"
#include "store_state.hpp"

namespace floorgate::store::detail {

class StoreWriter;

// The smallest kept seq, 0 when the store is empty.
std::uint64_t min_kept_seq(sqlite3* db);

class Retention {
 public:
  Retention(const Options& opt, StoreState& state, StoreWriter& writer)
      : opt_(opt), state_(state), writer_(writer) {}

  // One chunk; *more when another should follow at once. Writer thread.
  std::error_code chunk(bool* more);
  // Gives free pages back to the file system (after the last chunk of a run). Writer thread.
  void vacuum_some();

 private:
  struct Ctx;
  std::error_code prefix(Ctx& x);
  std::error_code evict(Ctx& x);
  std::error_code fold_anchor(Ctx& x);
  void update_alarm(const Ctx& x, bool clear);  // caller holds state_.mu
  std::uint64_t live_bytes();
  sqlite3* db();

  const Options& opt_;
  StoreState& state_;
  StoreWriter& writer_;  // its connection, its chain anchor and head book
};

}  // namespace floorgate::store::detail
