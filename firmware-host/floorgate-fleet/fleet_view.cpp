#include "fleet_view.hpp"

#include <boost/json/parse.hpp>
#include <cstdio>

namespace floorgate::fleet {

namespace json = boost::json;

namespace {

const json::value* at_path(const json::object& o, std::initializer_list<const char*> path) {
  const json::object* cur = &o;
  const json::value* v = nullptr;
  for (const char* k : path) {
    if (!cur) return nullptr;
    v = cur->if_contains(k);
    if (!v) return nullptr;
    cur = v->if_object();
  }
  return v;
}

std::optional<double> number(const json::value* v) {
  if (!v || !v->is_number()) return std::nullopt;
  return v->to_number<double>();
}

json::value or_null(std::optional<double> v) { return v ? json::value(*v) : json::value(nullptr); }

// Counts stay integers in the JSON (42, not 4.2E1).
json::value count_or_null(std::optional<double> v) {
  return v ? json::value(static_cast<std::int64_t>(*v)) : json::value(nullptr);
}

std::string fmt(std::optional<double> v, const char* f) {
  if (!v) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, f, *v);
  return buf;
}

std::string duration(std::optional<double> s) {
  if (!s) return "-";
  char buf[32];
  if (*s < 120) {
    std::snprintf(buf, sizeof buf, "%.0fs", *s);
  } else if (*s < 7200) {
    std::snprintf(buf, sizeof buf, "%.0fm", *s / 60);
  } else {
    std::snprintf(buf, sizeof buf, "%.1fh", *s / 3600);
  }
  return buf;
}

}  // namespace

std::string state_of(const GatewayRow& r, std::int64_t now_ms) {
  if (!r.status.empty() && r.status_rx_ms >= r.health_rx_ms) return r.status;
  if (!r.health) return r.status.empty() ? "unknown" : r.status;
  const std::int64_t interval = r.health_interval_ms > 0 ? r.health_interval_ms : 30'000;
  return now_ms - r.health_rx_ms <= 3 * interval ? "online" : "offline";
}

bool FleetView::on_message(std::string_view topic, std::string_view payload, std::int64_t now_ms) {
  // <prefix>/<site>/<gateway>/(status|health)
  if (topic.size() <= prefix_.size() + 1 || topic.compare(0, prefix_.size(), prefix_) != 0 ||
      topic[prefix_.size()] != '/') {
    return false;
  }
  std::string_view rest = topic.substr(prefix_.size() + 1);
  const auto a = rest.find('/');
  if (a == std::string_view::npos) return false;
  const auto b = rest.find('/', a + 1);
  if (b == std::string_view::npos) return false;
  const std::string_view kind = rest.substr(b + 1);
  if (kind != "status" && kind != "health") return false;
  boost::system::error_code ec;
  auto v = json::parse(payload, ec);
  if (ec || !v.is_object()) return false;
  const auto& o = v.as_object();
  auto& row = rows_[std::string(rest.substr(0, b))];
  row.site = std::string(rest.substr(0, a));
  row.gateway = std::string(rest.substr(a + 1, b - a - 1));
  if (kind == "status") {
    if (const auto* s = o.if_contains("state"); s && s->is_string()) {
      row.status = s->as_string().c_str();
      row.status_rx_ms = now_ms;
    }
    return true;
  }
  const auto last_seq = number(at_path(o, {"store", "last_seq"}));
  const auto ts = number(o.if_contains("ts_ms"));
  if (last_seq && ts) {
    const auto seq = static_cast<std::uint64_t>(*last_seq);
    const auto t = static_cast<std::int64_t>(*ts);
    if (row.prev_ts_ms > 0 && t > row.prev_ts_ms && seq >= row.prev_last_seq) {
      row.events_per_s = static_cast<double>(seq - row.prev_last_seq) * 1000.0 /
                         static_cast<double>(t - row.prev_ts_ms);
      row.health_interval_ms = t - row.prev_ts_ms;
    }
    row.prev_last_seq = seq;
    row.prev_ts_ms = t;
  }
  row.health = o;
  row.health_rx_ms = now_ms;
  return true;
}

json::object FleetView::to_json(std::int64_t now_ms) const {
  json::array gws;
  for (const auto& [key, r] : rows_) {
    const std::string state = state_of(r, now_ms);
    json::object g{{"site", r.site}, {"gateway", r.gateway}, {"online", state == "online"},
                   {"state", state}, {"events_per_s", or_null(r.events_per_s)}};
    if (r.health) {
      const auto& h = *r.health;
      g["egms_up"] = count_or_null(number(at_path(h, {"links", "up"})));
      g["egms_total"] = count_or_null(number(at_path(h, {"links", "egms"})));
      if (const auto* a = at_path(h, {"broker", "address"})) g["broker"] = *a;
      g["health_age_s"] = static_cast<double>(now_ms - r.health_rx_ms) / 1000.0;
      json::array cs;
      if (const auto* list = h.if_contains("consumers"); list && list->is_array()) {
        for (const auto& cv : list->as_array()) {
          if (!cv.is_object()) continue;
          const auto& c = cv.as_object();
          const auto oldest_ms = number(c.if_contains("oldest_unacked_age_ms"));
          cs.push_back(json::object{
              {"name", c.contains("name") ? c.at("name") : json::value("?")},
              {"unacked", count_or_null(number(c.if_contains("unacked")))},
              {"oldest_unacked_age_s", oldest_ms ? json::value(*oldest_ms / 1000.0) : json::value(nullptr)},
              {"incoming_per_s", or_null(number(c.if_contains("incoming_per_s")))},
              {"acked_per_s", or_null(number(c.if_contains("acked_per_s")))},
              {"backlog_growth_per_min", or_null(number(c.if_contains("backlog_growth_per_min")))},
              {"drain_eta_s", or_null(number(c.if_contains("drain_eta_s")))}});
        }
      }
      g["consumers"] = std::move(cs);
    } else {
      g["egms_up"] = nullptr;
      g["egms_total"] = nullptr;
      g["consumers"] = json::array();
    }
    gws.push_back(std::move(g));
  }
  return {{"schema", "floorgate.fleet/1"}, {"gateways", std::move(gws)}};
}

std::string FleetView::to_table(std::int64_t now_ms) const {
  const auto j = to_json(now_ms);
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "%-28s %-8s %-9s %9s  %-14s %9s %8s %10s %9s\n", "GATEWAY",
                "STATE", "EGMS", "EVENTS/S", "CONSUMER", "UNACKED", "OLDEST", "GROWTH/MIN",
                "CLEARS IN");
  out += line;
  for (const auto& gv : j.at("gateways").as_array()) {
    const auto& g = gv.as_object();
    const std::string name = std::string(g.at("site").as_string()) + "/" + g.at("gateway").as_string().c_str();
    std::string egms = "-";
    if (g.at("egms_up").is_number()) {
      egms = fmt(number(&g.at("egms_up")), "%.0f") + "/" + fmt(number(&g.at("egms_total")), "%.0f");
    }
    const auto& cs = g.at("consumers").as_array();
    const std::string rate = fmt(number(&g.at("events_per_s")), "%.1f");
    if (cs.empty()) {
      std::snprintf(line, sizeof line, "%-28s %-8s %-9s %9s\n", name.c_str(),
                    g.at("state").as_string().c_str(), egms.c_str(), rate.c_str());
      out += line;
      continue;
    }
    bool first = true;
    for (const auto& cv : cs) {
      const auto& c = cv.as_object();
      const auto growth = number(&c.at("backlog_growth_per_min"));
      std::string growth_s = growth ? (*growth > 0 ? "+" : "") + fmt(growth, "%.0f") : "-";
      std::string eta = duration(number(&c.at("drain_eta_s")));
      if (!number(&c.at("drain_eta_s")) && growth && *growth > 0) eta = "growing";
      std::snprintf(line, sizeof line, "%-28s %-8s %-9s %9s  %-14s %9s %8s %10s %9s\n",
                    first ? name.c_str() : "", first ? g.at("state").as_string().c_str() : "",
                    first ? egms.c_str() : "", first ? rate.c_str() : "",
                    c.at("name").is_string() ? c.at("name").as_string().c_str() : "?",
                    fmt(number(&c.at("unacked")), "%.0f").c_str(),
                    duration(number(&c.at("oldest_unacked_age_s"))).c_str(), growth_s.c_str(),
                    eta.c_str());
      out += line;
      first = false;
    }
  }
  return out;
}

}  // namespace floorgate::fleet
