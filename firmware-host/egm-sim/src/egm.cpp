#include "egm.hpp"

#include <array>
#include <cstdio>

namespace floorgate::sim {
namespace {

// Table C-4 accounting denominations in cents, indexed by code (0 = unknown).
constexpr std::array<std::uint64_t, 27> kDenomCents = {
    0, 1, 5, 10, 25, 50, 100, 500, 1000, 2000, 10000, 20, 200, 250,
    2500, 5000, 20000, 25000, 50000, 100000, 200000, 250000, 500000, 2, 3, 15, 40};

// A bill denomination: GP code (non-RTE), 2F count meter, RTE/LP48 denomination code.
struct BillKind {
  std::uint32_t dollars;
  std::uint8_t gp_code;
  std::uint8_t meter;
  std::uint8_t denom_code;
};
constexpr std::array<BillKind, 12> kBills = {{{1, 0x47, 0x40, 0x00},
                                              {2, 0x4D, 0x41, 0x01},
                                              {5, 0x48, 0x42, 0x02},
                                              {10, 0x49, 0x43, 0x03},
                                              {20, 0x4A, 0x44, 0x04},
                                              {25, 0x4F, 0x45, 0x05},
                                              {50, 0x4B, 0x46, 0x06},
                                              {100, 0x4C, 0x47, 0x07},
                                              {200, 0x50, 0x48, 0x08},
                                              {250, 0x4F, 0x49, 0x09},
                                              {500, 0x4E, 0x4A, 0x0A},
                                              {1000, 0x4F, 0x4B, 0x0B}}};

constexpr std::uint8_t kCountryUsa = 0x37;

}  // namespace

Egm::Egm(MachineConfig cfg, int bus, Ledger& ledger, const Clock& clock)
    : cfg_(std::move(cfg)),
      bus_(bus),
      ledger_(ledger),
      clock_(clock),
      queue_(cfg_.queue_capacity, cfg_.overflow) {
  for (const auto& [code, value] : cfg_.meters) meters_.set(code, value);
  rte_ = cfg_.rte;
}

std::uint64_t Egm::denom_cents() const {
  std::uint64_t c = cfg_.denomination < kDenomCents.size() ? kDenomCents[cfg_.denomination] : 0;
  return c == 0 ? 1 : c;
}

RaiseResult Egm::raise(std::uint8_t code, Bytes rte_data) {
  RaiseResult r;
  // A priority flag already pending absorbs the raise and leaves no ledger entry behind.
  if (std::uint64_t flag = queue_.pending_flag(code); flag != 0) {
    r.merged_into = flag;
    return r;
  }
  std::uint64_t seq = ledger_.record(bus_, cfg_.address, code, clock_.unix_ms());
  std::uint64_t in_flight = pending_ == Pending::kException ? pending_id_ : 0;
  PushResult pr = queue_.push(QueuedEvent{code, seq, std::move(rte_data)}, in_flight);
  r.seq = seq;
  if (pr.dropped) ledger_.mark_dropped(*pr.dropped);
  if (pr.overflow) raise(0x70);
  return r;
}

std::optional<RaiseResult> Egm::bill(std::uint32_t dollars) {
  for (const BillKind& b : kBills) {
    if (b.dollars != dollars) continue;
    std::uint64_t credits = dollars * 100ULL / denom_cents();
    meters_.add(meter::kBillCredits, credits);
    meters_.add(meter::kTotalDrop, credits);
    meters_.add(meter::kCurrentCredits, credits);
    meters_.add(meter::kBillsInStacker, 1);
    meters_.add(meter::kStackerValue, credits);
    meters_.add(b.meter, 1);
    bill_dollars_ += dollars;
    last_bill_denom_ = b.denom_code;
    last_bill_count_ = meters_.get(b.meter);
    RaiseResult r;
    if (rte_) {
      Bytes data{kCountryUsa, b.denom_code};
      append_bcd(data, last_bill_count_, 4);
      r = raise(0x4F, std::move(data));
    } else {
      r = raise(b.gp_code);
    }
    ledger_money(r, dollars * 100ULL, "");
    return r;
  }
  return std::nullopt;
}

RaiseResult Egm::handpay(std::uint64_t cents) {
  std::uint64_t credits = cents / denom_cents();
  meters_.add(meter::kJackpot, credits);
  meters_.add(meter::kTotalHandPaid, credits);
  if (handpays_.size() >= 20) handpays_.pop_front();
  handpays_.push_back(HandpayRecord{0x40, credits, next_handpay_id_++});
  ++handpays_awaiting_reset_;
  RaiseResult r = raise(0x51);
  ledger_money(r, credits * denom_cents(), "");
  return r;
}

RaiseResult Egm::game(std::uint64_t bet, std::uint64_t win) {
  meters_.add(meter::kCoinIn, bet);
  meters_.add(meter::kGamesPlayed, 1);
  meters_.add(meter::kGamesSincePower, 1);
  meters_.add(meter::kGamesSinceDoor, 1);
  meters_.sub(meter::kCurrentCredits, bet);
  Bytes start;
  append_bcd(start, bet, 2);
  append_bcd(start, meters_.get(meter::kCoinIn), 4);
  start.push_back(0x00);  // wager type
  start.push_back(0x00);  // progressive group
  RaiseResult r = raise(0x7E, std::move(start));
  meters_.add(meter::kCoinOut, win);
  meters_.add(meter::kTotalWon, win);
  meters_.add(win > 0 ? meter::kGamesWon : meter::kGamesLost, 1);
  meters_.add(meter::kCurrentCredits, win);
  Bytes end;
  append_bcd(end, win, 4);
  raise(0x7F, std::move(end));
  return r;
}

RaiseResult Egm::door(bool open) {
  if (open) {
    ++slot_door_opens_;
    meters_.set(meter::kGamesSinceDoor, 0);
  }
  return raise(open ? 0x11 : 0x12);
}

RaiseResult Egm::power_cycle(bool ram_clear) {
  rte_ = false;
  pending_ = Pending::kNone;
  pending_commit_ = nullptr;
  ++power_resets_;
  meters_.set(meter::kGamesSincePower, 0);
  if (ram_clear) {
    meters_.zero_all();
    bill_dollars_ = 0;
    slot_door_opens_ = 0;
    last_bill_count_ = 0;
  }
  RaiseResult r = raise(0x18);
  raise(0x17);
  if (ram_clear) raise(0x7A);
  return r;
}

Bytes Egm::event_frame(const QueuedEvent* ev) {
  Bytes f;
  f.reserve(5 + (ev ? ev->data.size() : 0));
  f.push_back(cfg_.address);
  f.push_back(0xFF);
  f.push_back(ev ? ev->code : std::uint8_t{0});
  if (ev) {
    for (std::uint8_t b : ev->data) f.push_back(b);  // (insert() trips GCC 12 -Warray-bounds)
  }
  append_crc(f);
  return f;
}

Bytes Egm::general_poll() {
  pending_commit_ = nullptr;
  if (!rom_answer_.empty() && clock_.steady_ms() >= rom_ready_at_) {
    // A signature computed in the background goes out ahead of any exception (Monaco).
    pending_ = Pending::kRom;
    pending_id_ = 0;
    return rom_answer_;
  }
  const QueuedEvent* ev = queue_.front();
  pending_ = ev ? Pending::kException : Pending::kNone;
  pending_id_ = ev ? ev->seq : 0;
  if (rte_) return event_frame(ev);
  return Bytes{ev ? ev->code : std::uint8_t{0}};
}

void Egm::implied_ack() {
  if (pending_ == Pending::kException) {
    if (queue_.remove(pending_id_)) ledger_.mark_acked(pending_id_, clock_.unix_ms());
  } else if (pending_ == Pending::kRom) {
    rom_answer_.clear();
  } else if (pending_ == Pending::kHandpay) {
    if (!handpays_.empty() && handpays_.front().id == pending_id_) handpays_.pop_front();
  } else if (pending_ == Pending::kCommit && pending_commit_) {
    auto commit = std::move(pending_commit_);
    pending_commit_ = nullptr;
    commit();
  }
  pending_ = Pending::kNone;
  pending_id_ = 0;
}

void Egm::final_nack() {
  pending_ = Pending::kNone;
  pending_id_ = 0;
  pending_commit_ = nullptr;
}

void Egm::broadcast(std::span<const std::uint8_t> frame) { (void)frame; }

std::string Egm::meters_json() const {
  std::string out;
  char buf[96];
  std::snprintf(buf, sizeof buf,
                "{\"address\":%u,\"denomination\":\"%02X\",\"denom_cents\":%llu,\"meters\":{",
                static_cast<unsigned>(cfg_.address), static_cast<unsigned>(cfg_.denomination),
                static_cast<unsigned long long>(denom_cents()));
  out = buf;
  bool first = true;
  for (const auto& [code, value] : meters_.all()) {
    std::snprintf(buf, sizeof buf, "%s\"%02X\":%llu", first ? "" : ",",
                  static_cast<unsigned>(code), static_cast<unsigned long long>(value));
    out += buf;
    first = false;
  }
  std::snprintf(buf, sizeof buf,
                "},\"bill_dollars\":%llu,\"handpays_queued\":%zu,\"queued\":%zu,\"rte\":%s}",
                static_cast<unsigned long long>(bill_dollars_), handpays_.size(),
                queue_.fifo_size() + queue_.priority_size(), rte_ ? "true" : "false");
  out += buf;
  return out;
}

}  // namespace floorgate::sim
