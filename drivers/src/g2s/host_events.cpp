// g2s::Host: eventHandler (subscriptions, eventReport -> dedupe -> sink -> eventAck after
// on_durable, backfill from the event log) and meters (subscriptions, meterInfo ->
// meters.snapshot, meterInfoAck after on_durable for end-of-day pushes).
#include <algorithm>
#include <charconv>
#include <limits>

#include "floorgate/drivers/json_writer.hpp"
#include "g2s/commands.hpp"
#include "g2s/event_map.hpp"
#include "g2s/host_impl.hpp"

namespace floorgate::drivers::g2s {
namespace {

std::int64_t to_i64(const std::string& s) {
  std::int64_t v = 0;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  return r.ec == std::errc() ? v : 0;
}

}  // namespace

void Host::Impl::remember(EgmLink& e, const Key& k) {
  if (!e.seen.insert(k).second) return;
  e.seen_order.push_back(k);
  if (e.seen_order.size() > kSeenCap) {
    e.seen.erase(e.seen_order.front());
    e.seen_order.pop_front();
  }
}

void Host::Impl::subscribe_all(EgmLink& e) {
  e.supported.clear();
  e.sub_check_session = 0;
  e.st.subscriptions = "unknown";
  e.st.missing_events.clear();
  e.st.clock_set_error.clear();  // each link-up may try setDateTime once more
  // With subscribe_all_events the subscription is built from the supportedEvents answer
  // (on_supported_events); otherwise the v1 list goes out now and is checked right after.
  e.supported_session = send(e, "eventHandler", "G2S_request", cmd::get_supported_events());
  if (!cfg.subscribe_all_events) {
    send(e, "eventHandler", "G2S_request", cmd::set_event_sub(false, v1_event_codes()));
  }
  send(e, "meters", "G2S_request", cmd::set_meter_sub_eod(cfg.meter_classes));
  send(e, "meters", "G2S_request",
       cmd::set_meter_sub_periodic(cfg.meter_classes,
                                   std::max<std::int64_t>(60000, cfg.meter_period.count())));
  send(e, "meters", "G2S_request", cmd::get_meter_info(cfg.meter_classes));
  send(e, "eventHandler", "G2S_request", cmd::get_event_handler_log());
  // What the EGM looks like now: a door already open or a disabled cabinet is otherwise
  // invisible until it changes.
  e.cabinet_status_wanted = true;
  send(e, "cabinet", "G2S_request", cmd::get_cabinet_status(), 0, "1");
  send(e, "communications", "G2S_request", cmd::get_descriptor());
  maybe_set_clock(e);
}

void Host::Impl::send_event_ack(EgmLink& e, std::int64_t event_id, std::int64_t session_id) {
  ++e.st.acks_sent;
  send(e, "eventHandler", "G2S_response", cmd::event_ack(event_id),
       session_id);
}

void Host::Impl::on_event_handler(EgmLink& e, const Element& cls, const Element& cmd,
                                  const std::string& raw) {
  if (cmd.name == "eventReport") return on_event_report(e, cls, cmd, raw, false);
  if (cmd.name == "eventHandlerLogList") return on_log_list(e, cmd);
  if (cmd.name == "supportedEvents") return on_supported_events(e, cmd);
  if (cmd.name == "eventSubList" && e.sub_check_session != 0 &&
      std::atoll(cls.attr_or("sessionId", "0").c_str()) == e.sub_check_session) {
    return check_subscriptions(e, cmd);
  }
  // setEventSubAck, and the eventSubList some EGMs answer setEventSub with: informational.
}

void Host::Impl::on_event_report(EgmLink& e, const Element& cls, const Element& report,
                                 const std::string& raw, bool backfill) {
  std::int64_t event_id = to_i64(report.attr_or("eventId"));
  Key key{event_id, report.attr_or("eventDateTime")};
  std::int64_t session_id = backfill ? 0 : to_i64(cls.attr_or("sessionId"));
  if (!backfill) {
    ++e.st.events_received;
    if (e.first_live_id == 0) e.first_live_id = event_id;
  }
  if (event_id <= 0 || report.attr_or("eventCode").empty()) {
    ++e.st.rejected;
    return;
  }
  if (e.seen.count(key)) {
    ++e.st.duplicates;
    if (!backfill) send_event_ack(e, event_id, session_id);
    return;
  }
  if (auto it = e.pending.find(key); it != e.pending.end()) {
    ++e.st.duplicates;
    if (!backfill) {
      it->second.session_id = session_id;
      it->second.ack_wanted = true;
    }
    return;
  }
  if (!backfill && event_id < e.max_event_id && !e.failed_ids.count(event_id)) {
    // eventIds restarted (RAM/NVRAM clear): new events, not duplicates; tell consumers. (Not
    // the resend of one the store failed to commit, which may come after later ones.)
    JsonWriter w;
    w.add("previous_max_event_id", e.max_event_id).add("event_id", event_id);
    emit_own(e, "egm.event_log_reset", EventClass::security, "g2s:eventHandler",
             std::move(w).finish());
  }
  if (!backfill || event_id > e.max_event_id) e.max_event_id = event_id;
  Event ev = map_event(report, raw);
  ev.egm = e.cfg.id;
  ev.ts_gw_ms = now_ms();
  // Live money events are reconciled in commit order (the sink completes in submission
  // order); one from the log arrives after later ones and is left out.
  std::optional<MoneyReading> money;
  if (!backfill) money = money_reading(report);
  e.pending[key] = PendingEvent{session_id, cls.attr_or("deviceId"), !backfill};
  sink.submit(std::move(ev), [weak = weak_from_this(), ep = &e, key, generation = e.generation,
                              money = std::move(money)](std::error_code ec, std::uint64_t) {
    auto self = weak.lock();
    if (!self || self->stopped) return;
    auto it = ep->pending.find(key);
    if (it == ep->pending.end()) return;
    PendingEvent p = it->second;
    ep->pending.erase(it);
    if (ec) {
      ++ep->st.post_failures;  // not durable: no ack, the EGM keeps it and resends
      self->commit_failed(*ep, key.first, money.has_value());
      return;
    }
    ++ep->st.events_committed;
    self->remember(*ep, key);
    const bool resent = ep->failed_ids.erase(key.first) > 0;
    if (money && generation == ep->generation) {
      // A resend comes after later events, with older meters: judge nothing across it.
      if (resent) self->restart_reconciliation(*ep);
      else self->reconcile(*ep, *money, key.first);
    }
    if (p.ack_wanted && ep->handshaken) self->send_event_ack(*ep, key.first, p.session_id);
  });
}

void Host::Impl::reconcile(EgmLink& e, const MoneyReading& m, std::int64_t event_id) {
  const auto c = static_cast<std::size_t>(m.category);
  Reconciler& r = e.recon[c];
  r.add_event(m.category, m.amount_mc);
  if (!m.meter_mc) return;  // the window stays open until an event carries the meters
  if (m.meter_names != e.recon_meters[c]) {
    r.reset();
    e.recon_meters[c] = m.meter_names;
  }
  std::array<std::optional<MeterReading>, kReconCategories> readings{};
  readings[c] = MeterReading{*m.meter_mc, 0};
  const ReconResult res = r.settle(readings, now_ms());
  if (res.baseline) return;
  ++e.st.reconciliations;
  for (const ReconLine& l : res.lines) publish_window(e, res, l, m.meter_names, event_id);
  notify(e);
}

void Host::Impl::publish_window(EgmLink& e, const ReconResult& res, const ReconLine& l,
                                const std::string& meters, std::int64_t event_id) {
  auto window = [&](JsonWriter& w) {
    w.add("window_start_ms", res.window_start_ms).add("window_ms", res.window_ms);
    w.add("event_id", event_id).add("meters", meters);
  };
  JsonWriter line;
  line.add("meter_delta", l.meter_delta).add("event_sum", l.event_sum);
  line.add("difference", l.difference).add("unit", "millicents");
  if (l.amount_unknown) line.add("amount_unknown", true);
  line.add("ok", !l.mismatch);
  JsonWriter cats;
  cats.add_raw(to_string(l.category), std::move(line).finish());
  JsonWriter w;
  window(w);
  w.add("mismatches", static_cast<std::uint64_t>(l.mismatch ? 1 : 0));
  w.add_raw("categories", std::move(cats).finish());
  emit_own(e, "meters.reconciled", EventClass::financial, "g2s:reconcile", std::move(w).finish());
  if (!l.mismatch) return;
  JsonWriter mm;
  mm.add("category", to_string(l.category));
  mm.add("meter_delta", l.meter_delta).add("event_sum", l.event_sum);
  mm.add("difference", l.difference).add("unit", "millicents");
  window(mm);
  emit_own(e, "reconciliation.mismatch", EventClass::financial, "g2s:reconcile",
           std::move(mm).finish());
  ++e.st.reconciliation_mismatches;
  e.st.last_mismatch = std::string(to_string(l.category)) + ": meters " +
                       std::to_string(l.meter_delta) + ", events " +
                       std::to_string(l.event_sum) + " (millicents)";
}

void Host::Impl::restart_reconciliation(EgmLink& e) {
  for (auto& r : e.recon) r = Reconciler{};
}

void Host::Impl::commit_failed(EgmLink& e, std::int64_t event_id, bool money) {
  if (money) restart_reconciliation(e);
  if (e.failed_ids.size() >= 1024) e.failed_ids.clear();  // resends that never came
  e.failed_ids.insert(event_id);
}

void Host::Impl::on_log_list(EgmLink& e, const Element& list) {
  std::vector<const Element*> entries;
  std::int64_t max_seq = 0;
  for (const auto& c : list.children) {
    if (c.name != "eventHandlerLog") continue;
    entries.push_back(&c);
    max_seq = std::max(max_seq, to_i64(c.attr_or("logSequence")));
  }
  std::sort(entries.begin(), entries.end(), [](const Element* a, const Element* b) {
    return to_i64(a->attr_or("logSequence")) < to_i64(b->attr_or("logSequence"));
  });
  if (max_seq < e.max_log_sequence) {
    JsonWriter w;
    w.add("previous_max_log_sequence", e.max_log_sequence).add("log_sequence", max_seq);
    emit_own(e, "egm.event_log_reset", EventClass::security, "g2s:eventHandlerLog",
             std::move(w).finish());
  }
  e.max_log_sequence = max_seq;
  e.backfill.clear();
  for (const Element* entry : entries) {
    if (!entry->flag("eventAck")) e.backfill.push_back(*entry);
  }
  if (e.backfill.empty()) return;
  arm_backfill(e);
}

void Host::Impl::arm_backfill(EgmLink& e) {
  arm(e, *e.backfill_timer, e.backfill_due_ms, cfg.backfill_delay, &Impl::run_backfill);
}

// The EGM sends its persistent queue in eventId order, so an unacked log entry below the
// first live report of this association is not in that queue and would never arrive: take
// it from the log. Entries above it are (or may be) still queued and arrive live.
void Host::Impl::run_backfill(EgmLink& e) {
  auto entries = std::move(e.backfill);
  e.backfill.clear();
  std::vector<Element> wanted;
  std::vector<SeenKey> keys;
  std::int64_t oldest_ms = std::numeric_limits<std::int64_t>::max();
  for (Element& entry : entries) {
    Key key{to_i64(entry.attr_or("eventId")), entry.attr_or("eventDateTime")};
    if (e.first_live_id != 0 && key.first >= e.first_live_id) continue;
    if (e.seen.count(key) || e.pending.count(key)) {
      ++e.st.duplicates;
      continue;
    }
    // An unreadable time looks back over everything the store keeps.
    oldest_ms = std::min(oldest_ms, parse_date_time(key.second).value_or(0));
    keys.push_back({key.first, key.second});
    wanted.push_back(std::move(entry));
  }
  if (wanted.empty()) return;
  if (!cfg.stored_keys) return backfill_entries(e, wanted, {});
  // The host stamped a stored event at least when the EGM raised it, give or take the EGM's
  // clock: look back a day before the oldest entry.
  constexpr std::int64_t kClockSlackMs = 24LL * 3600 * 1000;
  const auto since = oldest_ms > kClockSlackMs ? oldest_ms - kClockSlackMs : 0;
  cfg.stored_keys(e.cfg.id, std::move(keys), since,
                  [weak = weak_from_this(), ep = &e, generation = e.generation,
                   wanted = std::move(wanted)](std::vector<SeenKey> found) {
                    auto self = weak.lock();
                    if (!self || self->stopped || ep->generation != generation) return;
                    self->backfill_entries(*ep, wanted, found);
                  });
}

// Stores the log entries whose keys are neither `stored` nor known by now.
void Host::Impl::backfill_entries(EgmLink& e, const std::vector<Element>& entries,
                                  const std::vector<SeenKey>& stored) {
  Element none;
  for (const auto& k : stored) remember(e, Key{k.event_id, k.event_dt});
  for (const Element& entry : entries) {
    Key key{to_i64(entry.attr_or("eventId")), entry.attr_or("eventDateTime")};
    // A live report may have come while the store was asked: what it and later ones cover
    // arrives live, with its details (and its money reading).
    if (e.first_live_id != 0 && key.first >= e.first_live_id) continue;
    if (e.seen.count(key) || e.pending.count(key)) {
      ++e.st.duplicates;
      continue;
    }
    on_event_report(e, none, entry, {}, true);
  }
}

void Host::Impl::on_meters(EgmLink& e, const Element& cls, const Element& cmd) {
  if (cmd.name != "meterInfo") return;  // meterSubList: informational
  bool needs_ack = cls.attr_or("sessionType") == "G2S_request";
  std::int64_t session_id = to_i64(cls.attr_or("sessionId"));
  std::string dt = cmd.attr_or("meterDateTime"), type = cmd.attr_or("meterInfoType");
  Key key{-1, type + "@" + dt};
  auto ack = [this, &e, session_id, dt, type] {
    ++e.st.acks_sent;
    send(e, "meters", "G2S_response",
         cmd::meter_info_ack(dt, type), session_id);
  };
  if (needs_ack && e.seen.count(key)) {
    ++e.st.duplicates;
    return ack();
  }
  if (needs_ack && e.pending.count(key)) {
    ++e.st.duplicates;
    return;
  }
  auto events = map_meter_info(cmd);
  struct Batch {
    std::size_t remaining;
    bool failed = false;
  };
  auto batch = std::make_shared<Batch>(Batch{events.size()});
  if (needs_ack) e.pending[key] = PendingEvent{session_id, cls.attr_or("deviceId"), true};
  for (auto& ev : events) {
    ev.egm = e.cfg.id;
    ev.ts_gw_ms = now_ms();
    sink.submit(std::move(ev), [weak = weak_from_this(), ep = &e, batch, key, needs_ack, ack](
                                   std::error_code ec, std::uint64_t) {
      auto self = weak.lock();
      if (!self || self->stopped) return;
      if (ec) batch->failed = true;
      if (--batch->remaining > 0 || !needs_ack) return;
      ep->pending.erase(key);
      if (batch->failed) return;
      self->remember(*ep, key);
      if (ep->handshaken) ack();
    });
  }
}

namespace {
// The string value of "key": in a, searched only before `limit`; nullopt when absent, or when
// it holds an escape (the stored text would not equal what the EGM sent).
std::optional<std::string_view> string_attr(std::string_view a, std::string_view key,
                                            std::size_t limit) {
  std::string pat = "\"" + std::string(key) + "\":\"";
  auto pos = a.substr(0, limit).find(pat);
  if (pos == std::string_view::npos) return std::nullopt;
  auto start = pos + pat.size();
  auto end = a.find('"', start);
  if (end == std::string_view::npos) return std::nullopt;
  auto v = a.substr(start, end - start);
  if (v.find('\\') != std::string_view::npos) return std::nullopt;
  return v;
}

// The integer value of "key": before `limit`, or 0.
std::int64_t int_attr(std::string_view a, std::string_view key, std::size_t limit) {
  std::string pat = "\"" + std::string(key) + "\":";
  auto pos = a.substr(0, limit).find(pat);
  std::int64_t v = 0;
  if (pos != std::string_view::npos) std::from_chars(a.data() + pos + pat.size(), a.data() + a.size(), v);
  return v;
}

struct EodPart {
  std::string key;  // "G2S_onEOD@<meterDateTime>", as on_meters keys it
  std::int64_t part = 0, parts = 0;
};

// One part of an end-of-day meters.snapshot (attrs written by map_meter_info).
std::optional<EodPart> eod_part_from_attrs(std::string_view a) {
  auto meters = a.find("\"meters\":");  // meter names are not searched
  auto type = string_attr(a, "meter_info_type", meters);
  if (!type || *type != "G2S_onEOD") return std::nullopt;
  auto dt = string_attr(a, "meter_dt", meters);
  if (!dt) return std::nullopt;
  EodPart p{std::string(*type) + "@" + std::string(*dt), int_attr(a, "part", meters),
            int_attr(a, "parts", meters)};
  if (p.parts <= 0 || p.part <= 0 || p.part > p.parts) return std::nullopt;
  return p;
}
}  // namespace

void SeenKeys::add(std::string_view attrs_json) {
  if (auto p = eod_part_from_attrs(attrs_json)) {
    auto& e = eod_[p->key];
    if (e.parts != 0 && e.parts != p->parts) e.parts = -1;  // inconsistent: never complete
    else if (e.parts == 0) e.parts = p->parts;
    e.seen.insert(p->part);
    return;
  }
  if (auto k = seen_key_from_attrs(attrs_json)) events_.push_back(std::move(*k));
}

std::vector<SeenKey> SeenKeys::keys() const {
  std::vector<SeenKey> out = events_;
  for (const auto& [key, e] : eod_) {
    if (e.parts > 0 && e.seen.size() == static_cast<std::size_t>(e.parts)) out.push_back({-1, key});
  }
  return out;
}

std::optional<SeenKey> seen_key_from_attrs(std::string_view a) {
  auto id_pos = a.find("\"event_id\":");
  auto dt_pos = a.find("\"event_dt\":\"");
  if (id_pos == std::string_view::npos || dt_pos == std::string_view::npos) return std::nullopt;
  SeenKey k;
  auto p = a.data() + id_pos + 11;
  auto r = std::from_chars(p, a.data() + a.size(), k.event_id);
  if (r.ec != std::errc()) return std::nullopt;
  auto start = dt_pos + 12;
  auto end = a.find('"', start);
  if (end == std::string_view::npos) return std::nullopt;
  k.event_dt = std::string(a.substr(start, end - start));
  return k;
}

}  // namespace floorgate::drivers::g2s
