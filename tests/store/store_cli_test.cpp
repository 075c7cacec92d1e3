// `floorgate store stats|verify|export` on a real store file (issue 21): verify finds a single
// altered byte in a row's attrs, a deleted row and a swapped pair, and names the first bad
// seq; stats and export read the same file, live or copied.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>

#include <fstream>
#include <sstream>

#include "store_test_util.hpp"
#include "test_process.hpp"

using namespace floorgate::store;
using namespace floorgate::store::testing;
using floorgate::testing::build_path;
using floorgate::testing::ChildProcess;
using floorgate::testing::TempDir;

namespace {

struct Run {
  int status = 0;
  std::string out;
};

Run floorgate_store(const TempDir& dir, std::vector<std::string> args) {
  static int n = 0;
  args.insert(args.begin(), {build_path("firmware-host/floorgate/floorgate"), "store"});
  const auto out = (dir / ("cli-" + std::to_string(++n) + ".out")).string();
  ChildProcess p(args, out, (dir / "cli.err").string());
  Run r;
  const int status = p.wait();
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream in(out);
  r.out.assign(std::istreambuf_iterator<char>(in), {});
  return r;
}

void sql(const std::string& path, const std::string& statement) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  EXPECT_EQ(sqlite3_exec(db, statement.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
  sqlite3_free(err);
  sqlite3_close(db);
}

// A store of 30 rows over two classes, closed (as a copied file would be).
std::string make_store(const TempDir& dir) {
  Options o;
  o.path = dir / "store.db";
  std::error_code ec;
  auto s = Store::open(o, ec);
  EXPECT_FALSE(ec) << ec.message();
  for (int i = 0; i < 30; ++i) {
    Record out;
    auto r = make_event(i % 2 ? "e1" : "e2", i % 3 ? EventClass::security : EventClass::financial,
                        i % 3 ? "door.opened" : "bill.stacked", 1000 + i);
    EXPECT_FALSE(s->append_sync(r, &out));
  }
  const std::string path = (dir / "store.db").string();
  s->close();
  return path;
}

}  // namespace

TEST(StoreCli, VerifyFindsAnAlteredByteADeletedRowAndASwappedPair) {
  TempDir dir;
  const std::string db = make_store(dir);
  auto ok = floorgate_store(dir, {"verify", "--db", db});
  EXPECT_EQ(ok.status, 0) << ok.out;
  EXPECT_NE(ok.out.find("chain holds: verified 30 rows"), std::string::npos) << ok.out;

  // One byte of one row's attrs.
  sql(db, "UPDATE event_security SET attrs=replace(attrs,'main','mbin') WHERE seq=8");
  auto altered = floorgate_store(dir, {"verify", "--db", db});
  EXPECT_EQ(altered.status, 1);
  EXPECT_NE(altered.out.find("at seq 8: hash mismatch"), std::string::npos) << altered.out;
  sql(db, "UPDATE event_security SET attrs=replace(attrs,'mbin','main') WHERE seq=8");
  EXPECT_EQ(floorgate_store(dir, {"verify", "--db", db}).status, 0);
  // A range that ends before the damage still holds.
  sql(db, "DELETE FROM event_security WHERE seq=20");
  auto deleted = floorgate_store(dir, {"verify", "--db", db});
  EXPECT_EQ(deleted.status, 1);
  EXPECT_NE(deleted.out.find("at seq 20: row missing"), std::string::npos) << deleted.out;
  EXPECT_EQ(floorgate_store(dir, {"verify", "--db", db, "--from", "1", "--to", "19"}).status, 0);
}

TEST(StoreCli, VerifyFindsASwappedPair) {
  TempDir dir;
  const std::string db = make_store(dir);
  // Rows 11 and 13 (both security) swap their contents but keep their seqs and hashes.
  sql(db, "UPDATE event_security SET egm=CASE seq WHEN 11 THEN 'e2' ELSE 'e1' END, "
          "ts_gw=CASE seq WHEN 11 THEN 1012 ELSE 1010 END WHERE seq IN (11,13)");
  auto swapped = floorgate_store(dir, {"verify", "--db", db});
  EXPECT_EQ(swapped.status, 1);
  EXPECT_NE(swapped.out.find("at seq 11"), std::string::npos) << swapped.out;
}

TEST(StoreCli, StatsAndExportReadTheFile) {
  TempDir dir;
  const std::string db = make_store(dir);
  auto st = floorgate_store(dir, {"stats", "--db", db});
  ASSERT_EQ(st.status, 0) << st.out;
  EXPECT_NE(st.out.find("\"rows\":30"), std::string::npos) << st.out;
  EXPECT_NE(st.out.find("\"financial\":10"), std::string::npos) << st.out;
  EXPECT_NE(st.out.find("\"last_seq\":30"), std::string::npos) << st.out;
  auto all = floorgate_store(dir, {"export", "--db", db});
  ASSERT_EQ(all.status, 0);
  EXPECT_EQ(std::count(all.out.begin(), all.out.end(), '\n'), 30);
  EXPECT_NE(all.out.find("\"attrs\":{\"door\":\"main\""), std::string::npos) << all.out.substr(0, 400);
  auto some = floorgate_store(dir, {"export", "--db", db, "--egm", "e1", "--type", "bill.*",
                                    "--since", "1005", "--format", "csv"});
  ASSERT_EQ(some.status, 0);
  std::istringstream lines(some.out);
  std::string header, line;
  std::getline(lines, header);
  EXPECT_EQ(header, "seq,epoch,egm,egm_seq,type,class,ts_gw_ms,ts_egm_ms,source,attrs,hash");
  int n = 0;
  while (std::getline(lines, line)) {
    ++n;
    EXPECT_NE(line.find(",e1,"), std::string::npos) << line;
    EXPECT_NE(line.find(",bill.stacked,financial,"), std::string::npos) << line;
  }
  EXPECT_EQ(n, 4);  // i = 9, 15, 21, 27: odd (e1), multiple of 3 (bill), ts >= 1005
  auto bad = floorgate_store(dir, {"export", "--db", db, "--format", "xml"});
  EXPECT_EQ(bad.status, 2);
  EXPECT_EQ(floorgate_store(dir, {"verify", "--db", (dir / "nope.db").string()}).status, 2);
}
