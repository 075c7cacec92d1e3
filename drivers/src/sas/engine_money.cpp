// Money of the SAS engine (sas-money.md): follow-up long polls that read the record behind a
// money exception, the events built from them, meter stepdown and reconciliation.
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

// Single-meter long polls (sas.md §11.2) by meter code.
std::uint8_t single_meter_lp(std::uint8_t code) {
  switch (code) {
    case 0x00: return 0x11;
    case 0x01: return 0x12;
    case 0x02: return 0x14;
    case 0x04: return 0x10;
    case 0x05: return 0x15;
    case 0x06: return 0x16;
    case 0x07: return 0x17;
    case 0x0B: return 0x46;
    case 0x0C: return 0x1A;
    case 0x24: return 0x13;
    default: return 0;
  }
}

// The meter a single-meter long poll answers (the inverse of single_meter_lp); 0xFF if none.
// A switch, not a search: it runs for every long poll the engine sends.
std::uint8_t meter_for_single_lp(std::uint8_t lp) {
  switch (lp) {
    case 0x11: return 0x00;
    case 0x12: return 0x01;
    case 0x14: return 0x02;
    case 0x10: return 0x04;
    case 0x15: return 0x05;
    case 0x16: return 0x06;
    case 0x17: return 0x07;
    case 0x46: return 0x0B;
    case 0x1A: return 0x0C;
    case 0x13: return 0x24;
    default: return 0xFF;
  }
}

const char* step_name(MeterStep s) {
  switch (s) {
    case MeterStep::lp6f: return "6f";
    case MeterStep::lp2f: return "2f";
    case MeterStep::single: return "single";
    case MeterStep::none: return "none";
  }
  return "none";
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

bool is_meter_lp(std::uint8_t cmd) {
  return cmd == 0x6F || cmd == 0x2F || meter_for_single_lp(cmd) != 0xFF;
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

// ---- meters: stepdown ------------------------------------------------------------------

void Engine::queue_meters(std::size_t idx, const char* trigger, bool reset) {
  auto& e = *egms_[idx];
  if (reset) {
    e.reset_pending = true;
    e.recon.reset();
  }
  // The period counts from the last periodic (or link-up) snapshot only. A snapshot an event
  // triggered follows the general poll that reported the event, so it cannot settle: letting it
  // restart the count starved the reconciliation of a machine whose doors close more often
  // than its meter period (docs/reconciliation.md).
  const std::string_view why(trigger);
  if (why == "periodic" || why == "link_up") {
    e.next_meter = io_.steady_ms() + std::chrono::milliseconds(e.cfg.meter_period).count();
  }
  if (e.snap_outstanding > 0) {
    // One snapshot at a time: the queued one carries this trigger (and the reset flag) too.
    if (e.snap_trigger.find(trigger) == std::string::npos) e.snap_trigger += std::string(",") + trigger;
    return;
  }
  if (e.meter_step == MeterStep::none) {
    // Everything failed last time: start the stepdown over (the machine may have been fixed).
    e.meter_step = MeterStep::lp6f;
  }
  e.snap.clear();
  e.snap_trigger = trigger;
  e.snap_started = false;
  e.snap_quiet = false;
  e.recon_wait_gp = false;
  const std::uint8_t a = e.cfg.address;
  const auto codes = std::span(e.meter_codes);
  if (e.meter_step == MeterStep::lp6f || e.meter_step == MeterStep::lp2f) {
    const std::size_t per = e.meter_step == MeterStep::lp6f ? 12 : 10;
    for (std::size_t i = 0; i < codes.size(); i += per) {
      auto part = codes.subspan(i, std::min(per, codes.size() - i));
      e.work.push_back({e.meter_step == MeterStep::lp6f ? build_lp6f(a, part) : build_lp2f(a, part), 0});
      ++e.snap_outstanding;
    }
  } else {
    for (std::uint8_t c : codes) {
      if (std::uint8_t lp = single_meter_lp(c)) {
        e.work.push_back({build_lp(a, lp), 0});
        ++e.snap_outstanding;
      }
    }
    if (e.snap_outstanding == 0) {
      e.meter_step = MeterStep::none;  // none of the configured meters has a single poll
      finish_snapshot(idx);
    }
  }
}

void Engine::meter_poll_failed(std::size_t idx, const std::vector<std::uint8_t>& frame) {
  auto& e = *egms_[idx];
  if (e.snap_outstanding == 0) return;
  if (!e.st.link_up) {
    if (--e.snap_outstanding == 0) finish_snapshot(idx);
    return;
  }
  // The machine answers other polls but not this one (3 exchanges): it does not support it.
  // Drop the snapshot's other polls of this step and take the next step.
  const std::uint8_t cmd = frame[1];
  if (cmd == 0x6F && e.meter_step == MeterStep::lp6f) e.meter_step = MeterStep::lp2f;
  else if (cmd == 0x2F && e.meter_step == MeterStep::lp2f) e.meter_step = MeterStep::single;
  else if (e.meter_step == MeterStep::single) e.meter_step = MeterStep::none;
  for (auto it = e.work.begin(); it != e.work.end();) {
    if (it->frame.size() >= 2 && is_meter_lp(it->frame[1])) it = e.work.erase(it);
    else ++it;
  }
  const std::string trigger = e.snap_trigger;
  e.snap_outstanding = 0;
  if (e.meter_step == MeterStep::none) {
    finish_snapshot(idx);
    return;
  }
  e.snap.clear();
  queue_meters(idx, trigger.c_str(), false);
}

void Engine::meters_received(std::size_t idx, std::span<const std::uint8_t> f) {
  auto& e = *egms_[idx];
  const std::uint8_t cmd = f[1];
  if (cmd == 0x2F || cmd == 0x6F || cmd == 0xAF) {
    const std::size_t end = std::min<std::size_t>(3 + f[2], f.size() - 2);
    for (std::size_t i = 5; i < end;) {
      std::uint16_t code = f[i];
      std::size_t size = 0;
      std::size_t at = i + 1;
      if (cmd == 0x2F) {
        size = meter_size_2f(f[i]);
      } else {
        if (i + 2 >= end) break;
        code = static_cast<std::uint16_t>(f[i] | (f[i + 1] << 8));
        size = f[i + 2];
        at = i + 3;
      }
      if (at + size > end || size > 9) break;
      if (size > 0 && code <= 0xFF) {
        if (auto v = decode_bcd(f.subspan(at, size))) {
          e.snap[static_cast<std::uint8_t>(code)] = MeterValue{*v, size, cmd == 0x2F ? "2f" : "6f"};
        }
      }
      i = at + size;
    }
  } else {
    const std::uint8_t code = meter_for_single_lp(cmd);
    if (code != 0xFF && f.size() >= 8) {
      if (auto v = decode_bcd(f.subspan(2, 4))) e.snap[code] = MeterValue{*v, 4, "single"};
    }
  }
  if (e.snap_outstanding > 0 && --e.snap_outstanding == 0) finish_snapshot(idx);
}

namespace {

std::uint64_t pow100(std::size_t n) {
  std::uint64_t m = 1;
  for (std::size_t i = 0; i < n; ++i) m *= 100;
  return m;
}

}  // namespace

void Engine::finish_snapshot(std::size_t idx) {
  auto& e = *egms_[idx];
  if (e.snap.empty()) {
    if (e.meter_step == MeterStep::none && !e.unreadable_reported) {
      // No meter poll this machine answers: nobody could reconcile its money. Say so once
      // per excursion (cleared by the next readable snapshot).
      e.unreadable_reported = true;
      e.st.meters_unreadable = true;
      e.st.meter_poll = "none";
      JsonWriter w;
      w.add("tried", "6f,2f,single").add("trigger", e.snap_trigger);
      emit(idx, make_event(idx, "meters.unreadable", EventClass::fault, "sas:meters",
                           std::move(w).finish(), {}),
           false);
      notify_status(idx);
    }
    return;
  }
  bool any_reset = e.reset_pending;
  const char* poll = step_name(e.meter_step);
  JsonWriter w;
  w.add("trigger", e.snap_trigger);
  w.open("meters");
  for (const auto& [code, mv] : e.snap) {
    const std::string name = meter_name(code);
    const char* unit = meter_unit(code);
    w.open(name);
    w.add("code", code_hex(code));
    w.add("value", mv.value);
    w.add("unit", unit);
    w.add("poll", mv.poll);
    auto prev = e.last_meters.find(code);
    if (prev != e.last_meters.end() && !e.reset_pending) {
      std::uint64_t mod = pow100(mv.size);
      if (mv.value >= prev->second) {
        w.add("delta", mv.value - prev->second);
      } else if (prev->second - mv.value > mod / 2) {
        w.add("delta", mv.value + mod - prev->second);  // BCD rollover
        w.add("rollover", true);
      } else {
        w.add("reset_detected", true);  // backwards jump: not a rollover
        any_reset = true;
      }
    }
    w.close();
    e.last_meters[code] = mv.value;
    e.st.meters[name] = mv.value;
    e.st.meter_units[name] = unit;
  }
  w.close();
  if (any_reset) e.recon.reset();
  w.add("reset", any_reset);
  w.add("poll", poll);
  if (e.st.denomination_cents) w.add("denomination_cents", *e.st.denomination_cents);
  e.reset_pending = false;
  e.unreadable_reported = false;
  const bool status_changed = e.st.meters_unreadable || e.st.meter_poll != poll;
  e.st.meters_unreadable = false;
  e.st.meter_poll = poll;
  if (status_changed) notify_status(idx);
  emit(idx, make_event(idx, "meters.snapshot", EventClass::financial, std::string("sas:lp") + poll,
                       std::move(w).finish(), {}),
       false);

  // Readings for the reconciliation, in cents (credit meters need the denomination).
  auto value = [&](std::uint8_t code) -> std::optional<MeterValue> {
    auto it = e.snap.find(code);
    if (it == e.snap.end()) return std::nullopt;
    return it->second;
  };
  auto reading = [&](std::initializer_list<std::uint8_t> codes, std::uint64_t scale)
      -> std::optional<MeterReading> {
    MeterReading r;
    bool any = false;
    for (std::uint8_t c : codes) {
      auto v = value(c);
      if (!v) continue;
      any = true;
      // A 9-byte meter times a denomination may not fit: then the category is not read.
      std::uint64_t cents = 0;
      if (__builtin_mul_overflow(v->value, scale, &cents) ||
          __builtin_add_overflow(r.value, cents, &r.value) ||
          __builtin_mul_overflow(pow100(v->size), scale, &r.modulus)) {
        return std::nullopt;
      }
      // (parts of one category share their size, so the modulus of any is the category's)
    }
    if (!any || scale == 0) return std::nullopt;
    return r;
  };
  const std::uint64_t d = e.st.denomination_cents.value_or(0);
  e.recon_readings = {};
  auto& rr = e.recon_readings;
  rr[static_cast<std::size_t>(ReconCategory::bills_in)] = reading({0x0B}, d);
  rr[static_cast<std::size_t>(ReconCategory::tickets_in)] = reading({0x0D, 0x0F}, 1);
  rr[static_cast<std::size_t>(ReconCategory::tickets_out)] = reading({0x0E, 0x10}, 1);
  rr[static_cast<std::size_t>(ReconCategory::aft_in)] = reading({0xA0, 0xA2, 0xA4, 0xA6}, 1);
  rr[static_cast<std::size_t>(ReconCategory::aft_out)] = reading({0xB8, 0xBA, 0xBC}, 1);
  rr[static_cast<std::size_t>(ReconCategory::handpaid)] = reading({0x23}, d);
  rr[static_cast<std::size_t>(ReconCategory::games)] = reading({0x05}, 1);
  rr[static_cast<std::size_t>(ReconCategory::progressives)] = reading({0x1D}, d);
  rr[static_cast<std::size_t>(ReconCategory::bonuses)] = reading({0x1E}, d);
  // Settled only if nothing was reported from just before the first meter poll to just after
  // the last one: wait for the next general poll's answer.
  e.recon_wait_gp = e.snap_started && e.snap_quiet;
  e.snap.clear();
}

// ---- reconciliation ---------------------------------------------------------------------

void Engine::general_poll_answered(std::size_t idx, bool quiet) {
  auto& e = *egms_[idx];
  e.last_gp_quiet = quiet;
  if (!quiet) {
    e.snap_quiet = false;
    e.recon_wait_gp = false;  // an event after the read: this snapshot does not settle
    return;
  }
  if (e.recon_wait_gp) {
    e.recon_wait_gp = false;
    settle_reconciliation(idx);
  }
  if (e.overflow_resync) {
    // After a 0x70 the meters are read once the machine has nothing left to report: read
    // earlier, each of its long polls would take the place of a general poll while its queue
    // is still full (on an overloaded floor, a snapshot per overflow drained the queues more
    // slowly still), and the window would not settle anyway while events arrive.
    e.overflow_resync = false;
    queue_meters(idx, "exception_overflow", false);
  }
}

void Engine::settle_reconciliation(std::size_t idx) {
  auto& e = *egms_[idx];
  const std::int64_t now = io_.wall_ms();
  ReconResult r = e.recon.settle(e.recon_readings, now);
  e.recon_last_win.reset();
  if (e.recon_claim_windows > 0) {
    --e.recon_claim_windows;
    recon_add(idx, ReconCategory::progressives, std::nullopt);  // a claimed level, paid late
  }
  if (r.baseline) return;
  ++e.st.reconciliations;
  JsonWriter cats;
  std::vector<const ReconLine*> bad;
  for (const ReconLine& l : r.lines) {
    JsonWriter c;
    c.add("meter_delta", l.meter_delta).add("event_sum", l.event_sum).add("difference", l.difference);
    c.add("unit", l.category == ReconCategory::games ? "count" : "cents");
    if (l.amount_unknown) c.add("amount_unknown", true);
    if (l.rollover) c.add("rollover", true);
    c.add("ok", !l.mismatch);
    cats.add_raw(to_string(l.category), std::move(c).finish());
    if (l.mismatch) bad.push_back(&l);
  }
  JsonWriter w;
  w.add("window_start_ms", r.window_start_ms).add("window_ms", r.window_ms);
  w.add("tolerance_cents", e.cfg.reconcile_tolerance_cents);
  w.add("mismatches", static_cast<std::uint64_t>(bad.size()));
  w.add_raw("categories", std::move(cats).finish());
  emit(idx, make_event(idx, "meters.reconciled", EventClass::financial, "sas:reconcile",
                       std::move(w).finish(), {}),
       false);
  for (const ReconLine* l : bad) {
    JsonWriter m;
    m.add("category", to_string(l->category));
    m.add("meter_delta", l->meter_delta).add("event_sum", l->event_sum).add("difference", l->difference);
    m.add("unit", l->category == ReconCategory::games ? "count" : "cents");
    m.add("window_start_ms", r.window_start_ms).add("window_ms", r.window_ms);
    m.add("tolerance_cents", e.cfg.reconcile_tolerance_cents);
    emit(idx, make_event(idx, "reconciliation.mismatch", EventClass::financial, "sas:reconcile",
                         std::move(m).finish(), {}),
         false);
    ++e.st.reconciliation_mismatches;
    e.st.last_mismatch = std::string(to_string(l->category)) + ": meters " +
                         std::to_string(l->meter_delta) + ", events " +
                         std::to_string(l->event_sum) +
                         (l->category == ReconCategory::games ? "" : " (cents)");
  }
  notify_status(idx);
}

}  // namespace floorgate::drivers::sas
