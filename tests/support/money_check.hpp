#pragma once
// Money checks shared by the driver and end-to-end suites: every money exception the
// simulator's ledger shows implied-ACKed (with its amount and identifier) must have reached
// the consumer as one event of the matching type with the same amount and identifier.

#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

namespace floorgate::testing {

// One money exception of the simulator's ledger.
struct MoneyRecord {
  int address = 0;
  int code = 0;
  std::uint64_t amount_cents = 0;
  std::string ident;  // validation number, AFT transaction id, "level-N"; empty for none
  std::uint64_t seq = 0;
};

// One event as a consumer saw it.
struct MoneyEvent {
  int address = 0;
  std::string type;
  std::string attrs_json;
};

// The value of `"key":` in a flat JSON line (string without quotes, or the raw token).
inline std::string flat_json_field(const std::string& line, const std::string& key) {
  auto p = line.find("\"" + key + "\":");
  if (p == std::string::npos) return {};
  p += key.size() + 3;
  if (p < line.size() && line[p] == '"') {
    auto e = line.find('"', p + 1);
    return line.substr(p + 1, e - p - 1);
  }
  auto e = line.find_first_of(",}", p);
  return line.substr(p, e - p);
}

// Acked, not dropped ledger lines that carry money.
inline std::vector<MoneyRecord> money_records(const std::vector<std::string>& ledger_lines) {
  std::vector<MoneyRecord> out;
  for (const auto& l : ledger_lines) {
    if (l.find("\"amount_cents\"") == std::string::npos) continue;
    if (flat_json_field(l, "acked") != "true" || flat_json_field(l, "dropped") == "true") continue;
    MoneyRecord r;
    r.address = std::stoi(flat_json_field(l, "address"));
    r.code = std::stoi(flat_json_field(l, "code"), nullptr, 16);
    r.amount_cents = std::stoull(flat_json_field(l, "amount_cents"));
    r.ident = flat_json_field(l, "ident");
    r.seq = std::stoull(flat_json_field(l, "seq"));
    out.push_back(r);
  }
  return out;
}

// The event type a money exception must arrive as.
inline std::string money_event_type(int code) {
  switch (code) {
    case 0x3D: return "ticket.printed";
    case 0x67: return "ticket.inserted";
    case 0x68: return "ticket.redeemed";
    case 0x69: return "aft.transfer_complete";
    case 0x54: return "progressive.win";
    case 0x56: return "progressive.hit";
    case 0x7C: return "bonus.awarded";
    case 0x51: return "handpay.pending";
    default: return "bill.stacked";
  }
}

// Ledger money records without a matching event (each event matches one record at most).
inline std::vector<std::string> unmatched_money(const std::vector<MoneyRecord>& records,
                                                const std::vector<MoneyEvent>& events) {
  std::vector<bool> used(events.size(), false);
  std::vector<std::string> missing;
  for (const auto& r : records) {
    const std::string type = money_event_type(r.code);
    const std::string amount = std::to_string(r.amount_cents);
    bool found = false;
    for (std::size_t i = 0; i < events.size() && !found; ++i) {
      const MoneyEvent& e = events[i];
      if (used[i] || e.address != r.address || e.type != type) continue;
      const std::string got = type == "bill.stacked" ? flat_json_field(e.attrs_json, "value_cents")
                                                     : flat_json_field(e.attrs_json, "amount_cents");
      if (got != amount) continue;
      if (r.ident.rfind("level-", 0) == 0) {
        if (flat_json_field(e.attrs_json, "level") != r.ident.substr(6)) continue;
      } else if (!r.ident.empty() && e.attrs_json.find("\"" + r.ident + "\"") == std::string::npos) {
        continue;
      }
      used[i] = true;
      found = true;
    }
    if (!found) {
      std::ostringstream s;
      s << "address " << r.address << " seq " << r.seq << " " << type << " " << amount
        << " cents " << r.ident;
      missing.push_back(s.str());
    }
  }
  return missing;
}

}  // namespace floorgate::testing
