// Simulated G2S EGM: the text control interface (POST /control, or main's --script) that
// raises scenarios and injects faults.
#include <algorithm>
#include <map>
#include <sstream>
#include <utility>
#include <vector>

#include "machine.hpp"

namespace floorgate::egmsim::g2s {
namespace {

std::string money_xml(const std::string& dev_class, const std::string& inner) {
  return "<g2s:transactionList><g2s:transactionInfo deviceClass=\"" + dev_class +
         "\" deviceId=\"1\">" + inner + "</g2s:transactionInfo></g2s:transactionList>";
}

// The meterList an event carries: these meters of one device.
std::string meters_xml(const std::string& dev_class,
                       const std::vector<std::pair<std::string, std::int64_t>>& meters) {
  std::string x = "<g2s:meterList><g2s:meterInfo meterInfoType=\"G2S_onEvent\"><g2s:deviceMeters "
                  "deviceClass=\"" + dev_class + "\" deviceId=\"1\">";
  for (const auto& [name, v] : meters) {
    x += "<g2s:simpleMeter meterName=\"" + name + "\" meterValue=\"" + std::to_string(v) + "\"/>";
  }
  return x + "</g2s:deviceMeters></g2s:meterInfo></g2s:meterList>";
}

std::string meter_xml(const std::string& dev_class, const std::string& name, std::int64_t v) {
  return meters_xml(dev_class, {{name, v}});
}

// Keeps a free-text reason inside a JSON string.
std::string json_safe(std::string s) {
  for (char& c : s) {
    if (c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20) c = '\'';
  }
  return s;
}

}  // namespace

std::string Machine::control(const std::string& line) {
  std::vector<std::string> args;
  std::stringstream ss(line);
  std::string w;
  while (ss >> w) args.push_back(w);
  if (args.empty()) return "ok";
  return run(args);
}

std::string Machine::run(const std::vector<std::string>& a) {
  auto arg = [&](std::size_t i, const std::string& def = "") { return i < a.size() ? a[i] : def; };
  auto bump = [&](const std::string& m, std::int64_t by) {
    meters_[m] += by;
    persist("M\t" + m + "\t" + std::to_string(meters_[m]));
  };
  const std::string& c = a[0];
  if (c == "status") return status_json();
  if (c == "door") {
    bool open = arg(1) == "open";
    std::string which = arg(2, "main");
    if (which == "main" || which == "logic" || which == "aux") doors_open_[which] = open;
    if (which == "main") {
      if (open) bump("G2S_cabinetDoorOpenCnt", 1);
      raise(open ? "G2S_CBE307" : "G2S_CBE308",
            meter_xml("G2S_cabinet", "G2S_cabinetDoorOpenCnt", meters_["G2S_cabinetDoorOpenCnt"]));
    } else if (which == "logic") {
      raise(open ? "G2S_CBE303" : "G2S_CBE304");
    } else if (which == "aux") {
      raise(open ? "G2S_CBE305" : "G2S_CBE306");
    } else if (which == "drop") {
      raise(open ? "G2S_NAE112" : "G2S_NAE113");
    } else {
      return "error: door open|close main|logic|aux|drop";
    }
  } else if (c == "bill") {
    std::int64_t cents = std::atoll(arg(1, "2000").c_str());
    raise("G2S_NAE116");
    bump("G2S_currencyInAmt", cents * 1000);
    bump("G2S_currencyInCnt", 1);
    raise("G2S_NAE114",
          money_xml("G2S_noteAcceptor", "<g2s:notesAcceptedLog currencyId=\"USD\" denomId=\"" +
                                            std::to_string(cents * 1000) + "\"/>") +
              meter_xml("G2S_noteAcceptor", "G2S_currencyInAmt", meters_["G2S_currencyInAmt"]));
  } else if (c == "stacker-full") {
    raise("G2S_NAE105");
  } else if (c == "bill-jam") {
    raise("G2S_NAE106");
  } else if (c == "handpay") {
    handpay_mc_ = std::atoll(arg(1, "120000").c_str()) * 1000;
    std::string kind = arg(2, "jackpot") == "cancel_credit" ? "G2S_cancelCredit" : "G2S_gameWin";
    raise("G2S_JPE101", money_xml("G2S_handpay", "<g2s:handpayLog handpayType=\"" + kind +
                                                     "\" handpayState=\"G2S_pending\" cashableAmt=\"" +
                                                     std::to_string(handpay_mc_) +
                                                     "\" promoAmt=\"0\" nonCashAmt=\"0\"/>"));
  } else if (c == "voucher-out" || c == "voucher-in") {
    // A voucher printed (VCE103) or redeemed (VCE108) with its voucherLog; the validation id
    // is masked as an EGM does for a non-owner host (g2s-money.md §1).
    const std::int64_t mc = std::atoll(arg(1, "2000").c_str()) * 1000;
    const bool out = c == "voucher-out";
    const std::string dir = out ? "Out" : "In";
    const std::string meter = "G2S_cashable" + dir + "Amt";
    bump(meter, mc);
    const std::string id = "xxxxxxxxxxxxxx" + std::to_string(1000 + (++vouchers_ % 9000));
    raise(out ? "G2S_VCE103" : "G2S_VCE108",
          money_xml("G2S_voucher", "<g2s:voucherLog validationId=\"" + id + "\" voucherAmt=\"" +
                                       std::to_string(mc) + "\" creditType=\"G2S_cashable\"" +
                                       (out ? "" : " transferAmt=\"" + std::to_string(mc) + "\"") +
                                       " egmException=\"0\"/>") +
              meters_xml("G2S_voucher", {{meter, meters_[meter]},
                                         {"G2S_promo" + dir + "Amt", meters_["G2S_promo" + dir + "Amt"]},
                                         {"G2S_nonCash" + dir + "Amt", meters_["G2S_nonCash" + dir + "Amt"]}}));
  } else if (c == "bonus") {
    const std::int64_t mc = std::atoll(arg(1, "500").c_str()) * 1000;
    bump("G2S_bonusPaidAmt", mc);
    raise("G2S_BNE104", money_xml("G2S_bonus", "<g2s:bonusLog bonusId=\"" +
                                                   std::to_string(++bonuses_) + "\" bonusAwardAmt=\"" +
                                                   std::to_string(mc) + "\" bonusPaidAmt=\"" +
                                                   std::to_string(mc) + "\" payMethod=\"G2S_payCredit\"/>"));
  } else if (c == "handpay-reset") {
    bump("G2S_handPaidGameWonAmt", handpay_mc_);
    raise("G2S_JPE104", money_xml("G2S_handpay", "<g2s:handpayLog handpayType=\"G2S_gameWin\" "
                                                 "handpayState=\"G2S_keyedOff\" cashableAmt=\"" +
                                                     std::to_string(handpay_mc_) +
                                                     "\" promoAmt=\"0\" nonCashAmt=\"0\"/>") +
                            meters_xml("G2S_handpay",
                                       {{"G2S_handPaidGameWonAmt", meters_["G2S_handPaidGameWonAmt"]},
                                        {"G2S_handPaidProgWonAmt", meters_["G2S_handPaidProgWonAmt"]},
                                        {"G2S_handPaidCancelAmt", meters_["G2S_handPaidCancelAmt"]}}));
  } else if (c == "skim") {
    // A meter moves without its event (what reconciliation exists to find): skim CATEGORY CENTS.
    static const std::map<std::string, std::string> kMeter = {
        {"bills_in", "G2S_currencyInAmt"}, {"tickets_out", "G2S_cashableOutAmt"},
        {"tickets_in", "G2S_cashableInAmt"}, {"handpaid", "G2S_handPaidGameWonAmt"}};
    auto it = kMeter.find(arg(1));
    if (it == kMeter.end()) return "error: skim bills_in|tickets_in|tickets_out|handpaid CENTS";
    bump(it->second, std::atoll(arg(2, "100").c_str()) * 1000);
  } else if (c == "power-cycle") {
    // Off for 300 ms: no answers and no handshake (a failing POST must not reopen comms early,
    // and its own timer so a commsOnLine retry cannot cancel the power-up), then power.applied
    // and commsOnLine with deviceReset.
    raise("G2S_CBE324");
    powered_off_ = true;
    state_ = SimState::closed;
    inflight_ = 0;
    comms_timer_.cancel();
    power_timer_.expires_after(std::chrono::milliseconds(300));
    power_timer_.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      powered_off_ = false;
      raise("G2S_CBE325");
      open_comms(true);
    });
  } else if (c == "event" || c == "log-only") {
    int n = std::atoi(arg(2, "1").c_str());
    for (int i = 0; i < n; ++i) raise(arg(1, "G2S_CBE309"), {}, c == "event");
  } else if (c == "ramclear") {
    ram_clear();
  } else if (c == "eod") {
    eod_pending_ = true;
    eod_dt_ = iso_ms(now());
    send_eod();
  } else if (c == "close") {
    state_ = SimState::closed;
    send("communications", "G2S_request", cmd::comms_closing());
  } else if (c == "reopen") {
    open_comms(false);
  } else if (c == "fault") {
    const std::string k = arg(1);
    if (k == "malformed") malformed_ = std::atoi(arg(2, "1").c_str());
    else if (k == "skew") skew_ms_ = std::atoll(arg(2, "0").c_str());
    else if (k == "unreachable") unreachable_ = arg(2, "on") == "on";
    else if (k == "mute") mute_ = arg(2, "on") == "on";
    else if (k == "meters") extra_meters_ = std::atoi(arg(2, "2000").c_str());
    else if (k == "no-rights") no_rights_.insert(arg(2, "G2S_noteAcceptor"));
    else if (k == "ntp-clock") clock_settable_ = arg(2, "on") != "on";
    else if (k == "refuse-supported") refuse_supported_ = arg(2, "on") == "on";
    else return "error: fault malformed N|skew MS|unreachable on|off|mute on|off|meters N|"
                "no-rights CLASS|ntp-clock on|off|refuse-supported on|off";
  } else {
    return "error: unknown command " + c;
  }
  return "ok";
}

std::string Machine::status_json() const {
  const char* st[] = {"closed", "opening", "sync", "online"};
  std::ostringstream o;
  o << "{\"egm_id\":\"" << cfg_.egm_id << "\",\"state\":\"" << st[static_cast<int>(state_)]
    << "\",\"subscribed\":" << (subscribed_ ? "true" : "false") << ",\"queued\":" << queue_.size()
    << ",\"inflight\":" << inflight_ << ",\"raised\":" << (next_event_id_ - 1)
    << ",\"acked\":" << acks_ << ",\"sent_reports\":" << sent_reports_ << ",\"msx\":" << msx_
    << ",\"apx\":" << apx_ << ",\"post_failures\":" << post_fail_
    << ",\"comms_online\":" << comms_online_ << ",\"eod_pending\":" << (eod_pending_ ? "true" : "false")
    << ",\"eod_acked\":" << eod_acked_ << ",\"periodic_sent\":" << periodic_sent_
    << ",\"subscriptions\":" << subs_.size() << ",\"game_play_persisted\":"
    << (std::any_of(subs_.begin(), subs_.end(),
                    [](const Sub& s) { return s.dev_class == "G2S_gamePlay" && s.persist; })
            ? "true" : "false")
    << ",\"skew_ms\":" << skew_ms_
    << ",\"last_error\":\"" << last_error_ << "\",\"last_post_error\":\""
    << (client_ ? json_safe(client_->last_error()) : std::string()) << "\"}";
  return o.str();
}

}  // namespace floorgate::egmsim::g2s
