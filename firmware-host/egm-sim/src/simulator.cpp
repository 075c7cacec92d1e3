#include "simulator.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "amounts.hpp"

namespace floorgate::sim {
namespace {

std::string error_json(const std::string& msg) {
  std::string out = "{\"ok\":false,\"error\":\"";
  for (char c : msg) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) >= 0x20) out += c;
  }
  out += "\"}\n";
  return out;
}

std::string raised_json(const RaiseResult& r) {
  char buf[96];
  if (r.seq == 0) {
    std::snprintf(buf, sizeof buf, "{\"ok\":true,\"seq\":null,\"merged_into\":%llu}\n",
                  static_cast<unsigned long long>(r.merged_into));
  } else {
    std::snprintf(buf, sizeof buf, "{\"ok\":true,\"seq\":%llu}\n",
                  static_cast<unsigned long long>(r.seq));
  }
  return buf;
}

}  // namespace

Simulator::Simulator(const SimConfig& cfg, const Clock& clock)
    : clock_(clock), rng_(cfg.seed), timeline_(cfg.timeline), start_ms_(clock.steady_ms()),
      rate_(cfg.rate), money_(cfg.money) {
  for (std::size_t i = 0; i < cfg.buses.size(); ++i) {
    buses_.push_back(
        std::make_unique<Bus>(static_cast<int>(i), cfg.buses[i], ledger_, clock_, rng_));
  }
  std::stable_sort(timeline_.begin(), timeline_.end(),
                   [](const TimelineEntry& a, const TimelineEntry& b) { return a.at_ms < b.at_ms; });
  for (const auto& b : buses_) {
    for (std::size_t i = 0; i < b->machines().size(); ++i) next_random_ms_.push_back(start_ms_);
  }
}

Simulator::Target Simulator::resolve(std::string_view addr) {
  Target t;
  int bus = -1;
  std::string a(addr);
  if (auto colon = a.find(':'); colon != std::string::npos) {
    auto b = parse_uint(a.substr(0, colon));
    if (!b) return t;
    bus = static_cast<int>(*b);
    a = a.substr(colon + 1);
  }
  auto n = parse_uint(a);
  if (!n || *n == 0 || *n > 127) return t;
  for (const auto& b : buses_) {
    if (bus >= 0 && b->index() != bus) continue;
    if (Egm* e = b->find(static_cast<std::uint8_t>(*n))) return Target{b.get(), e};
  }
  return t;
}

std::string Simulator::execute(std::string_view line) {
  std::istringstream in{std::string(line)};
  std::vector<std::string> args;
  for (std::string w; in >> w;) args.push_back(w);
  if (args.empty()) return error_json("empty command");
  const std::string verb = args[0];
  if (verb == "ledger") {
    std::string out;
    for (const LedgerEntry& e : ledger_.entries()) {
      out += Ledger::to_json(e);
      out += '\n';
    }
    out += "{\"end\":true}\n";
    return out;
  }
  if (verb == "status") return cmd_status();
  if (verb == "rate") {
    // rate R: random traffic of R events/s per machine from now on (0 stops it).
    char* end = nullptr;
    double r = args.size() == 2 ? std::strtod(args[1].c_str(), &end) : -1;
    if (args.size() != 2 || end == args[1].c_str() || *end != '\0' || !(r >= 0 && r <= 1000)) {
      return error_json("rate: want one number of events/s per machine, 0-1000");
    }
    if (rate_ == 0 && r > 0) {
      for (auto& t : next_random_ms_) t = clock_.steady_ms();
    }
    rate_ = r;
    return "{\"ok\":true}\n";
  }
  if (verb == "money") {
    if (args.size() != 2 || (args[1] != "on" && args[1] != "off")) {
      return error_json("money: say on or off");
    }
    money_ = args[1] == "on";
    return "{\"ok\":true}\n";
  }
  if (verb == "help") {
    return "{\"ok\":true,\"commands\":[\"rate EVENTS_PER_S\",\"inject ADDR CODE\",\"bill ADDR DOLLARS\","
           "\"handpay ADDR AMOUNT\",\"game ADDR BET WIN\",\"door ADDR open|close\",\"rte ADDR on|off\",\"clock ADDR SECONDS\",\"program ADDR TEXT\","
           "\"power-cycle ADDR [ram-clear] [off=MS]\",\"fault ADDR KIND VALUE\","
           "\"cashout ADDR\",\"ticket-in ADDR AMOUNT\",\"aft ADDR in|out AMOUNT\","
           "\"progressive ADDR LEVEL AMOUNT [sas|machine]\",\"bonus ADDR AMOUNT\","
           "\"skim ADDR CATEGORY AMOUNT\",\"lacks ADDR LP [off]\",\"money on|off\","
           "\"meters ADDR\",\"ledger\",\"status\"]}\n";
  }
  if (args.size() < 2) return error_json(str_cat(verb, ": missing ADDR"));
  Target t = resolve(args[1]);
  if (t.egm == nullptr) return error_json(str_cat("no machine at address ", args[1]));
  if (verb == "fault") return cmd_fault(t, args);
  return cmd_machine(verb, t, args);
}

std::string Simulator::cmd_machine(const std::string& verb, Target t,
                                   const std::vector<std::string>& a) {
  Egm& egm = *t.egm;
  if (verb == "meters") return str_cat(egm.meters_json(), "\n");
  if (verb == "cashout" || verb == "ticket-in" || verb == "aft" || verb == "progressive" ||
      verb == "bonus" || verb == "skim" || verb == "lacks") {
    return cmd_money(verb, egm, a);
  }
  if (verb == "inject") {
    auto code = a.size() > 2 ? parse_hex_byte(a[2]) : std::nullopt;
    if (!code || *code == 0) return error_json("inject: CODE must be hex 01..FF");
    return raised_json(egm.raise(*code));
  }
  if (verb == "bill") {
    auto dollars = a.size() > 2 ? parse_money_cents(a[2]) : std::nullopt;
    if (!dollars || *dollars % 100 != 0) return error_json("bill: AMOUNT must be whole dollars");
    auto r = egm.bill(static_cast<std::uint32_t>(*dollars / 100));
    if (!r) return error_json("bill: unsupported bill denomination");
    return raised_json(*r);
  }
  if (verb == "handpay") {
    auto cents = a.size() > 2 ? parse_money_cents(a[2]) : std::nullopt;
    if (!cents || *cents == 0) return error_json("handpay: AMOUNT must be dollars, e.g. 1250.00");
    return raised_json(egm.handpay(*cents));
  }
  if (verb == "game") {
    auto bet = a.size() > 2 ? parse_uint(a[2]) : std::nullopt;
    auto win = a.size() > 3 ? parse_uint(a[3]) : std::optional<std::uint64_t>(0);
    if (!bet || !win) return error_json("game: BET and WIN must be credits");
    return raised_json(egm.game(*bet, *win));
  }
  if (verb == "clock") {  // clock ADDR SECONDS: the machine's clock that far off real time
    long long secs = 0;
    if (a.size() < 3 || std::sscanf(a[2].c_str(), "%lld", &secs) != 1) {
      return error_json("clock: say the offset in seconds, e.g. clock 3 -600");
    }
    egm.set_clock_offset_ms(secs * 1000);
    return "{\"ok\":true}\n";
  }
  if (verb == "program") {  // program ADDR TEXT: new software; LP 21 signatures change
    if (a.size() < 3) return error_json("program: say the new program text, e.g. program 3 v2");
    std::string text = a[2];
    for (std::size_t i = 3; i < a.size(); ++i) text += " " + a[i];
    egm.set_program(std::move(text));
    return "{\"ok\":true}\n";
  }
  if (verb == "rte") {
    if (a.size() < 3 || (a[2] != "on" && a[2] != "off")) return error_json("rte: say on or off");
    egm.set_rte(a[2] == "on");
    return "{\"ok\":true}\n";
  }
  if (verb == "door") {
    if (a.size() < 3 || (a[2] != "open" && a[2] != "close")) {
      return error_json("door: say open or close");
    }
    return raised_json(egm.door(a[2] == "open"));
  }
  if (verb == "power-cycle") {
    bool ram_clear = false;
    int off_ms = 0;
    for (std::size_t i = 2; i < a.size(); ++i) {
      if (a[i] == "ram-clear") {
        ram_clear = true;
      } else if (a[i].rfind("off=", 0) == 0 && parse_uint(a[i].substr(4))) {
        off_ms = static_cast<int>(*parse_uint(a[i].substr(4)));
      } else {
        return error_json(str_cat("power-cycle: unknown argument ", a[i]));
      }
    }
    std::uint64_t before = ledger_.entries().size();
    t.bus->power_cycle(egm.address(), ram_clear, off_ms);
    if (off_ms > 0) return str_cat("{\"ok\":true,\"off_ms\":", std::to_string(off_ms), "}\n");
    return str_cat("{\"ok\":true,\"seq\":", std::to_string(before + 1), "}\n");
  }
  return error_json(str_cat("unknown command ", verb));
}

std::string Simulator::cmd_money(const std::string& verb, Egm& egm,
                                 const std::vector<std::string>& a) {
  auto amount = [&a](std::size_t i) {
    return a.size() > i ? parse_money_cents(a[i]) : std::optional<std::uint64_t>();
  };
  auto answer = [](const MoneyResult& r) {
    return r.raised ? raised_json(*r.raised) : error_json(r.error);
  };
  if (verb == "cashout") return answer(egm.cashout());
  if (verb == "ticket-in") {
    auto c = amount(2);
    if (!c || *c == 0) return error_json("ticket-in: AMOUNT must be dollars, e.g. 20.00");
    return answer(egm.ticket_in(*c));
  }
  if (verb == "aft") {
    auto c = amount(3);
    if (a.size() < 4 || (a[2] != "in" && a[2] != "debit" && a[2] != "out") || !c || *c == 0) {
      return error_json("aft: say in, debit or out and an AMOUNT in dollars, e.g. aft 1 in 50");
    }
    return answer(egm.aft(a[2] == "in"      ? Egm::AftKind::in
                          : a[2] == "debit" ? Egm::AftKind::debit
                                            : Egm::AftKind::out,
                          *c));
  }
  if (verb == "progressive") {
    auto level = a.size() > 2 ? parse_uint(a[2]) : std::nullopt;
    auto c = amount(3);
    bool sas = a.size() < 5 || a[4] == "sas";
    if (!level || *level > 32 || !c || *c == 0 || (a.size() > 4 && a[4] != "sas" && a[4] != "machine")) {
      return error_json("progressive: LEVEL 1..32, AMOUNT in dollars, then sas or machine");
    }
    return answer(egm.progressive(static_cast<std::uint8_t>(*level), *c, sas));
  }
  if (verb == "bonus") {
    auto c = amount(2);
    if (!c || *c == 0) return error_json("bonus: AMOUNT must be dollars, e.g. 5.00");
    return answer(egm.bonus(*c));
  }
  if (verb == "skim") {
    auto cat = a.size() > 2 ? parse_skim_category(a[2]) : std::nullopt;
    if (!cat) {
      return error_json("skim: CATEGORY is bills, tickets_in, tickets_out, aft_in, aft_out, "
                        "handpaid, games, progressives or bonuses");
    }
    std::optional<std::uint64_t> v =
        *cat == SkimCategory::games ? (a.size() > 3 ? parse_uint(a[3]) : std::nullopt) : amount(3);
    if (!v || *v == 0) return error_json("skim: AMOUNT must be dollars (games: a count)");
    egm.skim(*cat, *v);
    return "{\"ok\":true}\n";
  }
  // lacks ADDR LP [off]
  auto lp = a.size() > 2 ? parse_hex_byte(a[2]) : std::nullopt;
  if (!lp || (a.size() > 3 && a[3] != "off")) return error_json("lacks: LP must be hex, e.g. 6F");
  egm.set_lacks(*lp, a.size() <= 3);
  return "{\"ok\":true}\n";
}

std::string Simulator::cmd_fault(Target t, const std::vector<std::string>& a) {
  Faults* f = t.bus->faults(t.egm->address());
  if (a.size() < 3) return error_json("fault: missing KIND");
  const std::string& kind = a[2];
  if (kind == "clear") {
    *f = Faults{};
    return "{\"ok\":true}\n";
  }
  if (a.size() < 4) return error_json("fault: missing VALUE");
  auto rate = parse_rate(a[3]);
  auto num = parse_uint(a[3]);
  if (kind == "crc" && rate) {
    f->crc_rate = *rate;
  } else if (kind == "drop" && rate) {
    f->drop_rate = *rate;
  } else if (kind == "dup" && rate) {
    f->dup_rate = *rate;
  } else if (kind == "delay" && num) {
    f->delay_ms = static_cast<int>(*num);
  } else if (kind == "gap" && num) {
    f->gap_ms = static_cast<int>(*num);
  } else if (kind == "silent" && num && *num <= 1) {
    f->silent = *num == 1;
  } else if (kind == "busy" && num && *num <= 1) {
    f->busy = *num == 1;
  } else {
    return error_json("fault: KIND is crc|drop|dup RATE(0..1), delay|gap MS, silent|busy 0|1, "
                      "or clear");
  }
  return "{\"ok\":true}\n";
}

std::string Simulator::cmd_status() {
  std::string out = "{\"ok\":true,\"buses\":[";
  for (std::size_t i = 0; i < buses_.size(); ++i) {
    const Bus& b = *buses_[i];
    const BusStats& s = b.stats();
    out += str_cat(i ? "," : "", "{\"kind\":\"", b.config().kind, "\",\"target\":\"",
                   b.config().target, "\",\"polls\":", std::to_string(s.polls),
                   ",\"bad_crc\":", std::to_string(s.bad_crc), ",\"answers\":",
                   std::to_string(s.answers), ",\"chirps\":", std::to_string(s.chirps),
                   ",\"addresses\":[");
    bool first = true;
    for (Egm* e : buses_[i]->machines()) {
      out += str_cat(first ? "" : ",", std::to_string(e->address()));
      first = false;
    }
    out += "]}";
  }
  char rate[32];
  std::snprintf(rate, sizeof rate, "%g", rate_);
  out += str_cat("],\"ledger\":", std::to_string(ledger_.entries().size()), ",\"rate\":", rate,
                 "}\n");
  return out;
}

void Simulator::random_event(Egm& egm) {
  std::uniform_int_distribution<int> pick(0, 99);
  int p = pick(rng_);
  if (p < 70 && egm.play_enabled()) {
    std::uniform_int_distribution<int> bet(1, 100);
    std::uint64_t b = static_cast<std::uint64_t>(bet(rng_));
    std::uint64_t win = pick(rng_) < 30 ? b * static_cast<std::uint64_t>(1 + pick(rng_) % 5) : 0;
    egm.game(b, win);
  } else if (p < 90) {  // (also when play is locked out)
    static constexpr std::uint32_t kBills[] = {1, 5, 10, 20, 50, 100};
    egm.bill(kBills[static_cast<std::size_t>(pick(rng_)) % 6]);
  } else if (money_ && p < 96) {
    random_money(egm);
  } else {
    egm.door(true);
    egm.door(false);
  }
}

void Simulator::random_money(Egm& egm) {
  // Amounts in whole cents times the denomination rules: a refused action (one of its kind
  // still unread by the host) is simply skipped, as a player would try again later.
  std::uniform_int_distribution<int> pick(0, 99);
  const std::uint64_t cents = 100ULL * static_cast<std::uint64_t>(1 + pick(rng_) % 50);
  switch (pick(rng_) % 8) {
    case 0: egm.cashout(); break;
    case 1: egm.ticket_in(cents); break;
    case 2: egm.aft(pick(rng_) < 80 ? Egm::AftKind::in : Egm::AftKind::debit, cents); break;
    case 3: egm.aft(Egm::AftKind::out, std::min<std::uint64_t>(cents, egm.meters().get(meter::kCurrentCredits) *
                                                               egm.denom_cents() / 100 * 100));
      break;
    case 4: egm.handpay(cents * 30); break;
    case 5: egm.progressive(static_cast<std::uint8_t>(1 + pick(rng_) % 4), cents * 10, true); break;
    case 6: egm.progressive(static_cast<std::uint8_t>(1 + pick(rng_) % 4), cents, false); break;
    default: egm.bonus(cents); break;
  }
}

void Simulator::tick() {
  std::int64_t now = clock_.steady_ms();
  while (next_timeline_ < timeline_.size() &&
         now - start_ms_ >= timeline_[next_timeline_].at_ms) {
    std::string res = execute(timeline_[next_timeline_++].command);
    if (res.rfind("{\"ok\":false", 0) == 0) std::fprintf(stderr, "timeline: %s", res.c_str());
  }
  if (rate_ > 0) {
    std::exponential_distribution<double> gap(rate_);
    std::size_t i = 0;
    for (const auto& b : buses_) {
      for (Egm* e : b->machines()) {
        while (next_random_ms_[i] <= now) {
          random_event(*e);
          next_random_ms_[i] += std::max<std::int64_t>(1, std::llround(gap(rng_) * 1000.0));
        }
        ++i;
      }
    }
  }
  for (const auto& b : buses_) b->tick();
}

}  // namespace floorgate::sim
