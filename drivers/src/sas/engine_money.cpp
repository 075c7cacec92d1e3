// Money of the SAS engine (sas-money.md): follow-up long polls that read the record behind a
// money exception, and the events built from them (with what each adds to the reconciliation).
// Meter snapshots and the reconciliation itself are in engine_meters.cpp.
//
// Durability: a money exception (3D, 3E, 67, 68, 69, 54, 56, 7C, non-RTE 4F) carries no facts
// of its own; its record stays in the EGM until the follow-up poll's answer is implied-ACKed
// (4D 00, 71 status, 72 FF, 85, 90; 70, 84 and 48 only report the latest and never consume).
// So the follow-up is sent at once, the bus serves only that EGM until it is answered (a poll
// to another address would ACK the answer), the event built from the answer holds the bus
// until it is durable, and the resume file names the follow-up poll so a restarted gateway
// re-sends it (an implied NACK: the EGM answers the same record again).
#include <algorithm>
#include <array>
#include <ctime>

#include "floorgate/drivers/json_writer.hpp"
#include "floorgate/drivers/sas/engine.hpp"
#include "sas/egm_state.hpp"
#include "sas/tables.hpp"

namespace floorgate::drivers::sas {
namespace {

std::uint64_t bcd(std::span<const std::uint8_t> b) { return decode_bcd(b).value_or(0); }

// Packed BCD as its decimal digits (validation numbers keep their leading zeros).
std::string bcd_digits(std::span<const std::uint8_t> b) {
  std::string out;
  for (std::uint8_t x : b) {
    out.push_back(static_cast<char>('0' + ((x >> 4) & 0x0F) % 10));
    out.push_back(static_cast<char>('0' + (x & 0x0F) % 10));
  }
  return out;
}

bool all_zero(std::span<const std::uint8_t> b) {
  for (std::uint8_t x : b) {
    if (x != 0) return false;
  }
  return true;
}

// A record's date and time; nullopt when zero (pending transfers) or invalid.
std::optional<std::int64_t> egm_time(std::span<const std::uint8_t> d) {
  if (d.size() < 7 || all_zero(d)) return std::nullopt;
  return sas_time_ms(d);
}

const char* validation_kind(std::uint8_t t) {
  switch (t) {
    case 0x00: return "cashable_ticket";
    case 0x01: return "restricted_promotional_ticket";
    case 0x02: return "aft_cashable_ticket";
    case 0x03: return "aft_restricted_ticket";
    case 0x04: return "aft_debit_ticket";
    case 0x10: return "cancelled_credit_handpay_receipt";
    case 0x20: return "jackpot_handpay_receipt";
    case 0x40: return "cancelled_credit_handpay";
    case 0x60: return "jackpot_handpay";
    case 0x80: return "cashable_ticket_redeemed";
    case 0x81: return "restricted_ticket_redeemed";
    case 0x82: return "nonrestricted_ticket_redeemed";
    default: return "unknown";
  }
}

const char* redeem_status(std::uint8_t s) {
  switch (s) {
    case 0x00: return "cashable_redeemed";
    case 0x01: return "restricted_redeemed";
    case 0x02: return "nonrestricted_redeemed";
    case 0x20: return "waiting_for_authorisation";
    case 0x40: return "pending";
    case 0x80: return "rejected_by_host";
    case 0x81: return "validation_number_mismatch";
    case 0x82: return "bad_function";
    case 0x83: return "bad_amount";
    case 0x84: return "over_limit";
    case 0x85: return "not_denomination_multiple";
    case 0x86: return "amount_mismatch";
    case 0x87: return "egm_unable";
    case 0x88: return "timeout";
    case 0x89: return "link_down";
    case 0x8A: return "redemption_disabled";
    case 0x8B: return "validator_failure";
    case 0xC0: return "incompatible_with_cycle";
    default: return "no_information";
  }
}

const char* aft_type(std::uint8_t t) {
  switch (t) {
    case 0x00: return "in_house_to_egm";
    case 0x10: return "bonus_coin_out";
    case 0x11: return "bonus_jackpot";
    case 0x20: return "in_house_to_ticket";
    case 0x40: return "debit_to_egm";
    case 0x60: return "debit_to_ticket";
    case 0x80: return "in_house_to_host";
    case 0x90: return "win_to_host";
    default: return "unknown";
  }
}

const char* aft_status(std::uint8_t s) {
  switch (s) {
    case 0x00: return "full_transfer";
    case 0x01: return "partial_transfer";
    case 0x40: return "pending";
    case 0x80: return "cancelled_by_host";
    case 0x81: return "transaction_id_not_unique";
    case 0x82: return "bad_function";
    case 0x83: return "bad_amount_or_expiry";
    case 0x84: return "over_limit";
    case 0x85: return "not_denomination_multiple";
    case 0x87: return "egm_busy_or_tilted";
    case 0x88: return "not_registered";
    case 0xC0: return "transfer_in_progress";
    case 0xC1: return "unsupported";
    case 0xFF: return "no_information";
    default: return (s & 0xE0) == 0x80 ? "failed" : "other";
  }
}

// The long poll that reads an exception's record; empty when the exception has none to read.
std::vector<std::uint8_t> followup_frame(std::uint8_t addr, std::uint8_t code, bool has_data) {
  static constexpr std::uint8_t k4d[] = {0x00};
  static constexpr std::uint8_t k71[] = {0x01, 0xFF};
  static constexpr std::uint8_t k72[] = {0x02, 0xFF, 0x00};
  switch (code) {
    case 0x3D: case 0x3E: return build_lp(addr, 0x4D, k4d);
    case 0x67: return build_lp(addr, 0x70);
    case 0x68: return build_lp(addr, 0x71, k71);
    case 0x69: return build_lp(addr, 0x72, k72);
    case 0x54: return build_lp(addr, 0x84);
    case 0x56: return build_lp(addr, 0x85);
    case 0x7C: return has_data ? std::vector<std::uint8_t>{} : build_lp(addr, 0x90);
    case 0x4F: return has_data ? std::vector<std::uint8_t>{} : build_lp(addr, 0x48);
    default: return {};
  }
}

// The exception a follow-up poll belongs to when nothing else says (a restarted gateway
// re-sending the poll from its resume file).
std::uint8_t code_for_lp(std::uint8_t lp) {
  switch (lp) {
    case 0x3D: case 0x4D: return 0x3D;
    case 0x70: return 0x67;
    case 0x71: return 0x68;
    case 0x72: return 0x69;
    case 0x84: return 0x54;
    case 0x85: return 0x56;
    case 0x90: return 0x7C;
    default: return 0x4F;
  }
}

}  // namespace

bool is_followup_lp(std::uint8_t cmd) {
  switch (cmd) {
    case 0x3D: case 0x4D: case 0x70: case 0x71: case 0x72: case 0x84: case 0x85: case 0x90: case 0x48:
      return true;
    default:
      return false;
  }
}

std::vector<std::uint8_t> followup_frame_for_lp(std::uint8_t addr, std::uint8_t lp) {
  if (lp == 0x3D) return build_lp(addr, 0x3D);
  return followup_frame(addr, code_for_lp(lp), false);
}

void Engine::recon_add(std::size_t idx, ReconCategory c, std::optional<std::uint64_t> amount) {
  egms_[idx]->recon.add_event(c, amount);
}

bool Engine::start_followup(std::size_t idx, std::uint8_t code, std::span<const std::uint8_t> data,
                            std::span<const std::uint8_t> raw, bool rte, bool retry) {
  auto& e = *egms_[idx];
  auto lp = followup_frame(e.cfg.address, code, !data.empty());
  if (lp.empty()) return false;
  Followup f;
  f.code = code;
  f.lp = lp[1];
  f.rte = rte;
  f.retry = retry;
  f.raw.assign(raw.begin(), raw.end());
  e.followups.push_back(std::move(f));
  e.work.push_front({std::move(lp), 0});
  e.lp_last = false;             // the follow-up next, not a general poll,
  e.next_due = io_.steady_ms();  // at once,
  followup_hold_ = idx;          // and no other address in between
  return true;
}

void Engine::release_followup_hold(std::size_t idx) {
  if (followup_hold_ == idx && egms_[idx]->followups.empty()) followup_hold_.reset();
}

void Engine::followup_received(std::size_t idx, std::span<const std::uint8_t> f) {
  auto& e = *egms_[idx];
  const std::uint8_t lp = f[1];
  std::optional<Followup> fu;
  for (auto it = e.followups.begin(); it != e.followups.end(); ++it) {
    if (it->lp == lp) {
      fu = std::move(*it);
      e.followups.erase(it);
      break;
    }
  }
  release_followup_hold(idx);
  money_event(idx, fu ? fu->code : code_for_lp(lp), f, fu ? (fu->retry ? "retry" : nullptr)
                                                         : "resumed");
}

void Engine::followup_failed(std::size_t idx, std::uint8_t lp, const char* why) {
  auto& e = *egms_[idx];
  for (auto it = e.followups.begin(); it != e.followups.end(); ++it) {
    if (it->lp != lp) continue;
    if (lp == 0x4D && e.st.link_up) {
      // No enhanced validation on this machine: standard validation keeps only the latest
      // ticket or handpay, read with LP 3D (sas-money.md §1).
      it->lp = 0x3D;
      e.work.push_front({build_lp(e.cfg.address, 0x3D), 0});
      e.lp_last = false;
      return;
    }
    Followup fu = std::move(*it);
    e.followups.erase(it);
    ExceptionInfo info = describe_exception(fu.code);
    JsonWriter w;
    w.add("code", code_hex(fu.code));
    w.add("amount_known", false);
    w.add("followup_failed", why);
    if (fu.rte) w.add("rte", true);
    // The amount is unknown: the reconciliation cannot judge this window for the category.
    if (fu.code == 0x4F) recon_add(idx, ReconCategory::bills_in, std::nullopt);
    if (fu.code == 0x68) recon_add(idx, ReconCategory::tickets_in, std::nullopt);
    if (fu.code == 0x3D) recon_add(idx, ReconCategory::tickets_out, std::nullopt);
    if (fu.code == 0x69) {
      recon_add(idx, ReconCategory::aft_in, std::nullopt);
      recon_add(idx, ReconCategory::aft_out, std::nullopt);
    }
    if (fu.code == 0x54 || fu.code == 0x56) recon_add(idx, ReconCategory::progressives, std::nullopt);
    if (fu.code == 0x7C) recon_add(idx, ReconCategory::bonuses, std::nullopt);
    emit(idx, make_event(idx, info.type, info.cls, "sas:" + code_hex(fu.code), std::move(w).finish(),
                         fu.raw),
         true);
    break;
  }
  release_followup_hold(idx);
}

void Engine::money_event(std::size_t idx, std::uint8_t code, std::span<const std::uint8_t> f,
                         const char* note) {
  auto& e = *egms_[idx];
  const std::uint8_t lp = f[1];
  const auto denom = e.st.denomination_cents;
  ExceptionInfo info = describe_exception(code);
  std::string type = info.type;
  JsonWriter w;
  w.add("code", code_hex(code));
  std::optional<std::int64_t> ts_egm;
  switch (lp) {
    case 0x4D: {  // enhanced validation record (35 bytes)
      if (all_zero(f.subspan(2, 31))) {
        w.add("amount_known", false).add("no_record", true);
        if (code == 0x3D) recon_add(idx, ReconCategory::tickets_out, std::nullopt);
        break;
      }
      const std::uint8_t vt = f[2];
      if (vt == 0x10 || vt == 0x20 || vt == 0x40 || vt == 0x60) type = "handpay.validated";
      else if (vt >= 0x80 && vt <= 0x82) type = "ticket.redeemed";
      else type = "ticket.printed";
      const std::uint64_t cents = bcd(f.subspan(19, 5));
      w.add("validation_type", code_hex(vt)).add("validation_kind", validation_kind(vt));
      w.add("validation_number", bcd_digits(f.subspan(11, 8)));
      w.add("amount_cents", cents);
      const unsigned ticket = f[24] | (f[25] << 8);
      if (ticket != 0xFFFF) w.add("ticket_number", ticket);
      w.add("buffer_index", static_cast<unsigned>(f[3]));
      w.add("system_id", bcd(f.subspan(26, 1)));
      const std::uint64_t expiry = bcd(f.subspan(27, 4));
      if (expiry == 9999) w.add("expires", "never");
      else if (expiry > 0 && expiry < 9999) w.add("expires_after_days", expiry);
      else if (expiry > 0) w.add("expires", bcd_digits(f.subspan(27, 4)));  // MMDDYYYY
      w.add("pool_id", static_cast<unsigned>(f[31] | (f[32] << 8)));
      ts_egm = egm_time(f.subspan(4, 7));
      if (type == "ticket.printed") recon_add(idx, ReconCategory::tickets_out, cents);
      break;
    }
    case 0x3D: {  // standard validation: validation number (8 digits), amount (cents)
      const std::uint64_t cents = bcd(f.subspan(6, 5));
      if (all_zero(f.subspan(2, 9))) {
        w.add("amount_known", false).add("no_record", true);
        if (code == 0x3D) recon_add(idx, ReconCategory::tickets_out, std::nullopt);
        break;
      }
      w.add("validation_number", bcd_digits(f.subspan(2, 4)));
      w.add("amount_cents", cents);
      w.add("validation", "standard");
      if (code == 0x3D) recon_add(idx, ReconCategory::tickets_out, cents);
      break;
    }
    case 0x70: {  // ticket in escrow
      const std::uint8_t status = f[3];
      w.add("status", status == 0x00 ? "in_escrow" : "no_ticket");
      if (status == 0x00 && f[2] >= 0x10) {
        const std::uint64_t cents = bcd(f.subspan(4, 5));
        if (cents > 0) w.add("amount_cents", cents);
        else w.add("amount_known", false);  // machines may not know it before validation
        w.add("parsing_code", static_cast<unsigned>(f[9]));
        w.add("validation_number", bcd_digits(f.subspan(10, 9)));
      } else {
        w.add("amount_known", false);
      }
      break;
    }
    case 0x71: {  // redemption status
      const std::uint8_t status = f[3];
      const bool redeemed = status <= 0x02;
      w.add("status", redeem_status(status)).add("status_code", code_hex(status));
      w.add("redeemed", redeemed);
      if (f[2] >= 0x10) {
        const std::uint64_t cents = bcd(f.subspan(4, 5));
        w.add("amount_cents", cents);
        w.add("parsing_code", static_cast<unsigned>(f[9]));
        w.add("validation_number", bcd_digits(f.subspan(10, 9)));
        if (redeemed) recon_add(idx, ReconCategory::tickets_in, cents);
      } else {
        w.add("amount_known", false);
        if (status != 0xFF) recon_add(idx, ReconCategory::tickets_in, std::nullopt);
      }
      break;
    }
    case 0x72: {  // AFT interrogation
      const std::size_t len = f[2];
      const std::uint8_t status = f[4];
      w.add("status", aft_status(status)).add("status_code", code_hex(status));
      if (len < 0x16 || f.size() < 3 + len + 2) {
        w.add("amount_known", false);
        recon_add(idx, ReconCategory::aft_in, std::nullopt);
        recon_add(idx, ReconCategory::aft_out, std::nullopt);
        break;
      }
      const std::uint8_t t = f[6];
      const std::uint64_t cash = bcd(f.subspan(7, 5)), restr = bcd(f.subspan(12, 5)),
                          nonr = bcd(f.subspan(17, 5));
      w.add("transfer_type", aft_type(t)).add("transfer_type_code", code_hex(t));
      w.add("cashable_cents", cash).add("restricted_cents", restr).add("nonrestricted_cents", nonr);
      w.add("amount_cents", cash + restr + nonr);
      const bool done = (status & 0xE0) == 0x00;
      w.add("completed", done);
      const char* direction = t >= 0x80 ? "to_host" : (t == 0x20 || t == 0x60) ? "to_ticket" : "to_egm";
      w.add("direction", direction);
      w.add("asset_number", static_cast<std::uint64_t>(f[23]) | (static_cast<std::uint64_t>(f[24]) << 8) |
                                (static_cast<std::uint64_t>(f[25]) << 16) |
                                (static_cast<std::uint64_t>(f[26]) << 24));
      w.add("receipt_status", code_hex(f[5]));
      const std::size_t id_len = f[27];
      if (28 + id_len <= 3 + len) {
        w.add("transaction_id",
              std::string(f.begin() + 28, f.begin() + 28 + static_cast<std::ptrdiff_t>(id_len)));
        if (28 + id_len + 7 <= 3 + len) ts_egm = egm_time(f.subspan(28 + id_len, 7));
      }
      // In-house (00) and debit (40) transfers to the machine move A0/A2/A4 and A6; in-house
      // to the host (80) moves B8/BA/BC. A win paid to the host (90) has no meter of its own in
      // the references: the window that holds one is not judged rather than judged wrongly.
      // A bonus transfer (10, 11) may move the machine-paid bonus meter 1E (its external
      // bonus total), so the window is not judged for `bonuses`; to-ticket transfers (20, 60)
      // touch no category here.
      if (done && (t == 0x00 || t == 0x40)) recon_add(idx, ReconCategory::aft_in, cash + restr + nonr);
      if (done && t == 0x80) recon_add(idx, ReconCategory::aft_out, cash + restr + nonr);
      if (done && t == 0x90) recon_add(idx, ReconCategory::aft_out, std::nullopt);
      if (done && (t == 0x10 || t == 0x11)) recon_add(idx, ReconCategory::bonuses, std::nullopt);
      break;
    }
    case 0x84: case 0x85: {  // progressive win / SAS progressive hit
      const std::uint64_t cents = bcd(f.subspan(4, 5));
      const unsigned level = f[3];
      const bool known = cents != 0 && level >= 1 && level <= 0x20;
      if (!known) {
        w.add("amount_known", false);
      } else {
        w.add("group", static_cast<unsigned>(f[2])).add("level", level).add("amount_cents", cents);
      }
      std::array<std::uint8_t, 7> body{};
      std::copy_n(f.begin() + 2, body.size(), body.begin());
      if (lp == 0x84) {
        // Machine-paid: meter 1D counts it in credits, so an amount that is not a whole number
        // of credits cannot be compared to the cent. LP 84 answers with the last win only: the
        // same answer twice in a window may be two wins read after the second (not judged).
        const bool whole = known && denom && *denom > 0 && cents % *denom == 0;
        const bool again = e.recon_last_win == body;
        e.recon_last_win = body;
        recon_add(idx, ReconCategory::progressives,
                  whole && !again ? std::optional(cents) : std::nullopt);
      } else if (std::any_of(body.begin(), body.end(), [](std::uint8_t b) { return b != 0; })) {
        // A SAS level the machine claims on this answer's ACK and pays as it decides (to the
        // credit meter, or as a handpay), now or a little later: not judged in this window
        // or the next.
        recon_add(idx, ReconCategory::progressives, std::nullopt);
        e.recon_claim_windows = 1;
      }
      break;
    }
    case 0x90: case 0xFF: {  // legacy bonus: LP 90 body, or the RTE 7C payload (same layout)
      const std::size_t at = lp == 0x90 ? 2 : 3;
      const std::uint64_t mult_win = bcd(f.subspan(at + 1, 4)), bonus = bcd(f.subspan(at + 6, 4));
      const std::uint8_t tax = f[at + 5];
      w.add("multiplier", static_cast<unsigned>(f[at]));
      w.add("multiplied_win_credits", mult_win);
      w.add("tax_status", tax == 0 ? "deductible" : tax == 1 ? "non_deductible" : "wager_match");
      w.add("bonus_credits", bonus);
      if (bonus == 0 && mult_win == 0) w.add("amount_known", false);
      else if (denom) w.add("amount_cents", bonus * *denom);
      // Meter 1E counts the bonus in credits. A multiplied win (multiplier non-zero) pays more
      // than the bonus field, metered where the references do not say: not judged.
      const bool judged = bonus != 0 && f[at] == 0 && mult_win == 0 && denom;
      recon_add(idx, ReconCategory::bonuses,
                judged ? std::optional(bonus * *denom) : std::nullopt);
      break;
    }
    case 0x48: {  // last bill accepted
      auto country = decode_bcd(f.subspan(2, 1));
      auto d = decode_bcd(f.subspan(3, 1));
      auto dollars = d ? rte_bill_dollars(static_cast<std::uint8_t>(*d)) : std::nullopt;
      if (dollars) w.add("value_cents", static_cast<std::uint64_t>(*dollars) * 100);
      else w.add("value_known", false);
      w.add("currency", bill_currency(country ? static_cast<std::uint8_t>((*country / 10) * 16 +
                                                                          *country % 10)
                                              : 0));
      w.add("bill_count", bcd(f.subspan(4, 4)));
      w.add("value_source", "lp48");
      recon_add(idx, ReconCategory::bills_in,
                dollars ? std::optional<std::uint64_t>(*dollars * 100ULL) : std::nullopt);
      break;
    }
    default:
      break;
  }
  if (note) w.add(note, true);
  Event ev = make_event(idx, std::move(type), EventClass::financial,
                        "sas:" + code_hex(code) + "+lp" + code_hex(lp).substr(2), std::move(w).finish(), f);
  ev.ts_egm_ms = ts_egm;
  emit(idx, std::move(ev), true);
}

}  // namespace floorgate::drivers::sas
