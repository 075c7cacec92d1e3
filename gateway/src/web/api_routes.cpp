// The authenticated JSON API routes (see api.hpp and docs/web-api.md).
#include "web/api.hpp"
#include "web/http_util.hpp"
#include "web/readable.hpp"

#include <boost/json.hpp>

#include <charconv>
#include <ctime>
#include "floorgate/core/loop_site.hpp"

namespace floorgate::gateway::web::detail {
namespace http = boost::beast::http;
namespace json = boost::json;

namespace {

template <typename T>
bool parse_number(const std::string& s, T& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

// "2026-11-22T19:30:00.123Z" from UTC milliseconds.
std::string iso_ms(std::int64_t ms) {
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

std::string text_of(const json::value* v) {
  if (!v || v->is_null()) return {};
  if (v->is_string()) return std::string(v->as_string());
  return json::serialize(*v);
}

}  // namespace

std::string redact_secrets(std::string_view yaml) {
  // `password_hash: VALUE` in block or flow style; VALUE runs to the end of the scalar.
  static constexpr std::string_view kKey = "password_hash:";
  std::string out;
  out.reserve(yaml.size());
  std::size_t i = 0;
  while (i < yaml.size()) {
    auto at = yaml.find(kKey, i);
    if (at == std::string_view::npos) {
      out.append(yaml.substr(i));
      break;
    }
    out.append(yaml.substr(i, at + kKey.size() - i));
    std::size_t v = at + kKey.size();
    while (v < yaml.size() && yaml[v] == ' ') ++v;
    std::size_t end = v;
    if (end < yaml.size() && (yaml[end] == '"' || yaml[end] == '\'')) {
      const char q = yaml[end];
      end = yaml.find(q, end + 1);
      end = end == std::string_view::npos ? yaml.size() : end + 1;
    } else {
      while (end < yaml.size() && yaml[end] != '\n' && yaml[end] != ',' && yaml[end] != '}' &&
             yaml[end] != '#') {
        ++end;
      }
      while (end > v && yaml[end - 1] == ' ') --end;
    }
    out += " \"(set)\"";
    i = end;
  }
  return out;
}

void redact_secrets(json::value& v) {
  if (auto* o = v.if_object()) {
    for (auto& [k, child] : *o) {
      if (k == "password_hash" && child.is_string()) child = "(set)";
      else redact_secrets(child);
    }
  } else if (auto* a = v.if_array()) {
    for (auto& child : *a) redact_secrets(child);
  }
}

void redact_secrets(json::object& o) {
  json::value v(std::move(o));
  redact_secrets(v);
  o = std::move(v.as_object());
}

Response Api::config_result(const ConfigResult& r, unsigned version, bool keep_alive) {
  json::array errors;
  for (const auto& e : r.errors) {
    errors.push_back(json::object{
        {"path", e.path}, {"line", e.line}, {"column", e.column}, {"message", e.message}});
  }
  return json(r.ok ? 200 : 422,
              json::object{{"ok", r.ok}, {"message", r.message}, {"errors", std::move(errors)}},
              version, keep_alive);
}

std::optional<Response> Api::parse_event_query(const Request& req, const std::string& query,
                                               bool csv, EventQuery& eq) const {
  auto q = parse_query(query);
  if (!q) return error(400, "bad query string", req.version(), req.keep_alive());
  auto get = [&](const char* k) -> std::string {
    auto it = q->find(k);
    return it == q->end() ? std::string{} : it->second;
  };
  eq.egm = get("egm");
  eq.type = get("type");
  eq.cls = get("class");
  std::int64_t n = 0;
  std::uint64_t u = 0;
  std::size_t limit = csv ? 5000 : 200;
  for (auto [key, slot] : {std::pair{"since", &eq.since_ms}, std::pair{"until", &eq.until_ms}}) {
    std::string v = get(key);
    if (v.empty()) continue;
    if (!parse_number(v, n)) return error(400, std::string("bad ") + key, req.version(), req.keep_alive());
    *slot = n;
  }
  if (std::string v = get("before_seq"); !v.empty()) {
    if (!parse_number(v, u)) return error(400, "bad before_seq", req.version(), req.keep_alive());
    eq.before_seq = u;
  }
  if (std::string v = get("limit"); !v.empty()) {
    if (!parse_number(v, limit)) return error(400, "bad limit", req.version(), req.keep_alive());
  }
  eq.limit = std::clamp<std::size_t>(limit, 1, 5000);
  return std::nullopt;
}

bool Api::handle_stored(Request& req, const std::string& path, const std::string& query,
                        std::function<void(Outcome)>& done) {
  if (req.method() != http::verb::get) return false;
  const unsigned version = req.version();
  const bool keep_alive = req.keep_alive();
  std::weak_ptr<Api*> alive = alive_;
  // The answer, once the rows came back (on the executor; the Api may be gone by then).
  // Turning up to 5,000 rows into JSON or CSV text is work a client prices: `make` runs on
  // the worker (stateless: it may only use the static formatters).
  auto answer = [alive, done, version, keep_alive](auto make) {
    return [alive, done, version, keep_alive, make](core::Result<json::array> rows) {
      auto self = alive.lock();
      if (!self) return;
      Api& api = **self;
      if (!rows) {
        done(Outcome{api.error(503, "the store could not read events: " + rows.error().message(),
                               version, keep_alive), false, {}});
        return;
      }
      auto out = std::make_shared<Response>();
      auto in = std::make_shared<json::array>(std::move(*rows));
      auto job = [out, in, make]() mutable {
        *out = make(std::move(*in));
        return true;
      };
      if (!api.run_off_loop(std::move(job), [done, out](bool) {
            done(Outcome{std::move(*out), false, {}});
          })) {
        done(Outcome{api.busy(version, keep_alive), false, {}});
      }
    };
  };
  if (path == "/api/events" || path == "/api/events.csv") {
    const bool csv = path == "/api/events.csv";
    EventQuery eq;
    if (auto bad = parse_event_query(req, query, csv, eq)) {
      done(Outcome{std::move(*bad), false, {}});
      return true;
    }
    backend_.events(eq, answer([version, keep_alive, csv](json::array rows) {
      return csv ? events_csv(std::move(rows), version, keep_alive)
                 : json(200, json::object{{"events", std::move(rows)}}, version, keep_alive);
    }));
    return true;
  }
  if (path == "/api/audit") {
    backend_.audit(answer([version, keep_alive](json::array rows) {
      return json(200, json::object{{"audit", std::move(rows)}}, version, keep_alive);
    }));
    return true;
  }
  if (path.rfind("/api/egms/", 0) == 0 && path.find('/', 10) == std::string::npos) {
    std::string id = path.substr(10);
    std::optional<json::object> detail;
    if (!id.empty() && id.size() <= 128) detail = backend_.egm(id);
    if (!detail) {
      done(Outcome{error(404, "no such EGM", version, keep_alive), false, {}});
      return true;
    }
    EventQuery recent;
    recent.egm = id;
    recent.limit = 50;
    backend_.events(recent, answer([version, keep_alive, d = std::move(*detail)](
                                       json::array rows) mutable {
      d["recent_events"] = std::move(rows);
      return json(200, d, version, keep_alive);
    }));
    return true;
  }
  return false;
}

Response Api::events_csv(json::array rows, unsigned version, bool keep_alive) {
  // The raw columns first (unchanged), then the readable ones: the event's amount as a plain
  // decimal, its currency, and its attributes in words as the page shows them.
  std::string out = "seq,time_utc,egm,egm_seq,class,type,source,attrs,amount,currency,details\r\n";
  for (const auto& row : rows) {
    if (!row.is_object()) continue;
    const auto& o = row.as_object();
    std::string ts;
    if (auto* t = o.if_contains("ts_gw"); t && t->is_int64()) ts = iso_ms(t->as_int64());
    else if (t && t->is_uint64()) ts = iso_ms(static_cast<std::int64_t>(t->as_uint64()));
    else ts = text_of(t);
    for (auto* key : {"seq"}) out += csv_field(text_of(o.if_contains(key)));
    out += "," + csv_field(ts);
    for (auto* key : {"egm", "egm_seq", "class", "type", "source", "attrs"}) {
      out += "," + csv_field(text_of(o.if_contains(key)));
    }
    json::object attrs;
    if (const auto* a = o.if_contains("attrs"); a && a->is_object()) {
      attrs = a->as_object();
    } else if (a && a->is_string()) {
      boost::system::error_code ec;
      json::value parsed = json::parse(a->as_string(), ec);
      if (!ec && parsed.is_object()) attrs = std::move(parsed.as_object());
    }
    const auto cents = amount_cents(attrs);
    std::string currency;
    if (const auto* c = attrs.if_contains("currency"); c && c->is_string()) currency = c->as_string();
    out += "," + csv_field(cents ? decimal_text(*cents) : "");
    out += "," + csv_field(cents ? (currency.empty() ? "USD" : currency) : "");
    out += "," + csv_field(readable_details(attrs));
    out += "\r\n";
  }
  Response res{http::status::ok, version};
  res.set(http::field::content_type, "text/csv; charset=utf-8");
  res.set(http::field::content_disposition, "attachment; filename=\"floorgate-events.csv\"");
  res.set(http::field::cache_control, "no-store");
  res.set("X-Content-Type-Options", "nosniff");
  res.body() = std::move(out);
  res.keep_alive(keep_alive);
  res.prepare_payload();
  return res;
}

Response Api::route_authed(Request& req, const Session& session, const std::string& path,
                           bool& sse) {
  const auto m = req.method();
  const bool get = m == http::verb::get;
  const bool post = m == http::verb::post;
  auto not_allowed = [&] { return error(405, "method not allowed", req.version(), req.keep_alive()); };
  auto forbidden = [&] {
    return error(403, "the technician role is required", req.version(), req.keep_alive());
  };
  const bool tech = session.role == "technician";

  if (path == "/api/session") {
    if (!get) return not_allowed();
    return json(200, json::object{{"user", session.user}, {"role", session.role},
                                  {"csrf", session.csrf},
                                  {"idle_seconds", options_.session_idle.count()}},
                req);
  }
  if (path == "/api/logout") {
    if (!post) return not_allowed();
    sessions_.remove(session.token);
    Response res{http::status::no_content, req.version()};
    res.set(http::field::cache_control, "no-store");
    res.keep_alive(req.keep_alive());
    return res;
  }
  if (path == "/api/dashboard") {
    core::LoopSite site("web.dashboard");
    return get ? json(200, backend_.dashboard(), req) : not_allowed();
  }
  if (path == "/api/history") return get ? json(200, backend_.history(), req) : not_allowed();
  if (path == "/api/egms") {
    return get ? json(200, json::object{{"egms", backend_.egms()}}, req) : not_allowed();
  }
  if (path.rfind("/api/egms/", 0) == 0 && path.size() > 20 &&
      path.compare(path.size() - 10, 10, "/rom-check") == 0) {
    if (!post) return not_allowed();
    if (!tech) return forbidden();
    std::string id = path.substr(10, path.size() - 20);
    if (id.size() > 128 || !backend_.egm(id)) {
      return error(404, "no such EGM", req.version(), req.keep_alive());
    }
    std::string why = backend_.request_rom_check(id, session.user);
    if (!why.empty()) return error(409, why, req.version(), req.keep_alive());
    return json(202, json::object{{"ok", true}, {"message", "ROM signature check of " + id +
                                                                " started; the result is an event"}},
                req);
  }
  // GET /api/egms/<id>, /api/events, /api/events.csv, /api/audit: handle_stored.
  if (path.rfind("/api/egms/", 0) == 0 || path == "/api/events" || path == "/api/events.csv" ||
      path == "/api/audit") {
    return get ? error(404, "not found", req.version(), req.keep_alive()) : not_allowed();
  }
  if (path == "/api/events/stream") {
    if (!get) return not_allowed();
    sse = true;
    return Response{http::status::ok, req.version()};
  }
  if (path == "/api/config") {
    if (!get) return not_allowed();
    // Viewers see that a secret is set, never the secret (password hashes).
    std::string yaml = backend_.config_yaml();
    json::object doc = backend_.config_document();
    if (!tech) {
      yaml = redact_secrets(yaml);
      redact_secrets(doc);
    }
    return json(200, json::object{{"yaml", std::move(yaml)}, {"document", std::move(doc)},
                                  {"can_edit", tech}},
                req);
  }
  if (path == "/api/users") {
    if (!get) return not_allowed();
    json::array list;
    for (const auto& u : users_) list.push_back(json::object{{"name", u.name}, {"role", u.role}});
    return json(200, json::object{{"users", std::move(list)}, {"can_edit", tech}}, req);
  }
  if (path == "/api/config/schema") {
    return get ? json(200, backend_.config_schema(), req) : not_allowed();
  }
  return error(404, "not found", req.version(), req.keep_alive());
}

}  // namespace floorgate::gateway::web::detail
