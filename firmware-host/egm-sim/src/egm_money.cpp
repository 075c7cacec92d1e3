// Egm: money actions (cash-out tickets, ticket in, AFT, progressives, bonuses, skims) and the
// long polls a host reads them with (sas-money.md §1-§5). Each record leaves the machine only
// when the host implied-ACKs the answer that carried it, as Monaco does.
#include <cstdio>

#include "egm.hpp"

namespace floorgate::sim {
namespace {

// Decimal digits as packed BCD (an even number of digits).
void append_digits(Bytes& out, const std::string& digits) {
  for (std::size_t i = 0; i + 1 < digits.size(); i += 2) {
    out.push_back(static_cast<std::uint8_t>(((digits[i] - '0') << 4) | (digits[i + 1] - '0')));
  }
}

std::string zero_padded(std::uint64_t v, int width) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%0*llu", width, static_cast<unsigned long long>(v));
  return buf;
}

MoneyResult refused(std::string why) { return MoneyResult{std::nullopt, std::move(why)}; }

}  // namespace

std::optional<SkimCategory> parse_skim_category(std::string_view n) {
  if (n == "bills") return SkimCategory::bills;
  if (n == "tickets_in") return SkimCategory::tickets_in;
  if (n == "tickets_out") return SkimCategory::tickets_out;
  if (n == "aft_in") return SkimCategory::aft_in;
  if (n == "aft_out") return SkimCategory::aft_out;
  if (n == "handpaid") return SkimCategory::handpaid;
  if (n == "games") return SkimCategory::games;
  if (n == "progressives") return SkimCategory::progressives;
  if (n == "bonuses") return SkimCategory::bonuses;
  return std::nullopt;
}

void Egm::ledger_money(const RaiseResult& r, std::uint64_t cents, const std::string& ident) {
  if (r.seq != 0) ledger_.set_money(r.seq, cents, ident);
}

void Egm::commit_on_ack(std::function<void()> fn) {
  pending_ = Pending::kCommit;
  pending_commit_ = std::move(fn);
}

MoneyResult Egm::cashout() {
  const std::uint64_t credits = meters_.get(meter::kCurrentCredits);
  if (credits == 0) return refused("cashout: no credits on the machine");
  if (validations_.size() >= 31) return refused("cashout: validation buffer full (31 unread)");
  const std::uint64_t cents = credits * denom_cents();
  meters_.set(meter::kCurrentCredits, 0);
  meters_.add(meter::kCancelledCredits, credits);
  meters_.add(meter::kTicketOutCents, cents);
  meters_.add(meter::kTicketOutCount, 1);
  Validation v;
  v.type = 0x00;
  // 16 digits: system ID 00 then the machine address and a running number (unique per floor).
  v.number = zero_padded(static_cast<std::uint64_t>(cfg_.address) * 10'000'000'000ULL +
                             next_validation_,
                         16);
  v.cents = cents;
  v.ticket_no = static_cast<std::uint16_t>(next_validation_ % 10000);
  v.unix_ms = clock_.unix_ms() + clock_offset_ms_;
  v.index = static_cast<std::uint8_t>((next_validation_ - 1) % 31 + 1);
  ++next_validation_;
  validations_.push_back(v);
  RaiseResult r = raise(0x3D);
  ledger_money(r, cents, v.number);
  return MoneyResult{r, {}};
}

MoneyResult Egm::ticket_in(std::uint64_t cents) {
  if (ticket_in_) return refused("ticket-in: a redemption is still in progress");
  const std::uint64_t credits = cents / denom_cents();
  if (credits == 0 || credits * denom_cents() != cents) {
    return refused("ticket-in: amount is not a multiple of the denomination");
  }
  meters_.add(meter::kTicketInCents, cents);
  meters_.add(meter::kTicketInCount, 1);
  meters_.add(meter::kCurrentCredits, credits);
  TicketIn t;
  t.number = zero_padded(900'000'000'000'000'000ULL / 10 +
                             static_cast<std::uint64_t>(cfg_.address) * 1'000'000'000ULL +
                             next_validation_++,
                         18);
  t.cents = cents;
  ticket_in_ = t;
  RaiseResult r = raise(0x67);
  ledger_money(r, cents, t.number);
  RaiseResult done = raise(0x68);
  ledger_money(done, cents, t.number);
  return MoneyResult{r, {}};
}

MoneyResult Egm::aft(AftKind kind, std::uint64_t cents) {
  const bool to_egm = kind != AftKind::out;
  if (aft_) return refused("aft: the last transfer has not been interrogated yet");
  const std::uint64_t credits = cents / denom_cents();
  if (credits == 0 || credits * denom_cents() != cents) {
    return refused("aft: amount is not a multiple of the denomination");
  }
  if (!to_egm && meters_.get(meter::kCurrentCredits) < credits) {
    return refused("aft: not enough credits on the machine");
  }
  Aft a;
  a.txid = "FG" + std::to_string(cfg_.address) + "-" + std::to_string(next_aft_++);
  a.type = static_cast<std::uint8_t>(kind);
  a.cents = cents;
  a.unix_ms = clock_.unix_ms() + clock_offset_ms_;
  if (to_egm) {
    const std::uint8_t m = kind == AftKind::debit ? meter::kAftInDebitCents : meter::kAftInCashableCents;
    meters_.add(m, cents);
    meters_.add(m + 1, 1);
    meters_.add(meter::kCurrentCredits, credits);
  } else {
    meters_.add(meter::kAftOutCashableCents, cents);
    meters_.add(meter::kAftOutCashableCents + 1, 1);
    meters_.sub(meter::kCurrentCredits, credits);
  }
  aft_ = a;
  RaiseResult r = raise(0x69);
  ledger_money(r, cents, a.txid);
  return MoneyResult{r, {}};
}

MoneyResult Egm::progressive(std::uint8_t level, std::uint64_t cents, bool sas) {
  if (level < 1 || level > 32) return refused("progressive: LEVEL must be 1..32");
  Hit h{1, level, cents};
  std::string ident = "level-" + std::to_string(level);
  if (sas) {
    // One hit at a time: a second 56 while one is pending would merge into the priority flag.
    if (!sas_hits_.empty()) return refused("progressive: a SAS progressive hit is still pending");
    sas_hits_.push_back(h);
    RaiseResult r = raise(0x56);
    ledger_money(r, cents, ident);
    return MoneyResult{r, {}};
  }
  if (machine_win_) return refused("progressive: the last win has not been read yet");
  meters_.add(meter::kMachinePaidProgressive, cents / denom_cents());
  meters_.add(meter::kCurrentCredits, cents / denom_cents());
  machine_win_ = h;
  last_machine_win_ = h;
  RaiseResult r = raise(0x54);
  ledger_money(r, cents, ident);
  return MoneyResult{r, {}};
}

MoneyResult Egm::bonus(std::uint64_t cents) {
  if (bonus_credits_) return refused("bonus: the last bonus has not been read yet");
  const std::uint64_t credits = cents / denom_cents();
  if (credits == 0 || credits * denom_cents() != cents) {
    return refused("bonus: amount is not a multiple of the denomination");
  }
  meters_.add(meter::kMachinePaidBonus, credits);
  meters_.add(meter::kCurrentCredits, credits);
  // Without RTE the host reads the award with LP 90; with RTE it rides the event.
  if (!rte_) bonus_credits_ = credits;
  Bytes data;
  if (rte_) {
    data.push_back(0x00);    // multiplier
    append_bcd(data, 0, 4);  // multiplied win
    data.push_back(0x00);    // tax status: deductible
    append_bcd(data, credits, 4);
  }
  RaiseResult r = raise(0x7C, std::move(data));
  ledger_money(r, cents, "");
  return MoneyResult{r, {}};
}

void Egm::skim(SkimCategory c, std::uint64_t amount) {
  const std::uint64_t credits = amount / denom_cents();
  switch (c) {
    case SkimCategory::bills: meters_.add(meter::kBillCredits, credits); break;
    case SkimCategory::tickets_in: meters_.add(meter::kTicketInCents, amount); break;
    case SkimCategory::tickets_out: meters_.add(meter::kTicketOutCents, amount); break;
    case SkimCategory::aft_in: meters_.add(meter::kAftInCashableCents, amount); break;
    case SkimCategory::aft_out: meters_.add(meter::kAftOutCashableCents, amount); break;
    case SkimCategory::handpaid: meters_.add(meter::kTotalHandPaid, credits); break;
    case SkimCategory::games: meters_.add(meter::kGamesPlayed, amount); break;
    case SkimCategory::progressives: meters_.add(meter::kMachinePaidProgressive, credits); break;
    case SkimCategory::bonuses: meters_.add(meter::kMachinePaidBonus, credits); break;
  }
}

void Egm::set_lacks(std::uint8_t cmd, bool lacks) {
  if (lacks) cfg_.lacks.insert(cmd);
  else cfg_.lacks.erase(cmd);
}

// LP 4D: FF peeks at the oldest unread record, 00 reads it (marked read on the implied ACK),
// 01..1F re-read a buffer index (only unread ones are kept here).
Bytes Egm::lp_4d(std::span<const std::uint8_t> frame) {
  const std::uint8_t fc = frame[2];
  if (fc > 0x1F && fc != 0xFF) return nack();
  const Validation* v = nullptr;
  if (fc == 0x00 || fc == 0xFF) {
    if (!validations_.empty()) v = &validations_.front();
  } else {
    for (const Validation& x : validations_) {
      if (x.index == fc) v = &x;
    }
  }
  Bytes f = response_start(cfg_.address, 0x4D);
  if (v == nullptr) {
    for (int i = 0; i < 31; ++i) f.push_back(0x00);
    append_crc(f);
    return f;
  }
  f.push_back(v->type);
  f.push_back(v->index);
  append_sas_datetime(f, v->unix_ms);
  append_digits(f, v->number);
  append_bcd(f, v->cents, 5);
  f.push_back(static_cast<std::uint8_t>(v->ticket_no & 0xFFU));
  f.push_back(static_cast<std::uint8_t>(v->ticket_no >> 8));
  f.push_back(0x00);       // system ID: calculated by the EGM
  append_bcd(f, 30, 4);    // expiry: 30 days
  f.push_back(0x00);       // pool ID
  f.push_back(0x00);
  append_crc(f);
  if (fc == 0x00) {
    const std::string number = v->number;
    commit_on_ack([this, number] {
      if (!validations_.empty() && validations_.front().number == number) validations_.pop_front();
    });
  }
  return f;
}

// LP 3D (standard validation): the oldest unread ticket's last 8 digits and amount. A real
// machine keeps only the latest; the simulator hands out its buffer one by one so that a host
// without LP 4D still sees every ticket.
Bytes Egm::lp_3d() {
  Bytes f = response_start(cfg_.address, 0x3D);
  if (validations_.empty()) {
    for (int i = 0; i < 9; ++i) f.push_back(0x00);
    append_crc(f);
    return f;
  }
  const Validation& v = validations_.front();
  append_digits(f, v.number.substr(v.number.size() - 8));
  append_bcd(f, v.cents, 5);
  append_crc(f);
  const std::string number = v.number;
  commit_on_ack([this, number] {
    if (!validations_.empty() && validations_.front().number == number) validations_.pop_front();
  });
  return f;
}

// LP 70: the ticket in escrow (status 00 with its data), or FF: none.
Bytes Egm::lp_70() {
  Bytes f = response_start(cfg_.address, 0x70);
  if (!ticket_in_) {
    f.push_back(0x01);
    f.push_back(0xFF);
  } else {
    f.push_back(0x10);
    f.push_back(0x00);
    append_bcd(f, ticket_in_->cents, 5);
    f.push_back(0x00);  // parsing code 00: 18 BCD digits
    append_digits(f, ticket_in_->number);
  }
  append_crc(f);
  return f;
}

// LP 71: only the status request (`71 01 FF`) is answered with data; this machine's tickets are
// authorised elsewhere, so a transfer code gets "incompatible with the current cycle" (C0).
Bytes Egm::lp_71(std::span<const std::uint8_t> frame) {
  Bytes f = response_start(cfg_.address, 0x71);
  const bool status_request = frame.size() >= 6 && frame[2] == 0x01 && frame[3] == 0xFF;
  if (!ticket_in_ || !status_request) {
    f.push_back(0x01);
    f.push_back(ticket_in_ ? 0xC0 : 0xFF);
    append_crc(f);
    return f;
  }
  f.push_back(0x10);
  f.push_back(0x00);  // cashable ticket redeemed
  append_bcd(f, ticket_in_->cents, 5);
  f.push_back(0x00);
  append_digits(f, ticket_in_->number);
  append_crc(f);
  const std::string number = ticket_in_->number;
  commit_on_ack([this, number] {
    if (ticket_in_ && ticket_in_->number == number) ticket_in_.reset();
  });
  return f;
}

// LP 72 interrogation (FF: the implied ACK moves the transfer to history; FE: status only).
Bytes Egm::lp_72(std::span<const std::uint8_t> frame) {
  Bytes f = response_start(cfg_.address, 0x72);
  const std::uint8_t code = frame.size() >= 5 ? frame[3] : 0x00;
  if (code != 0xFF && code != 0xFE) {
    f.push_back(0x02);
    f.push_back(0x00);
    f.push_back(0xC1);  // unsupported: this machine takes no transfer requests from a monitor
    append_crc(f);
    return f;
  }
  if (!aft_) {
    f.push_back(0x03);
    f.push_back(0x00);
    f.push_back(0xFF);  // no information
    f.push_back(0xFF);
    append_crc(f);
    return f;
  }
  Bytes body;
  body.reserve(80);
  body.push_back(0x00);   // history position: current
  body.push_back(0x00);   // status: full transfer successful
  body.push_back(0xFF);   // no receipt
  body.push_back(aft_->type);
  append_bcd(body, aft_->cents, 5);  // cashable
  append_bcd(body, 0, 5);            // restricted
  append_bcd(body, 0, 5);            // nonrestricted
  body.push_back(0x00);              // flags
  const std::uint32_t asset = cfg_.address;
  for (int i = 0; i < 4; ++i) body.push_back(static_cast<std::uint8_t>(asset >> (8 * i)));
  body.push_back(static_cast<std::uint8_t>(aft_->txid.size()));
  for (char c : aft_->txid) body.push_back(static_cast<std::uint8_t>(c));
  append_sas_datetime(body, aft_->unix_ms);
  append_bcd(body, 0, 4);  // expiry
  body.push_back(0x00);    // pool ID
  body.push_back(0x00);
  for (int i = 0; i < 3; ++i) body.push_back(0x00);  // cumulative meters not given
  f.push_back(static_cast<std::uint8_t>(body.size()));
  for (std::uint8_t b : body) f.push_back(b);
  append_crc(f);
  if (code == 0xFF) {
    const std::string txid = aft_->txid;
    commit_on_ack([this, txid] {
      if (aft_ && aft_->txid == txid) aft_.reset();
    });
  }
  return f;
}

// LP 84: the last machine-paid progressive win (no ACK effect on a real machine; here the
// implied ACK lets the next win be raised). LP 85: the oldest pending SAS progressive hit,
// claimed by the implied ACK; zeros when none.
Bytes Egm::lp_84_85(std::uint8_t cmd) {
  Bytes f = response_start(cfg_.address, cmd);
  const Hit* h = nullptr;
  if (cmd == 0x84 && last_machine_win_) h = &*last_machine_win_;
  if (cmd == 0x85 && !sas_hits_.empty()) h = &sas_hits_.front();
  f.push_back(h ? h->group : 0);
  f.push_back(h ? h->level : 0);
  append_bcd(f, h ? h->cents : 0, 5);
  append_crc(f);
  if (cmd == 0x85 && h) {
    commit_on_ack([this] {
      if (!sas_hits_.empty()) sas_hits_.pop_front();
    });
  } else if (cmd == 0x84 && machine_win_) {
    commit_on_ack([this] { machine_win_.reset(); });
  }
  return f;
}

// LP 90: the last legacy bonus, repeated until implied-ACKed, then zeros.
Bytes Egm::lp_90() {
  Bytes f = response_start(cfg_.address, 0x90);
  f.push_back(0x00);       // multiplier
  append_bcd(f, 0, 4);     // multiplied win
  f.push_back(0x00);       // tax status
  append_bcd(f, bonus_credits_.value_or(0), 4);
  append_crc(f);
  if (bonus_credits_) commit_on_ack([this] { bonus_credits_.reset(); });
  return f;
}

}  // namespace floorgate::sim
