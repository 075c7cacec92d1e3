#include "web/readable.hpp"

#include <cstdio>

namespace floorgate::gateway::web::detail {

namespace json = boost::json;

namespace {

std::optional<std::int64_t> integer(const json::value* v) {
  if (!v) return std::nullopt;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64() && v->as_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
    return static_cast<std::int64_t>(v->as_uint64());
  return std::nullopt;
}

bool is_cents_key(std::string_view k) {
  return k == "cents" || (k.size() > 6 && k.ends_with("_cents"));
}

std::string spaced(std::string_view k) {
  std::string s(k);
  for (char& c : s)
    if (c == '_') c = ' ';
  return s;
}

std::string grouped(std::uint64_t n) {
  std::string digits = std::to_string(n), out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string count_text(std::int64_t n) {
  const std::uint64_t mag = n < 0 ? 0 - static_cast<std::uint64_t>(n) : static_cast<std::uint64_t>(n);
  return (n < 0 ? "-" : "") + grouped(mag);
}

std::string scalar_text(const json::value& v) {
  if (v.is_string()) return std::string(v.as_string());
  return json::serialize(v);
}

// |cents| as "<units>.<cc>", the units grouped by thousands or not.
std::string units_text(std::int64_t cents, bool group) {
  const std::uint64_t mag = cents < 0 ? 0 - static_cast<std::uint64_t>(cents) : static_cast<std::uint64_t>(cents);
  char frac[4];
  std::snprintf(frac, sizeof frac, "%02u", static_cast<unsigned>(mag % 100));
  return (group ? grouped(mag / 100) : std::to_string(mag / 100)) + "." + frac;
}

}  // namespace

std::string money_text(std::int64_t cents, std::string_view currency) {
  const std::string units = units_text(cents, true);
  const std::string sign = cents < 0 ? "-" : "";
  const std::string code = currency.empty() ? "USD" : std::string(currency);
  const char* sym = code == "USD" ? "$" : code == "EUR" ? "€" : code == "GBP" ? "£" : nullptr;
  return sym ? sign + sym + units : sign + units + " " + code;
}

std::string decimal_text(std::int64_t cents) {
  return (cents < 0 ? "-" : "") + units_text(cents, false);
}

std::optional<std::int64_t> amount_cents(const json::object& attrs) {
  for (const auto& [k, v] : attrs)
    if (is_cents_key(k) && k != "denomination_cents")  // the machine's, not the event's
      if (auto c = integer(&v)) return c;
  return std::nullopt;
}

std::string readable_details(const json::object& attrs) {
  std::string currency;
  if (auto* c = attrs.if_contains("currency"); c && c->is_string()) currency = c->as_string();
  const auto denom = integer(attrs.if_contains("denomination_cents"));
  std::string out;
  auto add = [&](const std::string& part) {
    if (!out.empty()) out += " · ";
    out += part;
  };
  for (const auto& [k, v] : attrs) {
    if (k == "meters" && v.is_object()) {
      for (const auto& [name, m] : v.as_object()) {
        if (!m.is_object()) continue;
        const auto value = integer(m.as_object().if_contains("value"));
        if (!value) continue;
        const auto delta = integer(m.as_object().if_contains("delta"));
        const auto* unit_v = m.as_object().if_contains("unit");
        const std::string unit = unit_v && unit_v->is_string() ? std::string(unit_v->as_string()) : "";
        const std::optional<std::int64_t> per =
            unit == "cents" ? std::optional<std::int64_t>(1) : unit == "credits" ? denom : std::nullopt;
        std::string part = spaced(name) + " ";
        if (per) {
          part += money_text(*value * *per, currency);
          if (delta) part += " (" + std::string(*delta >= 0 ? "+" : "") + money_text(*delta * *per, currency) + ")";
        } else {
          const std::string suffix = unit == "credits" ? " credits" : "";
          part += count_text(*value) + suffix;
          if (delta) part += " (" + std::string(*delta >= 0 ? "+" : "") + count_text(*delta) + suffix + ")";
        }
        add(part);
      }
    } else if (is_cents_key(k) && integer(&v)) {
      const std::string name = k == "cents" ? "amount" : spaced(std::string_view(k).substr(0, k.size() - 6));
      add(name + " " + money_text(*integer(&v), currency));
    } else if (!v.is_structured()) {
      add(std::string(k) + "=" + scalar_text(v));
    }
  }
  return out;
}

}  // namespace floorgate::gateway::web::detail
