#pragma once
// An EGM's exception queue: priority exceptions as one-of-each flags reported first (in the
// Monaco order), queued exceptions in a bounded FIFO. Items leave only when the host
// implied-ACKs them (remove by seq). Loop thread only.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "sas_codec.hpp"

namespace floorgate::sim {

// One pending exception with its ledger seq and its real-time-event payload.
struct QueuedEvent {
  std::uint8_t code = 0;  // exception code
  std::uint64_t seq = 0;  // ledger seq
  Bytes data;             // RTE data after the code (may be empty)
};

// What to drop when the FIFO is full.
enum class OverflowPolicy { kDropOldest, kDropNewest };

// Outcome of ExceptionQueue::push.
struct PushResult {
  bool merged = false;                     // a priority flag already pending absorbed it
  std::uint64_t merged_into = 0;           // seq of that pending flag
  std::optional<std::uint64_t> dropped;    // seq lost to an overflow
  bool overflow = false;                   // FIFO was full: caller raises 0x70
};

// Priority flags + FIFO.
class ExceptionQueue {
 public:
  // `capacity` is the FIFO depth (Monaco: 25).
  explicit ExceptionQueue(std::size_t capacity = 25,
                          OverflowPolicy policy = OverflowPolicy::kDropOldest);
  // True for codes reported as priority flags.
  static bool is_priority(std::uint8_t code);
  // Adds an exception; `in_flight` is a seq the host may be holding (never dropped).
  PushResult push(QueuedEvent ev, std::uint64_t in_flight = 0);
  // Seq of the pending priority flag `code`, or 0 if none is pending.
  std::uint64_t pending_flag(std::uint8_t code) const;
  // The exception the next general poll reports, or nullptr.
  const QueuedEvent* front() const;
  // Removes the item with `seq`; false if it is no longer queued.
  bool remove(std::uint64_t seq);
  // Number of queued (FIFO) items.
  std::size_t fifo_size() const { return fifo_.size(); }
  // Number of pending priority flags.
  std::size_t priority_size() const { return priority_.size(); }
  // FIFO depth.
  std::size_t capacity() const { return capacity_; }

 private:
  std::size_t capacity_;
  OverflowPolicy policy_;
  std::vector<QueuedEvent> priority_;  // sorted by rank, highest first
  std::deque<QueuedEvent> fifo_;
};

}  // namespace floorgate::sim
