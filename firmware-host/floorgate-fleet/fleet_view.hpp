#pragma once
// The fleet table: one row per gateway from its <root>/status and <root>/health messages
// (docs/mqtt.md), with the event rate taken from successive health messages.

#include <boost/json/object.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace floorgate::fleet {

struct GatewayRow {
  std::string site, gateway;
  std::string status;              // the last <root>/status "state" seen ("" = none)
  std::int64_t status_rx_ms = 0;
  std::optional<boost::json::object> health;  // the newest health message
  std::int64_t health_rx_ms = 0;              // when it arrived (this tool's clock)
  // events/s: store.last_seq difference over ts_ms difference of two health messages.
  std::optional<double> events_per_s;
  std::uint64_t prev_last_seq = 0;
  std::int64_t prev_ts_ms = 0;
  std::int64_t health_interval_ms = 0;  // between the last two health messages
};

// online | offline | unknown. The newer of the status message (retained; the Last Will says
// offline) and the health cadence decides: brokers that do not hand retained messages to
// wildcard subscriptions (RabbitMQ 3.10) never send the status of a gateway that came up
// before the viewer, so a gateway whose health keeps arriving (within 3 intervals) is online.
std::string state_of(const GatewayRow& r, std::int64_t now_ms);

class FleetView {
 public:
  // `prefix` is the part of every root before <site>/<gateway> (default "floor/v1").
  explicit FleetView(std::string prefix) : prefix_(std::move(prefix)) {}
  // Feeds one message; false when the topic is not a gateway's status or health.
  bool on_message(std::string_view topic, std::string_view payload, std::int64_t now_ms);
  // {"gateways":[{site, gateway, online, egms_up, egms_total, events_per_s, broker,
  //   health_age_s, consumers:[{name, unacked, oldest_unacked_age_s, incoming_per_s,
  //   acked_per_s, backlog_growth_per_min, drain_eta_s}]}]}
  boost::json::object to_json(std::int64_t now_ms) const;
  // The same as a fixed-width text table (one line per gateway and consumer).
  std::string to_table(std::int64_t now_ms) const;
  std::size_t size() const { return rows_.size(); }

 private:
  std::string prefix_;
  std::map<std::string, GatewayRow> rows_;  // by "<site>/<gateway>"
};

}  // namespace floorgate::fleet
