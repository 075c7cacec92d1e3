// Meters of the SAS engine (sas.md §11, sas-money.md §7): snapshots read with the stepdown
// 6F -> 2F -> single-meter polls, and the reconciliation of each settled snapshot against the
// money events reported since the last one (docs/reconciliation.md). The money events and their
// follow-up long polls are in engine_money.cpp.
#include <algorithm>
#include <array>
#include <chrono>

#include "floorgate/drivers/json_writer.hpp"
#include "floorgate/drivers/sas/engine.hpp"
#include "sas/egm_state.hpp"
#include "sas/tables.hpp"

namespace floorgate::drivers::sas {
namespace {

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

bool is_meter_lp(std::uint8_t cmd) {
  return cmd == 0x6F || cmd == 0x2F || meter_for_single_lp(cmd) != 0xFF;
}

// ---- meters: stepdown ------------------------------------------------------------------

void Engine::queue_meters(std::size_t idx, const char* trigger, bool reset) {
  auto& e = *egms_[idx];
  if (reset) {
    e.reset_pending = true;
    e.recon.reset();
  }
  // The period counts from the last periodic (or link-up) snapshot only. A snapshot an event
  // triggered settles only if its machine goes quiet soon after the event (see
  // snapshot_waits_for_quiet_poll): letting it restart the count once starved the
  // reconciliation of a machine whose doors close more often than its meter period
  // (docs/reconciliation.md).
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
  e.snap_wait_since.reset();
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

// A snapshot settles only if the general poll before its first meter poll was quiet. One that
// an event triggered (a door closed, a handpay reset, power applied) is queued by the general
// poll that reported the event: sent at once it could never settle, and the reconciliation of
// a machine would wait for its next periodic snapshot. So its first meter poll waits for a
// general poll that answers "no activity", for at most kSnapshotQuietWaitMs from the first
// general poll sent in its place (a machine that keeps reporting still gets its snapshot,
// unsettled). The same holds for a periodic snapshot that falls due while events flow.
bool Engine::snapshot_waits_for_quiet_poll(const EgmState& e, std::int64_t now) const {
  if (e.snap_outstanding == 0 || e.snap_started || e.last_gp_quiet) return false;
  const auto& front = e.work.front().frame;
  if (front.size() < 2 || !is_meter_lp(front[1])) return false;
  return !e.snap_wait_since || now - *e.snap_wait_since < kSnapshotQuietWaitMs;
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
  const auto waited = e.snap_wait_since;  // the next step's first poll does not wait anew
  queue_meters(idx, trigger.c_str(), false);
  e.snap_wait_since = waited;
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
  e.recon_trigger = e.snap_trigger;
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
  w.add("trigger", e.recon_trigger);  // of the snapshot that closed the window
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
