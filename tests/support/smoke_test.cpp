// Checks the test-support broker really starts, accepts connections and stops.
#include <gtest/gtest.h>

#include "mosquitto_broker.hpp"

TEST(TestSupport, BrokerStartsAndStops) {
  floorgate::testing::MosquittoBroker broker;
  EXPECT_TRUE(floorgate::testing::port_open(broker.port()));
  broker.stop(SIGKILL);
  EXPECT_FALSE(floorgate::testing::port_open(broker.port()));
  broker.start();
  EXPECT_TRUE(floorgate::testing::port_open(broker.port()));
}
