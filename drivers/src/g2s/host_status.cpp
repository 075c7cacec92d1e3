// g2s::Host start-up state: the subscription built from supportedEvents and checked with
// getEventSub, the cabinet's status when the link comes up, and setting the EGM's clock.
#include <cstdlib>
#include <functional>
#include <set>
#include <string_view>

#include "floorgate/drivers/json_writer.hpp"
#include "g2s/commands.hpp"
#include "g2s/event_map.hpp"
#include "g2s/host_impl.hpp"

namespace floorgate::drivers::g2s {
namespace {

constexpr std::size_t kListedCodesMax = 50;  // codes named in one event; the rest are counted

bool has_error(const Element& cls) {
  const std::string code = cls.attr_or("errorCode");
  return !code.empty() && code != "G2S_none";
}

}  // namespace

void Host::Impl::on_supported_events(EgmLink& e, const Element& list) {
  e.supported_session = 0;
  std::set<std::string> classes;
  for (const auto& c : list.children) {
    if (c.name != "supportedEvent") continue;
    const std::string code = c.attr_or("eventCode"), cls = c.attr_or("deviceClass");
    if (code.empty() || cls.empty() || e.supported.size() >= 20000) continue;
    e.supported[code] = cls;
    classes.insert(cls);
  }
  if (cfg.subscribe_all_events) {
    // Per-class wildcards rather than one G2S_all: overlapping subscriptions OR their flags,
    // so game play could not be left unpersisted under a G2S_all one.
    send(e, "eventHandler", "G2S_request",
         cmd::set_event_sub_by_class({classes.begin(), classes.end()}));
  }
  e.sub_check_session = send(e, "eventHandler", "G2S_request", cmd::get_event_sub());
}

// Every supported event the gateway maps to a type must be covered by a subscription; a guest
// host without rights to a device has its wildcard silently skipped by the EGM.
void Host::Impl::check_subscriptions(EgmLink& e, const Element& list) {
  e.sub_check_session = 0;
  // Lookups, not a scan per event: both lists come from the EGM and can be long.
  std::set<std::pair<std::string, std::string>> subs;  // (deviceClass, eventCode)
  for (const auto& c : list.children) {
    if (c.attr_or("eventCode").empty()) continue;
    subs.emplace(c.attr_or("deviceClass"), c.attr_or("eventCode"));
  }
  const auto has = [&subs](const std::string& cls, const std::string& code) {
    return subs.count({cls, code}) > 0;
  };
  static const std::set<std::string_view, std::less<>> mapped(v1_event_codes().begin(),
                                                              v1_event_codes().end());
  const std::string all = "G2S_all";
  std::vector<std::string> missing;
  for (const auto& [code, cls] : e.supported) {
    if (mapped.find(code) == mapped.end()) continue;
    if (!has(cls, code) && !has(cls, all) && !has(all, code) && !has(all, all)) {
      missing.push_back(code);
    }
  }
  std::string listed;
  for (std::size_t i = 0; i < missing.size() && i < kListedCodesMax; ++i) {
    listed += (listed.empty() ? "" : ",") + missing[i];
  }
  const std::string before = e.st.subscriptions;
  e.st.subscriptions = missing.empty() ? "ok" : "missing";
  e.st.missing_events = listed;
  notify(e);
  if (missing.empty() || before == "missing") return;
  JsonWriter w;
  w.add("protocol", "g2s").add("egm_id", e.cfg.egm_id).add("missing", listed);
  w.add("missing_count", static_cast<std::int64_t>(missing.size()));
  w.add("hint", "the EGM skipped these subscriptions: give this host guest rights to the "
                "devices (operator menu or commConfig owner)");
  emit_own(e, "g2s.subscription_missing", EventClass::fault, "g2s:eventHandler",
           std::move(w).finish());
  warn("EGM " + e.cfg.id + ": " + std::to_string(missing.size()) +
       " supported event(s) not subscribed (no rights?): " + listed);
}

// getSupportedEvents refused (an error class element): without the class list, subscribe with
// one G2S_all wildcard as before (game play is then persisted too); nothing to check against.
void Host::Impl::on_event_handler_error(EgmLink& e, const Element& cls) {
  if (!cfg.subscribe_all_events || e.supported_session == 0 ||
      std::atoll(cls.attr_or("sessionId", "0").c_str()) != e.supported_session) {
    return;
  }
  e.supported_session = 0;
  warn("EGM " + e.cfg.id + ": getSupportedEvents refused (" + cls.attr_or("errorCode") +
       "); subscribing to G2S_all");
  send(e, "eventHandler", "G2S_request", cmd::set_event_sub(true, {}));
}

void Host::Impl::on_cabinet(EgmLink& e, const Element& cls, const Element& cmd) {
  if (has_error(cls)) {
    const std::string code = cls.attr_or("errorCode");
    if (e.clock_set_sent) {
      // APX010: we are a guest (setDateTime is owner only); CBX001: the EGM keeps NTP time.
      e.clock_set_sent = false;
      if (e.st.clock_set_error != code) warn("EGM " + e.cfg.id + ": setDateTime refused (" + code + ")");
      e.st.clock_set_error = code;
      notify(e);
    } else {
      e.cabinet_status_wanted = false;
    }
    return;
  }
  if (cmd.name == "cabinetDateTime") {
    e.clock_set_sent = false;
    if (auto t = parse_date_time(cmd.attr_or("cabinetDateTime"))) {
      e.st.clock_skew_ms = *t - now_ms();
      ++e.st.clock_sets;
      // Answered but not applied (Monaco ignores small changes): do not ask again.
      const bool applied = std::llabs(e.st.clock_skew_ms) <= cfg.clock_set_threshold.count();
      e.st.clock_set_error = applied ? "" : "not applied";
      notify(e);
    }
    return;
  }
  if (cmd.name != "cabinetStatus" || !e.cabinet_status_wanted) return;
  e.cabinet_status_wanted = false;
  const auto flag = [&](const char* name) { return cmd.flag(name); };
  JsonWriter w;
  w.add("at_link_up", true).add("egm_state", cmd.attr_or("egmState"));
  w.add("egm_enabled", flag("egmEnabled")).add("host_enabled", flag("hostEnabled"));
  w.add("enable_game_play", flag("enableGamePlay")).add("enable_money_in", flag("enableMoneyIn"));
  w.add("cabinet_door_open", flag("cabinetDoorOpen")).add("logic_door_open", flag("logicDoorOpen"));
  w.add("aux_door_open", flag("auxDoorOpen"));
  emit_own(e, "egm.cabinet_status", EventClass::operational, "g2s:cabinetStatus",
           std::move(w).finish());
  // A door already open when the link came up: its CBE event may be long gone (or went to
  // another host); consumers get it now, marked as found at link-up.
  const std::pair<const char*, const char*> doors[] = {
      {"cabinetDoorOpen", "main"}, {"logicDoorOpen", "logic"}, {"auxDoorOpen", "aux"}};
  for (const auto& [attr, door] : doors) {
    if (!flag(attr)) continue;
    JsonWriter d;
    d.add("door", door).add("at_link_up", true).add("egm_state", cmd.attr_or("egmState"));
    emit_own(e, "door.opened", EventClass::security, "g2s:cabinetStatus", std::move(d).finish());
  }
}

// Which devices the EGM lets this host see: a guest host added later may have no rights at all
// (then its events never come). One operational event with the inventory; the status keeps
// the devices without rights.
void Host::Impl::on_descriptors(EgmLink& e, const Element& list) {
  std::string none, owned, guest;
  std::int64_t devices = 0;
  for (const auto& d : list.children) {
    if (d.name != "descriptor") continue;
    ++devices;
    const std::string id = d.attr_or("deviceClass") + "/" + d.attr_or("deviceId");
    const bool own = d.flag("deviceOwner"), gst = d.flag("deviceGuest");
    std::string& into = own ? owned : gst ? guest : none;
    if (into.size() < 2000) into += (into.empty() ? "" : ",") + id;
  }
  e.st.no_rights = none;
  notify(e);
  JsonWriter w;
  w.add("protocol", "g2s").add("devices", devices).add("owner_of", owned).add("guest_of", guest);
  w.add("no_rights", none).add("at_link_up", true);
  emit_own(e, "egm.devices", EventClass::operational, "g2s:descriptorList", std::move(w).finish());
  if (!none.empty()) warn("EGM " + e.cfg.id + ": this host has no rights to " + none);
}

void Host::Impl::maybe_set_clock(EgmLink& e) {
  if (!cfg.set_egm_clock || e.clock_set_sent || !e.st.link_up) return;
  if (std::llabs(e.st.clock_skew_ms) <= cfg.clock_set_threshold.count()) return;
  if (!e.st.clock_set_error.empty()) return;  // refused once (guest, NTP): do not insist
  e.clock_set_sent = true;
  send(e, "cabinet", "G2S_request", cmd::set_date_time(format_date_time(now_ms())), 0, "1");
}

}  // namespace floorgate::drivers::g2s
