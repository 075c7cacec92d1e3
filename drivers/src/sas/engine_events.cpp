// Events, identification, handpay and meters of the SAS engine.
#include <ctime>

#include "floorgate/drivers/json_writer.hpp"
#include "floorgate/drivers/sas/engine.hpp"
#include "sas/egm_state.hpp"
#include "sas/tables.hpp"

namespace floorgate::drivers::sas {
namespace {

std::string hex(std::span<const std::uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (std::uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0x0F]);
  }
  return out;
}

std::uint64_t bcd_or_zero(std::span<const std::uint8_t> b) { return decode_bcd(b).value_or(0); }

// Takes the first queued long poll with this command out of the machine's work; false if none.
bool take_work(std::deque<Work>& work, std::uint8_t cmd) {
  for (auto it = work.begin(); it != work.end(); ++it) {
    if (it->frame.size() > 1 && it->frame[1] == cmd) {
      work.erase(it);
      return true;
    }
  }
  return false;
}

}  // namespace

Event Engine::make_event(std::size_t idx, std::string type, EventClass cls, std::string source,
                         std::string attrs, std::span<const std::uint8_t> raw) {
  Event ev;
  ev.egm = egms_[idx]->cfg.id;
  ev.type = std::move(type);
  ev.cls = cls;
  ev.ts_gw_ms = io_.wall_ms();
  ev.source = std::move(source);
  ev.attrs_json = std::move(attrs);
  ev.raw_hex = hex(raw);
  return ev;
}

void Engine::emit(std::size_t idx, Event ev, bool blocks) {
  auto& e = *egms_[idx];
  e.st.events++;
  e.st.last_event_ms = ev.ts_gw_ms;
  if (blocks) ++blocked_;
  submit(idx, std::move(ev), blocks);
}

void Engine::submit(std::size_t idx, Event ev, bool blocks) {
  std::weak_ptr<int> alive = alive_;
  Event copy = ev;
  io_.submit(std::move(copy), [this, alive, idx, ev = std::move(ev), blocks](
                                  std::error_code ec, std::uint64_t) mutable {
    if (alive.expired() || !running_) return;
    if (ec) {
      // Not durable: keep the EGM's item unacknowledged (the bus stays held) and retry later.
      resubmits_.push_back({io_.steady_ms() + cfg_.submit_retry.count(), idx, std::move(ev), blocks});
    } else if (blocks) {
      --blocked_;
    }
    pump();
    if (io_.rearm) io_.rearm();
  });
}

void Engine::handle_exception_code(std::size_t idx, std::uint8_t code,
                                   std::span<const std::uint8_t> data,
                                   std::span<const std::uint8_t> raw, bool rte, bool retry) {
  auto& e = *egms_[idx];
  general_poll_answered(idx, false);  // something happened: no settled meter read around it
  if (start_followup(idx, code, data, raw, rte, retry)) return;  // the event comes with its record
  if (code == 0x7C) {
    money_event(idx, code, raw, retry ? "retry" : nullptr);  // RTE: the award rides the event
    return;
  }
  if (code == 0x51) {
    // The amount comes from LP 1B; handpay.pending is emitted from its answer.
    e.handpay_reads = 20;
    e.handpay_reported = false;
    // A 0x51 at link-up, ahead of the identification's reads: this LP 1B is its start-up
    // check too, and its LP 1F (the denomination) goes first, so that a record in credits
    // is reported in cents (found by drivers/fuzz/sas_engine_fuzz).
    if (e.handpay_startup_check && take_work(e.work, 0x1B)) e.handpay_startup_check = false;
    e.work.push_front({build_lp(e.cfg.address, 0x1B), 0});
    if (!e.st.denomination_cents && take_work(e.work, 0x1F)) {
      e.work.push_front({build_lp(e.cfg.address, 0x1F), 0});
    }
    e.lp_last = false;            // LP 1B (or 1F, then 1B) next, not a general poll,
    e.next_due = io_.steady_ms();  // at once,
    followup_hold_ = idx;           // and no other address in between
    return;
  }
  ExceptionInfo info = describe_exception(code);
  JsonWriter w;
  w.add("code", code_hex(code));
  if (info.attr_key) w.add(info.attr_key, info.attr_value);
  if (code >= 0x98 && code <= 0x9B) w.add("while_powered_off", true);
  if (auto dollars = bill_code_dollars(code)) {
    w.add("value_cents", static_cast<std::uint64_t>(*dollars) * 100);
    w.add("currency", "USD");
    recon_add(idx, ReconCategory::bills_in, static_cast<std::uint64_t>(*dollars) * 100);
  }
  if (code == 0x4F) {
    if (rte && data.size() >= 6) {
      auto country = decode_bcd(data.subspan(0, 1));
      auto denom = decode_bcd(data.subspan(1, 1));
      auto dollars = denom ? rte_bill_dollars(static_cast<std::uint8_t>(*denom)) : std::nullopt;
      if (dollars) w.add("value_cents", static_cast<std::uint64_t>(*dollars) * 100);
      recon_add(idx, ReconCategory::bills_in,
                dollars ? std::optional<std::uint64_t>(*dollars * 100ULL) : std::nullopt);
      w.add("currency", bill_currency(country ? static_cast<std::uint8_t>(
                                                   (*country / 10) * 16 + *country % 10)
                                              : 0));
      w.add("bill_count", bcd_or_zero(data.subspan(2, 4)));
    } else {
      w.add("value_known", false);
    }
  }
  if (rte && code == 0x7E && data.size() >= 8) {
    w.add("wager_credits", bcd_or_zero(data.subspan(0, 2)));
    w.add("coin_in_credits", bcd_or_zero(data.subspan(2, 4)));
  }
  if (rte && code == 0x7F && data.size() >= 4) w.add("win_credits", bcd_or_zero(data.subspan(0, 4)));
  if (code == 0x7F) recon_add(idx, ReconCategory::games, 1);
  if (code == 0x70) w.add("possible_gap", true);
  if (retry) w.add("retry", true);
  if (rte) w.add("rte", true);
  emit(idx, make_event(idx, info.type, info.cls, "sas:" + code_hex(code), std::move(w).finish(), raw),
       true);
  // Follow-ups: meters resync, re-identification.
  if (is_meter_reset_code(code)) queue_meters(idx, "meter_reset", true);
  else if (code == 0x17) queue_meters(idx, "power_applied", false);
  else if (code == 0x70) egms_[idx]->overflow_resync = true;  // see general_poll_answered
  else if (code == 0x52) queue_meters(idx, "handpay_reset", false);
  else if (std::string_view(info.type) == "door.closed") queue_meters(idx, "door_closed", false);
  if (code == 0x3C) queue_identification(idx);
}

void Engine::queue_identification(std::size_t idx) {
  auto& e = *egms_[idx];
  const std::uint8_t a = e.cfg.address;
  e.next_ident = io_.steady_ms() + 5000;
  e.work.push_back({build_lp(a, 0x54), 0});
  e.work.push_back({build_lp(a, 0x1F), 0});
  // A handpay whose 0x51 was acknowledged before a crash is only visible through LP 1B.
  e.handpay_startup_check = true;
  e.work.push_back({build_lp(a, 0x1B), 0});
  e.work.push_back({build_lp(a, 0x7E), 0});  // the EGM's clock
  e.next_clock = io_.steady_ms() + e.cfg.clock_period.count() * 1000;
  // RTE is always set, never assumed: an EGM keeps the mode an earlier host left it in. Before
  // the meters: their first poll may wait for a quiet general poll (a machine that powers up
  // reports for a while), and the mode should not wait with it.
  queue_rte_mode(idx, false);
  queue_meters(idx, "link_up", false);
  if (e.cfg.rom_check_period.count() > 0) {
    queue_rom_check(idx, "link_up");
    e.next_rom = io_.steady_ms() + e.cfg.rom_check_period.count() * 1000;
  }
}

void Engine::queue_rte_mode(std::size_t idx, bool first) {
  auto& e = *egms_[idx];
  const std::uint8_t on = e.cfg.real_time_events ? 0x01 : 0x00;
  Work w{build_lp(e.cfg.address, 0x0E, std::span(&on, 1)), 0};
  for (const auto& q : e.work) {
    if (q.frame == w.frame) return;  // already on its way
  }
  if (first) e.work.push_front(std::move(w));
  else e.work.push_back(std::move(w));
}

void Engine::work_abandoned(std::size_t idx, const std::vector<std::uint8_t>& frame) {
  if (frame.size() >= 2 && is_meter_lp(frame[1])) meter_poll_failed(idx, frame);
  if (frame.size() >= 2 && is_followup_lp(frame[1])) followup_failed(idx, frame[1], "no_answer");
  if (frame.size() >= 2 && frame[1] == 0x1B) handle_handpay(idx, {});
  if (frame.size() >= 2 && frame[1] == 0x21) rom_failed(idx, "no answer to LP 21");
}

void Engine::handle_lp_data(std::size_t idx, std::span<const std::uint8_t> f) {
  auto& e = *egms_[idx];
  switch (f[1]) {
    case 0x54: {
      std::size_t len = f[2];
      if (len < 3 || f.size() < 5 + len) return;
      std::string version(f.begin() + 3, f.begin() + 6);
      std::string serial(f.begin() + 6, f.begin() + 3 + static_cast<std::ptrdiff_t>(len));
      if (version != e.st.sas_version || serial != e.st.serial) {
        e.st.sas_version = version;
        e.st.serial = serial;
        notify_status(idx);
      }
      return;
    }
    case 0x1F: {
      auto cents = denomination_cents(f[7]);
      if (cents != e.st.denomination_cents) {
        e.st.denomination_cents = cents;
        notify_status(idx);
      }
      if (followup_hold_ == idx) {
        // Read ahead of a handpay's LP 1B (handle_exception_code): that follows at once.
        e.lp_last = false;
        e.next_due = io_.steady_ms();
      }
      return;
    }
    case 0x2F: case 0x6F: case 0xAF:
      meters_received(idx, f);
      return;
    case 0x3D: case 0x4D: case 0x70: case 0x71: case 0x72: case 0x84: case 0x85: case 0x90:
    case 0x48:
      followup_received(idx, f);
      return;
    case 0x1B:
      handle_handpay(idx, f);
      return;
    case 0x7E:
      clock_received(idx, f);
      return;
    case 0x21:
      rom_received(idx, f);
      return;
    default:
      if (is_meter_lp(f[1])) meters_received(idx, f);  // single-meter polls (stepdown)
      return;
  }
}

void Engine::handle_handpay(std::size_t idx, std::span<const std::uint8_t> f) {
  auto& e = *egms_[idx];
  release_followup_hold(idx);  // answered (or abandoned): the bus is free
  bool startup = e.handpay_startup_check;
  e.handpay_startup_check = false;
  bool empty = true;
  for (std::size_t i = 2; i + 2 < f.size(); ++i) empty = empty && f[i] == 0;
  if (f.size() < 24 || empty) {
    // 0x51 was seen but no record could be read: still report the handpay, amount unknown.
    if (e.handpay_reads > 0 && !e.handpay_reported && !startup) {
      recon_add(idx, ReconCategory::handpaid, std::nullopt);
      JsonWriter w;
      w.add("code", "0x51");
      w.add("amount_known", false);
      emit(idx, make_event(idx, "handpay.pending", EventClass::financial, "sas:0x51",
                           std::move(w).finish(), f),
           true);
    }
    e.handpay_reads = 0;
    return;
  }
  std::uint8_t level = f[3];
  std::uint64_t amount = bcd_or_zero(f.subspan(4, 5));
  JsonWriter w;
  w.add("code", "0x51");
  w.add("level", static_cast<unsigned>(level));
  bool progressive = level >= 0x01 && level <= 0x20;
  w.add("kind", progressive ? "progressive" : level == 0x80 ? "cancelled_credits" : "non_progressive");
  w.add("amount_raw", amount);
  w.add("amount_unit", progressive ? "cents" : "credits");
  w.add("group", static_cast<unsigned>(f[2]));
  std::optional<std::uint64_t> cents;
  if (progressive) cents = amount;
  else if (e.st.denomination_cents) cents = amount * *e.st.denomination_cents;
  if (cents) w.add("amount_cents", *cents);
  recon_add(idx, ReconCategory::handpaid, cents);
  w.add("partial_pay_credits", bcd_or_zero(f.subspan(9, 2)));
  w.add("reset_id", static_cast<unsigned>(f[11]));
  if (startup) w.add("startup_check", true);
  emit(idx, make_event(idx, "handpay.pending", EventClass::financial, "sas:0x51",
                       std::move(w).finish(), f),
       true);
  e.handpay_reported = true;
  // More may be queued: read 1B again; the filler rule puts a different poll in between.
  if (--e.handpay_reads > 0 || startup) {
    e.handpay_reads = std::max(e.handpay_reads, 1);
    e.work.push_front({build_lp(e.cfg.address, 0x1B), 0});
  }
}

namespace {

std::vector<std::uint8_t> sas_time_bytes(std::int64_t wall_ms) {
  std::time_t t = static_cast<std::time_t>(wall_ms / 1000);
  std::tm tm{};
  localtime_r(&t, &tm);
  std::vector<std::uint8_t> d;
  auto bcd = [&](unsigned v, std::size_t n) {
    auto b = encode_bcd(v, n);
    d.insert(d.end(), b.begin(), b.end());
  };
  bcd(static_cast<unsigned>(tm.tm_mon + 1), 1);
  bcd(static_cast<unsigned>(tm.tm_mday), 1);
  bcd(static_cast<unsigned>(tm.tm_year + 1900), 2);
  bcd(static_cast<unsigned>(tm.tm_hour), 1);
  bcd(static_cast<unsigned>(tm.tm_min), 1);
  bcd(static_cast<unsigned>(tm.tm_sec), 1);
  return d;
}

}  // namespace

// LP 7E/7F, 4D and 72 date and time: MMDDYYYY HHMMSS in BCD, the EGM's local time.
std::optional<std::int64_t> sas_time_ms(std::span<const std::uint8_t> d) {
  auto mon = decode_bcd(d.subspan(0, 1)), day = decode_bcd(d.subspan(1, 1));
  auto year = decode_bcd(d.subspan(2, 2)), hour = decode_bcd(d.subspan(4, 1));
  auto min = decode_bcd(d.subspan(5, 1)), sec = decode_bcd(d.subspan(6, 1));
  if (!mon || !day || !year || !hour || !min || !sec || *mon < 1 || *mon > 12 || *day < 1 ||
      *day > 31 || *hour > 23 || *min > 59 || *sec > 60) {
    return std::nullopt;
  }
  std::tm tm{};
  tm.tm_year = static_cast<int>(*year) - 1900;
  tm.tm_mon = static_cast<int>(*mon) - 1;
  tm.tm_mday = static_cast<int>(*day);
  tm.tm_hour = static_cast<int>(*hour);
  tm.tm_min = static_cast<int>(*min);
  tm.tm_sec = static_cast<int>(*sec);
  tm.tm_isdst = -1;
  std::time_t t = std::mktime(&tm);
  if (t == static_cast<std::time_t>(-1)) return std::nullopt;
  return static_cast<std::int64_t>(t) * 1000;
}

void Engine::clock_received(std::size_t idx, std::span<const std::uint8_t> f) {
  auto& e = *egms_[idx];
  if (f.size() < 11) return;
  auto egm_ms = sas_time_ms(f.subspan(2, 7));
  if (!egm_ms) return;
  const std::int64_t wall = io_.wall_ms();
  const std::int64_t drift = *egm_ms - (wall / 1000) * 1000;  // the EGM has whole seconds
  e.st.clock_drift_ms = drift;
  notify_status(idx);
  const std::int64_t off = drift < 0 ? -drift : drift;
  if (!e.clock_alarmed && off > kClockAlarmMs) {
    // Once per excursion: events carry the gateway's time, but the EGM prints its own on
    // tickets and handpay slips, which then disagree with the floor's records.
    e.clock_alarmed = true;
    JsonWriter w;
    w.add("drift_ms", drift).add("will_set", e.cfg.set_clock && !e.clock_set_sent);
    emit(idx, make_event(idx, "egm.clock_drift", EventClass::fault, "sas:lp7e",
                         std::move(w).finish(), f),
         false);
  } else if (e.clock_alarmed && off < kClockAlarmMs / 2) {
    e.clock_alarmed = false;
  }
  if (e.cfg.set_clock && off > kClockSetMs && !e.clock_set_sent) {
    e.clock_set_sent = true;
    auto d = sas_time_bytes(io_.wall_ms());
    // At the front, the set and then its read-back: the time is stamped now, and every poll
    // queued ahead of it (at link-up the meters, the RTE mode, a ROM check) would make it
    // older when it arrives, by more than kClockSetMs at a 200 ms poll period.
    e.work.push_front({build_lp(e.cfg.address, 0x7E), 0});
    e.work.push_front({build_lp(e.cfg.address, 0x7F, std::span(d)), 0});
  } else {
    e.clock_set_sent = false;
  }
}

}  // namespace floorgate::drivers::sas
