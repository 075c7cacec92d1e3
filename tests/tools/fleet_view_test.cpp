// floorgate-fleet's table (issue 23): rows from status and health topics, the event rate from
// two health messages, counts and backlog figures carried over, other topics ignored.
#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

#include "fleet_view.hpp"

using floorgate::fleet::FleetView;

namespace {
std::string health(std::int64_t ts_ms, std::uint64_t last_seq, const char* growth, const char* eta) {
  return "{\"ts_ms\":" + std::to_string(ts_ms) + ",\"store\":{\"last_seq\":" + std::to_string(last_seq) +
         "},\"links\":{\"egms\":32,\"up\":31},\"broker\":{\"address\":\"rmq-a:1883\"},"
         "\"consumers\":[{\"name\":\"slot-mgmt\",\"unacked\":120,\"oldest_unacked_age_ms\":4500,"
         "\"incoming_per_s\":10.0,\"acked_per_s\":8.0,\"backlog_growth_per_min\":" + growth +
         ",\"drain_eta_s\":" + eta + "}]}";
}
}  // namespace

TEST(FleetView, RowsRatesAndBacklogFromStatusAndHealth) {
  FleetView v("floor/v1");
  EXPECT_TRUE(v.on_message("floor/v1/casino/gw-01/status", R"({"state":"online"})", 0));
  EXPECT_TRUE(v.on_message("floor/v1/casino/gw-01/health", health(10'000, 1000, "120", "null"), 0));
  auto j = v.to_json(500);
  auto& g = j.at("gateways").as_array().at(0).as_object();
  EXPECT_TRUE(g.at("events_per_s").is_null());  // one health message: no rate yet
  EXPECT_TRUE(v.on_message("floor/v1/casino/gw-01/health", health(12'000, 1050, "-60", "90"), 1000));
  j = v.to_json(3000);
  auto& g2 = j.at("gateways").as_array().at(0).as_object();
  EXPECT_EQ(g2.at("gateway").as_string(), "gw-01");
  EXPECT_EQ(g2.at("site").as_string(), "casino");
  EXPECT_TRUE(g2.at("online").as_bool());
  EXPECT_DOUBLE_EQ(g2.at("events_per_s").as_double(), 25.0);  // 50 seqs in 2 s
  EXPECT_EQ(g2.at("egms_up").as_int64(), 31);
  EXPECT_EQ(g2.at("egms_total").as_int64(), 32);
  EXPECT_EQ(g2.at("broker").as_string(), "rmq-a:1883");
  EXPECT_DOUBLE_EQ(g2.at("health_age_s").as_double(), 2.0);
  auto& c = g2.at("consumers").as_array().at(0).as_object();
  EXPECT_EQ(c.at("unacked").as_int64(), 120);
  EXPECT_DOUBLE_EQ(c.at("oldest_unacked_age_s").as_double(), 4.5);
  EXPECT_DOUBLE_EQ(c.at("drain_eta_s").as_double(), 90.0);
  const auto table = v.to_table(3000);
  EXPECT_NE(table.find("casino/gw-01"), std::string::npos) << table;
  EXPECT_NE(table.find("31/32"), std::string::npos) << table;
  EXPECT_NE(table.find("25.0"), std::string::npos) << table;
  EXPECT_NE(table.find("90s"), std::string::npos) << table;
}

TEST(FleetView, OfflineGatewaysGrowingBacklogsAndForeignTopics) {
  FleetView v("floor/v1");
  EXPECT_FALSE(v.on_message("floor/v1/casino/gw-02/c/slot-mgmt/financial/e1", "{}", 0));
  EXPECT_FALSE(v.on_message("other/casino/gw-02/status", R"({"state":"online"})", 0));
  EXPECT_FALSE(v.on_message("floor/v1/casino/gw-02/health", "not json", 0));
  EXPECT_EQ(v.size(), 0u);
  // No status seen (a broker that does not send retained messages to wildcard subscriptions):
  // online while its health keeps coming, offline once three intervals pass without it.
  EXPECT_TRUE(v.on_message("floor/v1/casino/gw-02/health", health(1'000, 5, "300", "null"), 100));
  EXPECT_TRUE(v.on_message("floor/v1/casino/gw-02/health", health(3'000, 9, "300", "null"), 2100));
  EXPECT_EQ(v.to_json(2200).at("gateways").as_array().at(0).as_object().at("state").as_string(), "online");
  EXPECT_EQ(v.to_json(8200).at("gateways").as_array().at(0).as_object().at("state").as_string(), "offline");
  // The Last Will after the last health: offline at once.
  EXPECT_TRUE(v.on_message("floor/v1/casino/gw-02/status", R"({"state":"offline"})", 2300));
  const auto j = v.to_json(2400);
  EXPECT_FALSE(j.at("gateways").as_array().at(0).as_object().at("online").as_bool());
  const auto table = v.to_table(2400);
  EXPECT_NE(table.find("offline"), std::string::npos) << table;
  EXPECT_NE(table.find("growing"), std::string::npos) << table;
  EXPECT_NE(table.find("+300"), std::string::npos) << table;
}
