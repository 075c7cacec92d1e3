#include "exception_queue.hpp"

#include <algorithm>
#include <array>

namespace floorgate::sim {
namespace {

// Monaco's priority order (sas.md §9). 51/52 are queued here so that every handpay is
// reported (and ledgered) one by one; 3D/3E are queued as with validation "None".
constexpr std::array<std::uint8_t, 13> kPriorityOrder = {
    0x57, 0x67, 0x68, 0x3F, 0x6A, 0x6B, 0x6F, 0x56, 0x69, 0x6C, 0x6D, 0x8F, 0x70};

int rank(std::uint8_t code) {
  for (std::size_t i = 0; i < kPriorityOrder.size(); ++i) {
    if (kPriorityOrder[i] == code) return static_cast<int>(i);
  }
  return -1;
}

}  // namespace

ExceptionQueue::ExceptionQueue(std::size_t capacity, OverflowPolicy policy)
    : capacity_(capacity == 0 ? 1 : capacity), policy_(policy) {}

bool ExceptionQueue::is_priority(std::uint8_t code) { return rank(code) >= 0; }

PushResult ExceptionQueue::push(QueuedEvent ev, std::uint64_t in_flight) {
  PushResult r;
  int rk = rank(ev.code);
  if (rk >= 0) {
    for (const QueuedEvent& p : priority_) {
      if (p.code == ev.code) {
        r.merged = true;
        r.merged_into = p.seq;
        return r;
      }
    }
    auto pos = std::find_if(priority_.begin(), priority_.end(),
                            [rk](const QueuedEvent& p) { return rank(p.code) > rk; });
    priority_.insert(pos, std::move(ev));
    return r;
  }
  if (fifo_.size() >= capacity_) {
    r.overflow = true;
    if (policy_ == OverflowPolicy::kDropNewest) {
      r.dropped = ev.seq;
      return r;
    }
    auto victim = fifo_.begin();
    if (victim->seq == in_flight && fifo_.size() > 1) ++victim;
    r.dropped = victim->seq;
    fifo_.erase(victim);
  }
  fifo_.push_back(std::move(ev));
  return r;
}

std::uint64_t ExceptionQueue::pending_flag(std::uint8_t code) const {
  for (const QueuedEvent& p : priority_) {
    if (p.code == code) return p.seq;
  }
  return 0;
}

const QueuedEvent* ExceptionQueue::front() const {
  if (!priority_.empty()) return &priority_.front();
  if (!fifo_.empty()) return &fifo_.front();
  return nullptr;
}

bool ExceptionQueue::remove(std::uint64_t seq) {
  auto match = [seq](const QueuedEvent& e) { return e.seq == seq; };
  if (auto it = std::find_if(priority_.begin(), priority_.end(), match); it != priority_.end()) {
    priority_.erase(it);
    return true;
  }
  if (auto it = std::find_if(fifo_.begin(), fifo_.end(), match); it != fifo_.end()) {
    fifo_.erase(it);
    return true;
  }
  return false;
}

}  // namespace floorgate::sim
