#include "g2s/event_map.hpp"

#include <algorithm>
#include <array>
#include <initializer_list>
#include <charconv>

#include "floorgate/drivers/json_writer.hpp"

namespace floorgate::drivers::g2s {
namespace {

using C = EventClass;

struct Row {
  std::string_view code;
  CodeInfo info;
};

constexpr std::array kCodes = {
    Row{"G2S_CBE301", {"attendant.called", C::operational, {}}},
    Row{"G2S_CBE302", {"attendant.cancelled", C::operational, {}}},
    Row{"G2S_CBE303", {"door.opened", C::security, "logic"}},
    Row{"G2S_CBE304", {"door.closed", C::security, "logic"}},
    Row{"G2S_CBE305", {"door.opened", C::security, "aux"}},
    Row{"G2S_CBE306", {"door.closed", C::security, "aux"}},
    Row{"G2S_CBE307", {"door.opened", C::security, "main"}},
    Row{"G2S_CBE308", {"door.closed", C::security, "main"}},
    Row{"G2S_CBE317", {"door.opened", C::security, "logic", true}},
    Row{"G2S_CBE318", {"door.opened", C::security, "aux", true}},
    Row{"G2S_CBE319", {"door.opened", C::security, "main", true}},
    Row{"G2S_NAE112", {"door.opened", C::security, "drop"}},
    Row{"G2S_NAE113", {"door.closed", C::security, "drop"}},
    Row{"G2S_NAE118", {"door.opened", C::security, "drop", true}},
    Row{"G2S_CBE309", {"tilt.general", C::fault, {}}},
    Row{"G2S_CBE310", {"tilt.display", C::fault, {}}},
    Row{"G2S_CBE311", {"egm.memory_error", C::fault, {}}},
    Row{"G2S_CBE313", {"tilt.cleared", C::fault, {}}},
    Row{"G2S_CBE315", {"egm.clock_changed", C::operational, {}}},
    Row{"G2S_CBE316", {"egm.cashout_pressed", C::operational, {}}},
    Row{"G2S_CBE321", {"egm.nvram_cleared", C::security, {}}},
    Row{"G2S_CBE322", {"egm.nvram_cleared", C::security, {}}},
    Row{"G2S_CBE324", {"power.lost", C::fault, {}}},
    Row{"G2S_CBE325", {"power.applied", C::operational, {}}},
    Row{"G2S_NAE114", {"bill.stacked", C::financial, {}}},
    Row{"G2S_NAE115", {"ticket.stacked", C::financial, {}}},
    Row{"G2S_NAE116", {"bill.escrowed", C::operational, {}}},
    Row{"G2S_NAE101", {"bill.acceptor_failure", C::fault, {}}},
    Row{"G2S_NAE103", {"bill.stacker_removed", C::security, {}}},
    Row{"G2S_NAE105", {"bill.stacker_full", C::fault, {}}},
    Row{"G2S_NAE106", {"bill.jam", C::fault, {}}},
    Row{"G2S_NAE107", {"bill.acceptor_failure", C::fault, {}}},
    Row{"G2S_NAE108", {"bill.returned", C::operational, {}}},
    Row{"G2S_NAE110", {"bill.rejected", C::operational, {}}},
    Row{"G2S_NAE901", {"bill.acceptor_offline", C::fault, {}}},
    Row{"G2S_NAE902", {"bill.acceptor_online", C::fault, {}}},
    Row{"G2S_VCE103", {"ticket.printed", C::financial, {}}},
    Row{"G2S_VCE108", {"ticket.redeemed", C::financial, {}}},
    Row{"G2S_VCE109", {"ticket.rejected", C::financial, {}}},
    Row{"G2S_BNE104", {"bonus.awarded", C::financial, {}}},
    Row{"G2S_PGE102", {"progressive.hit", C::financial, {}}},
    Row{"G2S_PGE104", {"progressive.win", C::financial, {}}},
    Row{"G2S_JPE101", {"handpay.pending", C::financial, {}}},
    Row{"G2S_JPE102", {"handpay.acknowledged", C::financial, {}}},
    Row{"G2S_JPE104", {"handpay.reset", C::financial, {}}},
    Row{"G2S_JPE105", {"handpay.reset_acknowledged", C::financial, {}}},
    Row{"G2S_GPE103", {"game.started", C::telemetry, {}}},
    Row{"G2S_GPE105", {"game.ended", C::telemetry, {}}},
    Row{"G2S_GPE112", {"game.ended", C::telemetry, {}}},
    Row{"G2S_PTE205", {"printer.paper_jam", C::fault, {}}},
    Row{"G2S_PTE206", {"printer.paper_low", C::fault, {}}},
    Row{"G2S_PTE207", {"printer.paper_empty", C::fault, {}}},
    Row{"G2S_PTE901", {"printer.offline", C::fault, {}}},
    Row{"G2S_PTE902", {"printer.online", C::fault, {}}},
    Row{"G2S_EHE102", {"egm.exception_overflow", C::fault, {}}},
    Row{"G2S_EHE103", {"egm.exception_overflow_cleared", C::fault, {}}},
    Row{"G2S_MTE100", {"meters.subscription_set", C::telemetry, {}}},
    Row{"G2S_MTE101", {"meters.subscription_cleared", C::telemetry, {}}},
};

std::int64_t to_i64(std::string_view s, std::int64_t def = 0) {
  std::int64_t v = def;
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  return r.ec == std::errc() && r.ptr == s.data() + s.size() ? v : def;
}

// Depth-first search for the first element carrying attribute `a`.
const Element* find_with_attr(const Element& e, std::string_view a) {
  if (e.attr(a)) return &e;
  for (const auto& c : e.children) {
    if (const auto* f = find_with_attr(c, a)) return f;
  }
  return nullptr;
}

void add_money(JsonWriter& w, std::string_view cents_key, std::string_view mc_key,
               std::int64_t millicents) {
  w.add(cents_key, millicents / 1000);
  w.add(mc_key, millicents);
}

std::string handpay_kind(std::string_view t) {
  if (t == "G2S_cancelCredit") return "cancel_credit";
  if (t == "G2S_gameWin") return "jackpot";
  if (t == "G2S_bonusPay") return "bonus";
  return t.empty() ? "unknown" : std::string(t);
}

// Amounts and meters above this (ten billion dollars, in millicents) are not believed: window
// sums of them stay far inside 64 bits.
constexpr std::int64_t kMaxMoneyMc = 1'000'000'000'000'000;

// A money attribute: a whole number of millicents within 0..kMaxMoneyMc; an absent attribute
// is 0; anything else is nullopt.
std::optional<std::int64_t> money_attr(const Element& e, const std::string& name) {
  const std::string v = e.attr_or(name);
  if (v.empty()) return 0;
  const std::int64_t mc = to_i64(v, -1);
  if (mc < 0 || mc > kMaxMoneyMc) return std::nullopt;
  return mc;
}

// The sum of `names` on `e` (each checked before adding); nullopt when one is unbelievable.
std::optional<std::int64_t> money_sum(const Element& e, std::initializer_list<std::string> names) {
  std::int64_t sum = 0;
  for (const auto& n : names) {
    auto v = money_attr(e, n);
    if (!v) return std::nullopt;
    sum += *v;
  }
  return sum;
}

// A handpayLog's amount (g2s-money.md §2): what the key-off paid once keyed off (JPE104), else
// what was requested; `cashableAmt` etc. as older logs name them. nullopt: not believed.
std::optional<std::int64_t> handpay_amount(const Element& h, bool keyed_off) {
  std::optional<std::int64_t> mc = 0;
  if (keyed_off) mc = money_sum(h, {"keyOffCashableAmt", "keyOffPromoAmt", "keyOffNonCashAmt"});
  if (mc == 0) mc = money_sum(h, {"requestCashableAmt", "requestPromoAmt", "requestNonCashAmt"});
  if (mc == 0) mc = money_sum(h, {"cashableAmt", "promoAmt", "nonCashAmt"});
  return mc;
}

// A voucherLog's amount (g2s-money.md §1): issued, or what a redemption transferred.
std::optional<std::int64_t> voucher_amount(const Element& v, bool redeemed) {
  const bool transfer = redeemed && !v.attr_or("transferAmt").empty();
  return money_attr(v, transfer ? "transferAmt" : "voucherAmt");
}

// Collects simpleMeter children of one meter group into the writer.
void add_meters(const Element& group, std::string_view prefix, JsonWriter& w) {
  for (const auto& m : group.children) {
    if (m.name != "simpleMeter") continue;
    w.add(std::string(prefix) + m.attr_or("meterName"), to_i64(m.attr_or("meterValue")));
  }
}

}  // namespace

CodeInfo lookup_code(std::string_view code) {
  for (const auto& r : kCodes) {
    if (r.code == code) return r.info;
  }
  if (code.starts_with("G2S_CME")) return {"egm.comms", C::operational, {}};
  return {"g2s.event", C::operational, {}};
}

const std::vector<std::string_view>& v1_event_codes() {
  static const std::vector<std::string_view> codes = [] {
    std::vector<std::string_view> v;
    for (const auto& r : kCodes) v.push_back(r.code);
    return v;
  }();
  return codes;
}

std::string to_hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string o;
  o.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    o += kHex[c >> 4];
    o += kHex[c & 15];
  }
  return o;
}

Event map_event(const Element& report, std::string_view raw_inner) {
  Event ev;
  std::string code = report.attr_or("eventCode");
  CodeInfo info = lookup_code(code);
  ev.type = std::string(info.type);
  ev.cls = info.cls;
  ev.source = "g2s:" + code;
  std::string dt = report.attr_or("eventDateTime");
  if (auto t = parse_date_time(dt)) ev.ts_egm_ms = *t;
  JsonWriter w;
  w.add("event_id", to_i64(report.attr_or("eventId")));
  w.add("event_dt", dt);
  w.add("code", code);
  w.add("device_class", report.attr_or("deviceClass"));
  w.add("device_id", report.attr_or("deviceId"));
  if (auto t = report.attr_or("transactionId"); !t.empty() && t != "0") {
    w.add("transaction_id", to_i64(t));
  }
  if (!info.door.empty()) w.add("door", info.door);
  if (info.powered_off) w.add("while_powered_off", true);
  if (ev.type == "bill.stacked") {  // (NAE115 carries the last bill's log, not the voucher's)
    if (const auto* n = find_with_attr(report, "denomId")) {
      add_money(w, "value_cents", "value_millicents", to_i64(n->attr_or("denomId")));
      w.add("currency", n->attr_or("currencyId", "USD"));
    }
  }
  if (ev.type.starts_with("handpay.")) {
    if (const auto* h = find_with_attr(report, "handpayType")) {
      if (auto mc = handpay_amount(*h, code == "G2S_JPE104")) {
        add_money(w, "amount_cents", "amount_millicents", *mc);
      } else {
        w.add("amount_known", false);
      }
      w.add("kind", handpay_kind(h->attr_or("handpayType")));
      if (auto k = h->attr_or("keyOffType"); !k.empty()) w.add("key_off_type", k);
    }
  }
  if (ev.type.starts_with("ticket.")) {
    // voucherLog (g2s-money.md §1): issued amount, or what a redemption transferred. The
    // validationId is masked by the EGM for anyone but the owner.
    if (const auto* v = find_with_attr(report, "voucherAmt")) {
      if (auto mc = voucher_amount(*v, ev.type == "ticket.redeemed")) {
        add_money(w, "amount_cents", "amount_millicents", *mc);
      } else {
        w.add("amount_known", false);
      }
      w.add("validation_number", v->attr_or("validationId"));
      if (auto ct = v->attr_or("creditType"); !ct.empty()) w.add("credit_type", ct);
      if (auto ex = v->attr_or("egmException"); !ex.empty()) w.add("egm_exception", to_i64(ex));
    }
  }
  if (ev.type == "bonus.awarded") {
    if (const auto* b = find_with_attr(report, "bonusId")) {
      std::int64_t mc = to_i64(b->attr_or("bonusPaidAmt"));
      if (mc == 0) mc = to_i64(b->attr_or("bonusAwardAmt"));
      add_money(w, "amount_cents", "amount_millicents", mc);
      w.add("bonus_id", b->attr_or("bonusId"));
      if (auto pm = b->attr_or("payMethod"); !pm.empty()) w.add("pay_method", pm);
    }
  }
  if (ev.type.starts_with("progressive.")) {
    // progressiveLog: attribute names from one source only (g2s-money.md §4, UNCERTAIN).
    if (const auto* p = find_with_attr(report, "levelId")) {
      std::int64_t mc = to_i64(p->attr_or("winLevelAmt"));
      if (mc == 0) mc = to_i64(p->attr_or("paidAmt"));
      add_money(w, "amount_cents", "amount_millicents", mc);
      w.add("level", to_i64(p->attr_or("levelId")));
      if (auto pid = p->attr_or("progId"); !pid.empty()) w.add("group", to_i64(pid));
    }
  }
  if (const auto* ml = report.child("meterList")) {
    JsonWriter mw;
    for (const auto& mi : ml->children) {
      for (const auto& g : mi.children) add_meters(g, g.attr_or("deviceClass") + "/", mw);
    }
    w.add_raw("meters", std::move(mw).finish());
  }
  if (auto t = report.attr_or("eventText"); !t.empty()) w.add("text", t);
  ev.attrs_json = std::move(w).finish();
  if (raw_inner.size() <= 8192) ev.raw_hex = to_hex(raw_inner);
  return ev;
}

std::vector<Event> map_meter_info(const Element& meter_info, std::size_t max_per_event) {
  struct M {
    std::string key;
    std::int64_t value;
  };
  std::vector<M> all;
  for (const auto& g : meter_info.children) {
    std::string prefix;
    if (g.name == "deviceMeters") prefix = g.attr_or("deviceClass") + "/" + g.attr_or("deviceId") + "/";
    else if (g.name == "gameDenomMeters") prefix = "denom/" + g.attr_or("denomId") + "/";
    else if (g.name == "wagerMeters") prefix = "wager/" + g.attr_or("wagerCategory") + "/";
    for (const auto& m : g.children) {
      if (m.name == "simpleMeter") {
        all.push_back({prefix + m.attr_or("meterName"), to_i64(m.attr_or("meterValue"))});
      }
    }
  }
  std::string dt = meter_info.attr_or("meterDateTime");
  std::string type = meter_info.attr_or("meterInfoType");
  std::size_t parts = all.empty() ? 1 : (all.size() + max_per_event - 1) / max_per_event;
  std::vector<Event> out;
  for (std::size_t p = 0; p < parts; ++p) {
    Event ev;
    ev.type = "meters.snapshot";
    ev.cls = EventClass::financial;  // as SAS meter snapshots: money meters
    ev.source = "g2s:meterInfo";
    if (auto t = parse_date_time(dt)) ev.ts_egm_ms = *t;
    JsonWriter mw;
    for (std::size_t i = p * max_per_event; i < all.size() && i < (p + 1) * max_per_event; ++i) {
      mw.add(all[i].key, all[i].value);
    }
    JsonWriter w;
    w.add("meter_info_type", type).add("meter_dt", dt).add("amount_unit", "millicents");
    w.add("part", static_cast<std::int64_t>(p + 1)).add("parts", static_cast<std::int64_t>(parts));
    w.add_raw("meters", std::move(mw).finish());
    ev.attrs_json = std::move(w).finish();
    out.push_back(std::move(ev));
  }
  return out;
}

namespace {

// The meters that count each reconciled category on a G2S EGM (g2s-money.md §8): a reading
// needs all of a category's meters, each once (a handpay's JPE104 may carry only some of its
// meters: a window is not closed on a part of them).
struct CategoryMeters {
  std::string_view code;  // the eventCode that moves them
  ReconCategory category;
  std::vector<std::string_view> names;
};
const CategoryMeters kMoneyCodes[] = {
    {"G2S_NAE114", ReconCategory::bills_in, {"G2S_currencyInAmt"}},
    {"G2S_VCE103", ReconCategory::tickets_out,
     {"G2S_cashableOutAmt", "G2S_promoOutAmt", "G2S_nonCashOutAmt"}},
    {"G2S_VCE108", ReconCategory::tickets_in,
     {"G2S_cashableInAmt", "G2S_promoInAmt", "G2S_nonCashInAmt"}},
    {"G2S_JPE104", ReconCategory::handpaid,
     {"G2S_handPaidGameWonAmt", "G2S_handPaidProgWonAmt", "G2S_handPaidCancelAmt"}},
};


// The event's amount in millicents, as map_event reads it; nullopt when absent or not believed.
std::optional<std::uint64_t> money_amount(const Element& report, ReconCategory c) {
  std::optional<std::int64_t> mc;
  if (c == ReconCategory::bills_in) {
    if (const auto* n = find_with_attr(report, "denomId")) mc = money_attr(*n, "denomId");
  } else if (c == ReconCategory::handpaid) {
    if (const auto* h = find_with_attr(report, "handpayType")) mc = handpay_amount(*h, true);
  } else if (const auto* v = find_with_attr(report, "voucherAmt")) {
    mc = voucher_amount(*v, c == ReconCategory::tickets_in);
  }
  if (!mc) return std::nullopt;
  return static_cast<std::uint64_t>(*mc);
}

}  // namespace

std::optional<MoneyReading> money_reading(const Element& report) {
  const std::string code = report.attr_or("eventCode");
  const CategoryMeters* cm = nullptr;
  for (const auto& m : kMoneyCodes) {
    if (m.code == code) cm = &m;
  }
  if (!cm) return std::nullopt;
  MoneyReading r;
  r.category = cm->category;
  r.amount_mc = money_amount(report, cm->category);
  const Element* list = report.child("meterList");
  if (!list) return r;
  // Device-level totals only (deviceMeters): a currency or denomination group counts the same
  // money again, per denomination. Each of the category's meters exactly once, or no reading.
  std::vector<std::string> found(cm->names.size());
  std::uint64_t sum = 0;
  for (const auto& info : list->children) {
    for (const auto& group : info.children) {
      if (group.name != "deviceMeters") continue;
      for (const auto& m : group.children) {
        if (m.name != "simpleMeter") continue;
        const auto it = std::find(cm->names.begin(), cm->names.end(), m.attr_or("meterName"));
        if (it == cm->names.end()) continue;
        auto& where = found[static_cast<std::size_t>(it - cm->names.begin())];
        const auto v = money_attr(m, "meterValue");
        if (!where.empty() || !v || m.attr_or("meterValue").empty()) return r;  // twice, or unreadable
        where = group.attr_or("deviceClass") + "/" + group.attr_or("deviceId") + "/" + std::string(*it);
        sum += static_cast<std::uint64_t>(*v);
      }
    }
  }
  for (const auto& w : found) {
    if (w.empty()) return r;  // a part of the category's meters: no reading
  }
  for (const auto& w : found) r.meter_names += (r.meter_names.empty() ? "" : ",") + w;
  r.meter_mc = sum;
  return r;
}

}  // namespace floorgate::drivers::g2s
