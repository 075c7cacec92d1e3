// FloorState: per-machine conditions from the event stream (floor_state.hpp).
#include "floorgate/gateway/web/floor_state.hpp"

#include <boost/json.hpp>

namespace floorgate::gateway::web {
namespace json = boost::json;

namespace {

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

std::string door_name(std::string_view attrs_json) {
  json::error_code ec;
  auto v = json::parse(attrs_json, ec);
  if (!ec && v.is_object()) {
    if (const auto* d = v.get_object().if_contains("door"); d && d->is_string())
      return std::string(d->get_string());
  }
  return "door";
}

}  // namespace

json::object EgmConditions::to_json() const {
  json::array doors;
  for (const auto& d : doors_open) doors.push_back(json::value(d));
  return json::object{{"doors_open", std::move(doors)},
                      {"handpay_pending", handpay_pending},
                      {"stacker_full", stacker_full},
                      {"tilt", tilt.empty() ? json::value(nullptr) : json::value(tilt)},
                      {"last_event_type", last_type},
                      {"last_event_ms", last_ms ? json::value(last_ms) : json::value(nullptr)}};
}

void FloorState::apply(const std::string& egm, std::string_view type, std::string_view attrs_json,
                       std::int64_t ts_ms) {
  auto& c = egms_[egm];
  c.last_type = std::string(type);
  c.last_ms = ts_ms;
  if (type == "door.opened") {
    c.doors_open.insert(door_name(attrs_json));
  } else if (type == "door.closed") {
    c.doors_open.erase(door_name(attrs_json));
  } else if (type == "handpay.pending") {
    c.handpay_pending = true;
  } else if (type == "handpay.reset" || type == "handpay.reset_acknowledged" ||
             type == "handpay.keyed_off_to_machine" || type == "handpay.cancelled") {
    c.handpay_pending = false;
  } else if (type == "bill.stacker_full") {
    c.stacker_full = true;
  } else if (type == "bill.stacker_removed") {
    c.stacker_full = false;
  } else if (type == "tilt.cleared") {
    c.tilt.clear();
  } else if (starts_with(type, "tilt.")) {
    c.tilt = std::string(type);
  }
}

const EgmConditions& FloorState::of(const std::string& egm) const {
  static const EgmConditions kNone;
  auto it = egms_.find(egm);
  return it == egms_.end() ? kNone : it->second;
}

}  // namespace floorgate::gateway::web
