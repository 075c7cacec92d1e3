// The PostgreSQL sink against a real server started by the test.
#include <gtest/gtest.h>

#include "floorgate/consume/sink.hpp"
#include "postgres_server.hpp"

namespace fc = floorgate::consume;

namespace {

std::string event(std::uint64_t seq) {
  return R"({"schema":"floorgate.event/1","seq":)" + std::to_string(seq) +
         R"(,"epoch":1,"egm":"egm-1","egm_seq":)" + std::to_string(seq) +
         R"(,"type":"door.opened","class":"security","ts_gw":"2026-12-07T10:00:00.000Z",)"
         R"("ts_egm":null,"source":"sas:0x11","attrs":{},"raw":"","hash":"00"})";
}

std::vector<fc::Delivered> batch(std::uint64_t first, std::uint64_t last) {
  std::vector<fc::Delivered> out;
  for (auto s = first; s <= last; ++s) out.push_back({"floor/v1/site/gw1", 1, s, event(s)});
  return out;
}

fc::Positions at(std::uint64_t upto) {
  return {{"floor/v1/site/gw1",
           R"({"epoch":1,"based":true,"known":[[0,)" + std::to_string(upto) + R"(]],"nacked":[]})"}};
}

}  // namespace

// A commit whose COMMIT reached the server but whose answer was lost (the connection cut, the
// server restarting) is tried again by the kit with the same rows and positions. That is the
// same commit, not a contradiction: before, its duplicate keys stopped the kit for good (exit 4,
// which systemd does not restart). Rows that clash with positions that say otherwise still do.
TEST(ConsumePostgresSink, TheSameCommitAgainIsNotAContradiction) {
  floorgate::testing::PostgresServer pg;
  auto sink = fc::make_postgres_sink(pg.conninfo(), "floorgate_events", "analytics");
  ASSERT_TRUE(sink->commit(batch(1, 3), at(3)).ok);
  const auto again = sink->commit(batch(1, 3), at(3));
  EXPECT_TRUE(again.ok) << again.error;
  EXPECT_FALSE(again.fatal);
  ASSERT_TRUE(sink->commit(batch(4, 5), at(5)).ok);
  const auto stale = sink->commit(batch(4, 5), at(4));  // positions that never were stored
  EXPECT_FALSE(stale.ok);
  EXPECT_TRUE(stale.fatal) << stale.error;
  const auto loaded = sink->load_positions();
  ASSERT_TRUE(loaded.ok) << loaded.error;
  ASSERT_TRUE(loaded.positions.has_value());
  ASSERT_EQ(loaded.positions->size(), 1u);
  EXPECT_NE(loaded.positions->begin()->second.find("[[0, 5]]"), std::string::npos)
      << loaded.positions->begin()->second;
}
