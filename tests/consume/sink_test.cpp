// The jsonl and exec sinks on real files and real commands.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/resource.h>

#include <algorithm>
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

// A write that fails halfway (here the file size limit; on the box, a full disk) leaves part
// of the batch in the file; the retry cuts it before writing the batch again, so each event is
// in the file once. A corrupt mark in the state is not a crash.
TEST(ConsumeSink, JsonlCutsWhatAFailedWriteLeftBeforeTheRetry) {
  TempDir d;
  const auto file = d.path / "events.jsonl";
  auto sink = fc::make_jsonl_sink(file.string());
  ASSERT_TRUE(sink->commit(batch(), {}).ok);
  const auto one_batch = std::stoul(sink->effect_mark());
  rlimit before{};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &before), 0);
  auto* old_handler = ::signal(SIGXFSZ, SIG_IGN);
  rlimit tight = before;
  tight.rlim_cur = one_batch + one_batch * 3 / 4;  // the second batch's first line and a half
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &tight), 0);
  const auto failed = sink->commit(batch(), {});
  ::setrlimit(RLIMIT_FSIZE, &before);
  ::signal(SIGXFSZ, old_handler);
  EXPECT_FALSE(failed.ok);
  EXPECT_GT(fs::file_size(file), one_batch);  // part of it is in the file
  ASSERT_TRUE(sink->commit(batch(), {}).ok);
  const auto text = slurp(file);
  EXPECT_EQ(text.size(), 2 * one_batch);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 4);
  EXPECT_EQ(sink->effect_mark(), std::to_string(2 * one_batch));
  sink->restore_mark("not a size");
  EXPECT_EQ(slurp(file).size(), 2 * one_batch);
  // Cut outside (a rotation's copytruncate): the next batch follows what is left, no padding.
  fs::resize_file(file, 0);
  ASSERT_TRUE(sink->commit(batch(), {}).ok);
  EXPECT_EQ(slurp(file).size(), one_batch);
}

// A command that writes more to stderr than a pipe holds before it has read its stdin: both
// are served together, and the batch is applied (a blocking write of stdin waited for ever).
TEST(ConsumeSink, ExecDoesNotDeadlockOnAChattyCommand) {
  std::vector<fc::Delivered> big;
  const std::string pad(200, 'x');
  for (std::uint64_t i = 1; i <= 2000; ++i) {
    big.push_back({"floor/v1/s/g1", 1, i,
                   R"({"schema":"floorgate.event/1","seq":)" + std::to_string(i) +
                       R"(,"epoch":1,"pad":")" + pad + R"("})"});
  }
  auto sink = fc::make_exec_sink("cat >&2", 1);
  EXPECT_TRUE(sink->commit(big, {}).ok);
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
