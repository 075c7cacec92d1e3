#pragma once
// Test-only Backend for the web server: 8 EGMs on two buses, an in-memory event log, a
// configuration document that apply/rollback really change (YAML read by mini_yaml), audit
// records and live pushes. Called on the server's io_context thread; the atomics let test
// threads check what happened.

#include "mini_yaml.hpp"

#include <floorgate/config/schema.hpp>
#include <floorgate/gateway/web/backend.hpp>
#include <floorgate/gateway/web/floor_state.hpp>

#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <functional>
#include <chrono>
#include <cstdio>
#include <deque>
#include <map>
#include <set>
#include <string>

namespace floorgate::testing {

namespace json = boost::json;
using floorgate::gateway::web::CheckedConfig;
using floorgate::gateway::web::ConfigError;
using floorgate::gateway::web::ConfigResult;
using floorgate::gateway::web::User;
using floorgate::gateway::web::UserChange;
using floorgate::gateway::web::EventQuery;

inline std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Writes `v` as block YAML in the same subset the page's emitter produces.
inline void emit_yaml(const json::value& v, int indent, std::string& out) {
  std::string pad(static_cast<std::size_t>(indent), ' ');
  auto scalar = [](const json::value& s) {
    if (s.is_string()) return json::serialize(s);
    if (s.is_array()) return std::string("[]");
    if (s.is_object()) return std::string("{}");
    return json::serialize(s);
  };
  auto complex = [](const json::value& s) {
    return (s.is_object() && !s.as_object().empty()) || (s.is_array() && !s.as_array().empty());
  };
  if (v.is_object()) {
    for (const auto& [k, x] : v.as_object()) {
      out += pad + std::string(k) + ":";
      if (complex(x)) {
        out += "\n";
        emit_yaml(x, indent + 2, out);
      } else {
        out += " " + scalar(x) + "\n";
      }
    }
  } else if (v.is_array()) {
    for (const auto& x : v.as_array()) {
      if (x.is_object() && !x.as_object().empty()) {
        std::string sub;
        emit_yaml(x, indent + 2, sub);
        out += pad + "- " + sub.substr(static_cast<std::size_t>(indent) + 2);
      } else if (complex(x)) {
        out += pad + "-\n";
        emit_yaml(x, indent + 2, out);
      } else {
        out += pad + "- " + scalar(x) + "\n";
      }
    }
  }
}

class FakeBackend : public floorgate::gateway::web::Backend {
 public:
  FakeBackend() {
    json::array bus1, bus2;
    for (int i = 1; i <= 4; ++i) bus1.push_back(egm_cfg("bank1-0" + std::to_string(i), i));
    for (int i = 1; i <= 4; ++i) bus2.push_back(egm_cfg("bank2-0" + std::to_string(i), i));
    doc_ = json::object{
        {"gateway", {{"id", "gw-demo"}, {"site", "demo-casino"}}},
        {"mqtt", {{"host", "127.0.0.1"}, {"port", 1883}}},
        {"buses", json::array{
            json::object{{"id", "bus1"}, {"driver", "sas-serial"}, {"port", "/dev/ttyS1"},
                         {"egms", bus1}},
            json::object{{"id", "bus2"}, {"driver", "sas-tcp"}, {"endpoint", "10.0.0.20:4001"},
                         {"egms", bus2}}}},
        {"consumers", json::array{
            json::object{{"name", "sms"}, {"required", true}, {"window", 64},
                         {"route", {{"classes", json::array{"financial", "security"}}}}},
            json::object{{"name", "maintenance"}, {"required", false}, {"window", 32},
                         {"route", {{"classes", json::array{"fault", "security"}}}}}}},
        {"web", {{"users", json::array{json::object{
                     {"name", "tech"}, {"role", "technician"},
                     {"password_hash", "pbkdf2-sha256$210000$c2FsdHNhbHRzYWx0c2FsdA==$"
                                       "aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g="}}}}}}};
    for (int i = 0; i < 20; ++i) add_event("bank1-0" + std::to_string(1 + i % 4), "game.started", "operational", json::object{});
  }

  // --- test controls (io thread) ---
  // Replaces the buses with `buses` of `per_bus` EGMs each (bank<b>-<nn>, address nn, bank
  // "bank <b>"): the web benchmark's floor of 64 machines.
  void set_floor(int buses, int per_bus) {
    json::array list;
    for (int b = 1; b <= buses; ++b) {
      json::array egms;
      for (int i = 1; i <= per_bus; ++i) {
        char id[32];
        std::snprintf(id, sizeof id, "bank%d-%02d", b, i);
        json::object e = egm_cfg(id, i);
        e["bank"] = "bank " + std::to_string(b);
        egms.push_back(std::move(e));
      }
      list.push_back(json::object{{"id", "bus" + std::to_string(b)}, {"driver", "sas-tcp"},
                                  {"endpoint", "10.0.0." + std::to_string(19 + b) + ":4001"},
                                  {"egms", std::move(egms)}});
    }
    doc_["buses"] = std::move(list);
    floor_egms_ = buses * per_bus;
  }
  // The EGM ids set_floor made, in order (empty before it was called).
  std::string floor_egm(std::uint64_t n) const {
    if (floor_egms_ == 0) return "bank1-0" + std::to_string(1 + n % 4);
    const auto& buses = doc_.at("buses").as_array();
    const auto per_bus = buses[0].at("egms").as_array().size();
    const auto i = n % static_cast<std::uint64_t>(floor_egms_);
    return std::string(buses[i / per_bus].at("egms").as_array()[i % per_bus].at("id").as_string());
  }
  // Records an event and pushes it live, as the store would after a commit.
  json::object add_event(const std::string& egm, const std::string& type, const std::string& cls,
                         json::object attrs) {
    json::object ev{{"seq", ++seq_}, {"epoch", 1}, {"egm", egm}, {"egm_seq", seq_},
                    {"type", type}, {"class", cls}, {"ts_gw", now_ms()}, {"ts_egm", nullptr},
                    {"source", "sas:0x01"}, {"attrs", std::move(attrs)}, {"raw", "01ff11"},
                    {"hash", "00"}};
    events_.push_front(ev);
    if (events_.size() > 10000) events_.pop_back();
    last_event_[egm] = ev;
    floor_.apply(egm, type, json::serialize(ev.at("attrs")), ev.at("ts_gw").to_number<std::int64_t>());
    if (live_) live_(json::object{{"kind", "event"}, {"event", ev}});
    return ev;
  }
  // Opens a slot door on `egm` (what the simulator does in the real scenario).
  void open_door(const std::string& egm) {
    add_event(egm, "door.opened", "security", json::object{{"door", "main"}});
  }

  // --- Backend ---
  json::object dashboard() override {
    ++dashboard_calls;
    json::array consumers;
    const json::value* cs = doc_.if_contains("consumers");
    for (const auto& c : cs && cs->is_array() ? cs->as_array() : json::array{}) {
      if (!c.is_object()) continue;
      consumers.push_back(json::object{{"name", c.as_object().if_contains("name") ? c.at("name") : json::value(nullptr)},
                                       {"required", c.as_object().if_contains("required") ? c.at("required") : json::value(false)},
                                       {"connected", true}, {"unacked", 3},
                                       {"oldest_unacked_age_s", 1.5}, {"acked_seq", seq_ - 3}});
    }
    auto rows = egms();
    return json::object{
        {"gateway", {{"id", "gw-demo"}, {"site", "demo-casino"}, {"version", "0.1.0"},
                     {"boot_id", "b00t"}, {"uptime_s", 3600}}},
        {"broker", {{"connected", true}, {"url", "mqtt://127.0.0.1:1883"}, {"since_ms", now_ms()}}},
        {"consumers", consumers},
        {"rates", {{"events_in_per_s", 12.5}, {"events_out_per_s", 25.0}}},
        {"store", {{"size_bytes", 1048576}, {"events", seq_}, {"oldest_seq", 1},
                   {"newest_seq", seq_}, {"retention", "ok"}}},
        {"egms", {{"total", rows.size()}, {"online", rows.size()}, {"offline", 0}}},
        {"alarms", json::array{}}};
  }

  json::array egms() override {
    json::array rows;
    auto field = [](const json::value& o, const char* k) -> json::value {
      const json::value* v = o.is_object() ? o.as_object().if_contains(k) : nullptr;
      return v ? *v : json::value(nullptr);
    };
    const json::value* buses = doc_.if_contains("buses");
    if (!buses || !buses->is_array()) return rows;
    for (const auto& b : buses->as_array()) {
      json::value list = field(b, "egms");
      if (!list.is_array()) continue;
      for (const auto& e : list.as_array()) {
        json::value idv = field(e, "id");
        std::string id = idv.is_string() ? std::string(idv.as_string()) : "";
        json::object row{{"id", id}, {"bus", field(b, "id")},
                         {"port", field(b, "port").is_null() ? field(b, "endpoint") : field(b, "port")},
                         {"address", field(e, "address")}, {"protocol", "sas"},
                         {"link", "online"}, {"last_poll_ms", now_ms()},
                         {"counters", {{"polls", 1000}, {"crc_errors", 0}, {"events", 5}}}};
        auto it = last_event_.find(id);
        row["last_event_ms"] = it == last_event_.end() ? json::value(nullptr) : it->second.at("ts_gw");
        row["last_event_type"] = it == last_event_.end() ? json::value(nullptr) : it->second.at("type");
        row["bank"] = field(e, "bank").is_string() ? field(e, "bank") : json::value("");
        row["location"] = field(e, "location").is_string() ? field(e, "location") : json::value("");
        row["conditions"] = floor_.of(id).to_json();
        rows.push_back(std::move(row));
      }
    }
    return rows;
  }

  std::optional<json::object> egm(std::string_view id) override {
    for (auto& r : egms()) {
      if (r.at("id").as_string() != id) continue;
      json::object d = r.as_object();
      d["identity"] = {{"sas_version", "6.03"}, {"serial", "SN-" + std::string(id)},
                       {"denomination_cents", 1}, {"game_id", "AB"}};
      d["meters"] = {{"coin_in_cents", 123456}, {"coin_out_cents", 65432}, {"games_played", 789}};
      return d;  // the server adds recent_events from events()
    }
    return std::nullopt;
  }

  void events(const EventQuery& q, RowsHandler done) override {
    if (store_fails) return done(std::make_error_code(std::errc::io_error));
    done(events_now(q));
  }
  json::array events_now(const EventQuery& q) {
    last_query = q;
    json::array out;
    for (const auto& ev : events_) {
      if (out.size() >= q.limit) break;
      if (!q.egm.empty() && ev.at("egm").as_string() != q.egm) continue;
      if (!q.cls.empty() && ev.at("class").as_string() != q.cls) continue;
      std::string type(ev.at("type").as_string());
      if (!q.type.empty()) {
        std::string t = q.type;
        if (t.back() == '*') t.pop_back();
        if (t.back() == '.' ? type.rfind(t, 0) != 0 : type != t) continue;
      }
      auto ts = ev.at("ts_gw").as_int64();
      if (q.since_ms && ts < *q.since_ms) continue;
      if (q.until_ms && ts > *q.until_ms) continue;
      if (q.before_seq && ev.at("seq").to_number<std::uint64_t>() >= *q.before_seq) continue;
      out.push_back(ev);
    }
    return out;
  }

  std::string config_yaml() override {
    std::string out = "# floorgate configuration (fake backend)\n";
    emit_yaml(doc_, 0, out);
    return out;
  }
  json::object config_document() override { return doc_; }
  // The real key table's schema, so the demo page renders the real forms.
  const json::value& config_schema() override {
    static const json::value schema = json::parse(floorgate::config::config_schema_json());
    return schema;
  }

  // Called on the web server's worker thread (like the real one): no shared state but the
  // atomic counter.
  std::shared_ptr<const CheckedConfig> check_config(std::string yaml) const override {
    ++validate_calls;
    if (check_hook) check_hook();
    auto c = std::make_shared<Checked>();
    c->result = check(yaml, c->doc);
    return c;
  }

  void apply_config(std::shared_ptr<const CheckedConfig> checked, const std::string& user,
                    ConfigHandler done) override {
    done(apply_now(std::move(checked), user));
  }
  ConfigResult apply_now(std::shared_ptr<const CheckedConfig> checked, const std::string& user) {
    ++apply_calls;
    auto c = std::dynamic_pointer_cast<const Checked>(checked);
    if (!c || !c->result.ok) return c ? c->result : ConfigResult{};
    ConfigResult r = c->result;
    previous_.push_back(doc_);
    doc_ = c->doc;
    ++config_version;
    audit_.insert(audit_.begin(), json::object{{"ts_ms", now_ms()}, {"user", user},
                                                {"action", "config.changed"},
                                                {"summary", "applied via web"}});
    r.message = "Applied; " + std::to_string(egms().size()) + " EGMs configured";
    if (live_) live_(json::object{{"kind", "config"}, {"message", r.message}});
    return r;
  }

  void rollback_config(const std::string& user, ConfigHandler done) override {
    done(rollback_now(user));
  }
  ConfigResult rollback_now(const std::string& user) {
    if (previous_.empty()) return ConfigResult{false, {}, "No previous configuration to restore"};
    doc_ = previous_.back();
    previous_.pop_back();
    ++config_version;
    audit_.insert(audit_.begin(), json::object{{"ts_ms", now_ms()}, {"user", user},
                                                {"action", "config.rolled_back"},
                                                {"summary", "restored previous file"}});
    return ConfigResult{true, {}, "Rolled back to the previous configuration"};
  }

  void change_user(const UserChange& change, const std::string& by, ConfigHandler done) override {
    done(change_user_now(change, by));
  }
  ConfigResult change_user_now(const UserChange& change, const std::string& by) {
    using Action = UserChange::Action;
    if (change.action == Action::set_password) passwords_set[change.account] = change.password_hash;
    auto it = std::find_if(users.begin(), users.end(), [&](const User& u) { return u.name == change.account; });
    if (change.action == Action::add) users.push_back({change.account, change.role, change.password_hash});
    else if (it != users.end() && change.action == Action::set_password) it->password_hash = change.password_hash;
    else if (it != users.end() && change.action == Action::set_role) it->role = change.role;
    else if (it != users.end() && change.action == Action::remove) users.erase(it);
    user_changes.push_back(change);
    if (users_changed) users_changed(users);
    audit_.insert(audit_.begin(), json::object{{"ts_ms", now_ms()}, {"user", by},
                                                {"action", "config.changed"},
                                                {"summary", "web account " + change.account + " changed"}});
    return ConfigResult{true, {}, "Account " + change.account + " changed"};
  }
  // The accounts change_user edits, and who to tell (the demo server: WebServer::set_users).
  std::vector<User> users;
  std::function<void(const std::vector<User>&)> users_changed;
  std::vector<UserChange> user_changes;  // io thread
  std::map<std::string, std::string> passwords_set;  // account -> hash (io thread)

  void audit(RowsHandler done) override {
    if (store_fails) return done(std::make_error_code(std::errc::io_error));
    done(audit_);
  }

  std::string metrics_text() override {
    return "# HELP floorgate_events_in_total Events accepted from EGMs.\n"
           "# TYPE floorgate_events_in_total counter\nfloorgate_events_in_total " +
           std::to_string(seq_) +
           "\n# HELP floorgate_consumer_unacked Unacknowledged events per consumer.\n"
           "# TYPE floorgate_consumer_unacked gauge\n"
           "floorgate_consumer_unacked{consumer=\"sms\"} 3\n";
  }

  void subscribe_live(std::function<void(const json::object&)> on_live,
                      std::function<bool()> /*listening*/) override {
    live_ = std::move(on_live);
  }

  std::atomic<int> apply_calls{0};
  mutable std::atomic<int> validate_calls{0};
  std::function<void()> check_hook;  // runs on the worker inside check_config (tests block it)
  std::atomic<int> config_version{0};
  std::atomic<int> dashboard_calls{0};
  EventQuery last_query;
  bool store_fails = false;  // events() answers with a read error (the store could not read)

 private:
  static json::object egm_cfg(const std::string& id, int address) {
    return json::object{{"id", id}, {"address", address}, {"denomination_cents", 1}};
  }

  struct Checked : CheckedConfig {
    json::object doc;
  };

  static ConfigResult check(std::string_view yaml, json::object& doc) {
    mini_yaml::Parser p{std::string(yaml)};
    auto v = p.parse();
    if (!v) return ConfigResult{false, {{"", p.error()->line, 1, p.error()->message}}, "Not valid YAML"};
    ConfigResult r;
    if (!v->is_object() || !v->as_object().contains("buses") || !v->at("buses").is_array()) {
      r.errors.push_back({"buses", 1, 1, "a list of buses is required"});
      r.message = "The configuration has 1 error";
      return r;
    }
    std::set<std::string> ids;
    const auto& buses = v->at("buses").as_array();
    for (std::size_t b = 0; b < buses.size(); ++b) {
      std::string bp = "buses[" + std::to_string(b) + "]";
      const auto* egms = buses[b].is_object() ? buses[b].as_object().if_contains("egms") : nullptr;
      if (!egms || !egms->is_array()) continue;
      std::set<std::int64_t> addrs;
      for (std::size_t e = 0; e < egms->as_array().size(); ++e) {
        const auto& eg = egms->as_array()[e];
        std::string ep = bp + ".egms[" + std::to_string(e) + "]";
        const auto* id = eg.is_object() ? eg.as_object().if_contains("id") : nullptr;
        if (!id || !id->is_string() || id->as_string().empty()) {
          r.errors.push_back({ep + ".id", 0, 0, "an EGM id is required"});
        } else if (!ids.insert(std::string(id->as_string())).second) {
          r.errors.push_back({ep + ".id", 0, 0, "duplicate EGM id"});
        }
        const auto* a = eg.is_object() ? eg.as_object().if_contains("address") : nullptr;
        if (!a || !a->is_int64() || a->as_int64() < 1 || a->as_int64() > 127) {
          r.errors.push_back({ep + ".address", 0, 0, "SAS address must be a number from 1 to 127"});
        } else if (!addrs.insert(a->as_int64()).second) {
          r.errors.push_back({ep + ".address", 0, 0, "address already used on this bus"});
        }
      }
    }
    r.ok = r.errors.empty();
    r.message = r.ok ? "Valid" : "The configuration has " + std::to_string(r.errors.size()) + " error(s)";
    if (r.ok) doc = v->as_object();
    return r;
  }

  json::object doc_;
  std::vector<json::object> previous_;
  json::array audit_;
  std::deque<json::object> events_;
  std::map<std::string, json::object> last_event_;
  floorgate::gateway::web::FloorState floor_;
  std::uint64_t seq_ = 0;
  int floor_egms_ = 0;
  std::function<void(const json::object&)> live_;
};

}  // namespace floorgate::testing
