#include "app/backend.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <boost/json.hpp>
#include <fstream>
#include <sstream>

#include "app/bus_driver.hpp"
#include "app/config_json.hpp"
#include "floorgate/drivers/json_writer.hpp"

namespace floorgate::gateway::app {
namespace json = boost::json;

namespace {

std::string hex(const std::array<std::uint8_t, 32>& h) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (auto b : h) {
    s.push_back(d[b >> 4]);
    s.push_back(d[b & 15]);
  }
  return s;
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

// The validator words field errors as "buses[0].egms[2].address: <sentence>"; the page maps
// that path to a form field.
web::ConfigError web_error(const config::ConfigError& e) {
  auto colon = e.message.find(": ");
  std::string path;
  if (colon != std::string::npos && colon > 0) {
    auto head = e.message.substr(0, colon);
    bool is_path = head.find_first_not_of(
                       "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.[]") ==
                   std::string::npos;
    if (is_path) path = head;
  }
  return {path, e.line, e.column, e.message};
}

namespace {

web::ConfigResult result_of(const config::LoadResult& r) {
  web::ConfigResult out;
  out.ok = r.config.has_value();
  for (const auto& e : r.errors) out.errors.push_back(web_error(e));
  if (out.ok) out.message = "Valid";
  return out;
}

}  // namespace

json::object event_json(const store::Record& r) {
  json::object o;
  o["kind"] = "event";
  o["seq"] = r.seq;
  o["epoch"] = r.epoch;
  o["egm"] = r.egm;
  o["egm_seq"] = r.egm_seq;
  o["type"] = r.type;
  o["class"] = std::string(store::to_string(r.cls));
  o["ts_gw_ms"] = r.ts_gw_ms;
  o["ts_egm_ms"] = r.ts_egm_ms ? json::value(*r.ts_egm_ms) : nullptr;
  o["source"] = r.source;
  boost::system::error_code ec;
  auto attrs = json::parse(r.attrs_json, ec);
  o["attrs"] = ec ? json::value(json::object{}) : attrs;
  o["raw"] = r.raw_hex;
  o["hash"] = hex(r.hash);
  return o;
}

json::object ApplianceBackend::dashboard() { return dashboard(rt_.egms()); }

std::pair<json::object, json::array> ApplianceBackend::live_snapshot() {
  const auto views = rt_.egms();  // one look at the EGMs for both halves of the push
  return {dashboard(views), egm_rows(views)};
}

json::object ApplianceBackend::dashboard(const std::vector<EgmView>& views) {
  json::object o;
  auto now = wall_ms();
  o["gateway"] = {{"id", rt_.cfg().gateway.id},
                  {"site", rt_.cfg().gateway.site},
                  {"topic_root", rt_.cfg().gateway.topic_root},
                  {"boot_id", rt_.boot_id()},
                  {"started_ms", rt_.started_ms()},
                  {"uptime_s", (now - rt_.started_ms()) / 1000}};
  auto ds = rt_.delivery() ? rt_.delivery()->stats() : DeliveryStats{};
  o["broker"] = {{"connected", ds.connected},
                 {"host", rt_.cfg().mqtt.host},
                 {"port", rt_.cfg().mqtt.port},
                 {"address", ds.broker},
                 {"failovers", ds.failovers},
                 {"protocol", ds.protocol == 5 ? "MQTT 5" : "MQTT 3.1.1"},
                 {"last_error", ds.last_error},
                 {"connects", ds.connects},
                 {"stall_recycles", ds.stall_recycles}};
  auto st = rt_.store()->stats();
  json::array consumers;
  for (const auto& c : st.consumers) {
    json::object co{{"name", c.name},
                    {"required", c.required},
                    {"acked_upto", c.acked_upto},
                    {"unacked", c.unacked},
                    {"dead_letters", c.dead_letters}};
    co["oldest_unacked_age_s"] =
        c.oldest_unacked_ts_ms ? json::value((now - *c.oldest_unacked_ts_ms) / 1000) : nullptr;
    for (const auto& d : ds.consumers) {
      if (d.name != c.name) continue;
      co["inflight"] = d.inflight;
      co["incoming_per_s"] = d.incoming_per_s;
      co["acked_per_s"] = d.acked_per_s;
      co["backlog_growth_per_min"] = d.backlog_growth_per_min;
      co["drain_eta_s"] = d.drain_eta_s ? json::value(*d.drain_eta_s) : nullptr;
    }
    consumers.push_back(std::move(co));
  }
  o["consumers"] = std::move(consumers);
  o["events_per_s"] = rt_.events_per_s();
  o["store"] = {{"path", rt_.cfg().store.path.string()},
                {"epoch", st.epoch},
                {"rows", st.rows},
                {"bytes", st.bytes},
                {"first_seq", st.first_seq},
                {"last_seq", st.last_seq},
                {"max_bytes", rt_.cfg().store.retention.max_size_bytes},
                {"retention_alarm", st.retention_alarm},
                {"evicted_total", st.evicted_total}};
  json::array alarms;
  if (st.retention_alarm) alarms.push_back(json::value(st.retention_alarm_reason));
  if (!ds.connected) alarms.push_back(json::value("MQTT broker not connected: " + ds.last_error));
  for (auto& a : Runtime::egm_alarms(views)) alarms.push_back(json::value(a));
  int up = 0, total = 0;
  for (const auto& e : views) {
    ++total;
    up += e.link_up ? 1 : 0;
  }
  o["alarms"] = std::move(alarms);
  o["egms"] = {{"total", total}, {"online", up}};
  if (rt_.device_key()) {
    // Signed chain heads (docs/audit.md): the auditor's copy of the key must match this one.
    o["device_key"] = {{"id", rt_.device_key()->key_id()}, {"public_pem", rt_.device_key()->public_pem()},
                       {"signed_seq", rt_.signed_seq()}};
  }
  return o;
}

json::array ApplianceBackend::egms() { return egm_rows(rt_.egms()); }

json::array ApplianceBackend::egm_rows(const std::vector<EgmView>& views) {
  json::array a;
  for (const auto& e : views) a.push_back(to_json(e));
  return a;
}

std::optional<json::object> ApplianceBackend::egm(std::string_view id) {
  const auto e = rt_.egm(id);  // this EGM's view only, not the floor's
  if (!e) return std::nullopt;
  auto o = to_json(*e);
  json::object meters;
  for (const auto& [k, v] : e->meters) meters[k] = v;
  o["meters"] = std::move(meters);
  json::object units;
  for (const auto& [k, v] : e->meter_units) units[k] = v;
  o["meter_units"] = std::move(units);  // the page shows credits and cents as money
  return o;
}

void ApplianceBackend::stored_rows(store::QueryFilter filter, RowsHandler done) {
  rt_.store()->query_async(std::move(filter), [ex = rt_.io().get_executor(), done = std::move(done)](
                                                core::Result<std::vector<store::Record>> rows) {
    core::Result<json::array> out{json::array{}};
    if (!rows) {
      out = rows.error();
    } else {
      out->reserve(rows->size());
      for (const auto& r : *rows) out->push_back(event_json(r));
    }
    boost::asio::post(ex, [done, out = std::move(out)]() mutable { done(std::move(out)); });
  });
}

void ApplianceBackend::events(const web::EventQuery& q, RowsHandler done) {
  store::QueryFilter f;
  if (!q.egm.empty()) f.egm = q.egm;
  if (!q.type.empty()) f.type = q.type;
  if (!q.cls.empty()) f.cls = q.cls;
  f.since_ms = q.since_ms;
  f.until_ms = q.until_ms;
  f.before_seq = q.before_seq;
  f.limit = q.limit;
  stored_rows(std::move(f), std::move(done));
}

std::string ApplianceBackend::config_yaml() {
  if (rt_.config_path().empty()) return config::to_yaml(rt_.cfg());
  return read_file(rt_.config_path());
}

json::object ApplianceBackend::config_document() { return config_to_json(rt_.cfg()); }

std::shared_ptr<const web::CheckedConfig> ApplianceBackend::check_config(std::string yaml) const {
  auto c = std::make_shared<CheckedYaml>();
  auto loaded = config::load_string(yaml, "candidate");
  c->result = result_of(loaded);
  c->config = std::move(loaded.config);
  c->yaml = std::move(yaml);
  return c;
}

void ApplianceBackend::subscribe_live(std::function<void(const json::object&)> on_live,
                                      std::function<bool()> listening) {
  control_.set_live_feed(std::move(on_live), std::move(listening));
}

}  // namespace floorgate::gateway::app

namespace floorgate::gateway::app {

std::string ApplianceBackend::request_rom_check(std::string_view id, const std::string& user) {
  for (const auto& bus : rt_.cfg().buses) {
    for (const auto& e : bus.egms) {
      if (e.id != id) continue;
      std::string why = control_.request_rom_check(bus.id, e.id);
      if (why.empty()) spdlog::info("ROM signature check of {} requested by {}", e.id, user);
      return why;
    }
  }
  return "no such EGM";
}

}  // namespace floorgate::gateway::app
