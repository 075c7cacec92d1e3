// ApplianceBackend's configuration installs (gateway/src/app/backend_config.cpp): the file is
// written on the backend's file thread, applied on the loop, and only one change is in flight.
// Unit test: a real Runtime on an io_context nobody else runs, a recording ApplianceControl,
// real files in a temp dir; no store, no drivers.
#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "app/backend.hpp"
#include "app/bus_driver.hpp"
#include "floorgate/config/config.hpp"
#include "test_process.hpp"

namespace fs = std::filesystem;
using namespace floorgate;
using namespace floorgate::gateway;

namespace {

class RecordingControl final : public app::ApplianceControl {
 public:
  void apply(const config::Config& next) override { applied.push_back(next); }
  void record_audit(std::string type, std::string attrs_json) override {
    audits.emplace_back(std::move(type), std::move(attrs_json));
  }
  void set_live_feed(std::function<void(const boost::json::object&)>,
                     std::function<bool()>) override {}
  std::string request_rom_check(const std::string&, const std::string&) override { return "no"; }

  std::vector<config::Config> applied;
  std::vector<std::pair<std::string, std::string>> audits;
};

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct InstallFixture : ::testing::Test {
  void SetUp() override {
    fs::create_directory(etc);
    original = config::default_config_yaml();
    std::ofstream(rt.config_path(), std::ios::binary) << original;
  }
  // Runs the loop until `done` holds (the file thread posts its answer back to it); the work
  // guard keeps the loop waiting for that post instead of returning at once, out of work.
  template <typename Pred>
  void run_until(Pred done) {
    io.restart();  // the last guard's release, at zero work, stopped it
    auto guard = boost::asio::make_work_guard(io);
    for (int i = 0; i < 300 && !done(); ++i) io.run_one_for(std::chrono::milliseconds(100));
    ASSERT_TRUE(done());
  }

  floorgate::testing::TempDir dir;
  fs::path etc = dir.path() / "etc";
  boost::asio::io_context io;
  app::Runtime rt{io, config::default_config(), etc / "floorgate.yaml"};
  RecordingControl control;
  std::string original;
};

}  // namespace

TEST_F(InstallFixture, ASecondChangeWhileTheFirstIsBeingWrittenIsRefusedAndTheFirstLands) {
  app::ApplianceBackend backend(rt, control);
  std::string next_yaml = original;
  const std::string from = "id: ", to = "id: gw-renamed  # ";
  auto at = next_yaml.find(from);
  ASSERT_NE(at, std::string::npos) << next_yaml;
  next_yaml.replace(at, from.size(), to);
  auto checked = backend.check_config(next_yaml);
  ASSERT_TRUE(checked && checked->result.ok) << (checked ? checked->result.message : "null");

  std::optional<web::ConfigResult> first, second, third;
  backend.apply_config(checked, "tech", [&](web::ConfigResult r) { first = std::move(r); });
  // The first is on the file thread; its answer can only come through the loop, which has not
  // run yet, so the second certainly overlaps it.
  backend.apply_config(checked, "tech2", [&](web::ConfigResult r) { second = std::move(r); });
  ASSERT_TRUE(second.has_value()) << "a refusal is answered at once";
  EXPECT_FALSE(second->ok);
  EXPECT_NE(second->message.find("another configuration change is being written"),
            std::string::npos)
      << second->message;
  EXPECT_FALSE(first.has_value());
  EXPECT_TRUE(control.applied.empty()) << "nothing is applied before its file is written";

  run_until([&] { return first.has_value(); });
  EXPECT_TRUE(first->ok) << first->message;
  ASSERT_EQ(control.applied.size(), 1u);
  EXPECT_EQ(control.applied[0].gateway.id, "gw-renamed");
  EXPECT_EQ(read_file(rt.config_path()), next_yaml);
  EXPECT_EQ(read_file(fs::path(rt.config_path().string() + ".prev")), original);
  ASSERT_EQ(control.audits.size(), 1u);
  EXPECT_EQ(control.audits[0].first, "config.changed");
  EXPECT_NE(control.audits[0].second.find("\"user\":\"tech\""), std::string::npos)
      << control.audits[0].second;

  // Once the first has landed the next change is taken again.
  backend.apply_config(checked, "tech2", [&](web::ConfigResult r) { third = std::move(r); });
  run_until([&] { return third.has_value(); });
  EXPECT_TRUE(third->ok) << third->message;
  EXPECT_EQ(control.applied.size(), 2u);
}

TEST_F(InstallFixture, AFileThatCannotBeWrittenIsNotAppliedAndTheNextChangeIsTakenAgain) {
  app::ApplianceBackend backend(rt, control);
  auto checked = backend.check_config(original);
  ASSERT_TRUE(checked && checked->result.ok);
  // The file's directory goes away: the temp file cannot be created.
  fs::rename(etc, dir.path() / "gone");
  std::optional<web::ConfigResult> first, second;
  backend.apply_config(checked, "tech", [&](web::ConfigResult r) { first = std::move(r); });
  run_until([&] { return first.has_value(); });
  EXPECT_FALSE(first->ok);
  EXPECT_NE(first->message.find("Not applied: cannot"), std::string::npos) << first->message;
  EXPECT_TRUE(control.applied.empty());
  EXPECT_TRUE(control.audits.empty());

  fs::rename(dir.path() / "gone", etc);  // back
  backend.apply_config(checked, "tech", [&](web::ConfigResult r) { second = std::move(r); });
  run_until([&] { return second.has_value(); });
  EXPECT_TRUE(second->ok) << second->message;
  EXPECT_EQ(control.applied.size(), 1u);
}
