// The jsonl and exec sinks on real files and real commands.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "floorgate/consume/sink.hpp"

namespace fc = floorgate::consume;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/fg-consume-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path); }
};

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<fc::Delivered> batch() {
  return {{"floor/v1/s/g1", 1, 1, R"({"schema":"floorgate.event/1","seq":1,"epoch":1})"},
          {"floor/v1/s/g1", 1, 2, R"({"schema":"floorgate.event/1","seq":2,"epoch":1})"}};
}

}  // namespace

TEST(ConsumeSink, JsonlWritesLinesAndCutsWhatTheStateDoesNotKnow) {
  TempDir d;
  const auto file = d.path / "events.jsonl";
  std::string mark;
  {
    auto sink = fc::make_jsonl_sink(file.string());
    ASSERT_TRUE(sink->commit(batch(), {}).ok);
    mark = sink->effect_mark();
    ASSERT_TRUE(sink->commit(batch(), {}).ok);  // written, but the state was never saved
  }
  EXPECT_EQ(slurp(file).size(), 2 * std::stoul(mark));
  auto sink = fc::make_jsonl_sink(file.string());
  sink->restore_mark(mark);
  const auto text = slurp(file);
  EXPECT_EQ(text.size(), std::stoul(mark));
  EXPECT_EQ(text.substr(0, text.find('\n')),
            R"({"gateway":"floor/v1/s/g1","event":{"schema":"floorgate.event/1","seq":1,"epoch":1}})");
}

TEST(ConsumeSink, ExecFeedsTheBatchOnStdinAndReportsStderrAfterTheLastAttempt) {
  TempDir d;
  const auto out = d.path / "got";
  auto ok = fc::make_exec_sink("cat > " + out.string(), 3);
  ASSERT_TRUE(ok->commit(batch(), {}).ok);
  const auto got = slurp(out);
  EXPECT_EQ(std::count(got.begin(), got.end(), '\n'), 2);

  auto bad = fc::make_exec_sink("echo 'no database' >&2; exit 7", 2);
  auto first = bad->commit(batch(), {});
  EXPECT_FALSE(first.ok);
  EXPECT_FALSE(first.permanent);
  auto second = bad->commit(batch(), {});
  EXPECT_FALSE(second.ok);
  EXPECT_TRUE(second.permanent);
  EXPECT_EQ(second.error, "exit status 7: no database");
}
