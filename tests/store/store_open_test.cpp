// Opening: locks, migrations, quarantine of a corrupt file, and tamper detection through raw
// SQLite edits of a closed store.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <fstream>

#include "store_test_util.hpp"
#include "test_process.hpp"

using namespace floorgate::store;
using floorgate::store::testing::make_event;
using floorgate::store::testing::Readers;
using floorgate::testing::TempDir;

namespace {

std::unique_ptr<Store> open_at(const std::filesystem::path& p, std::error_code& ec,
                               OpenReport* rep = nullptr) {
  Options o;
  o.path = p;
  return Store::open(o, ec, rep);
}

void make_store(const std::filesystem::path& p, int n) {
  std::error_code ec;
  auto s = open_at(p, ec);
  ASSERT_TRUE(s) << ec.message();
  // Group-committed; the last append's durability implies every earlier one's.
  // Every class in turn: seq k has class (k - 1) % 5, so rows spread over all five tables.
  auto ev = [](int i) {
    return make_event("e" + std::to_string(i % 2), static_cast<EventClass>(i % 5));
  };
  for (int i = 0; i + 1 < n; ++i) s->append(ev(i), nullptr);
  if (n > 0) {
    ASSERT_FALSE(s->append_sync(ev(n - 1)));
  }
}

const char* const kEventTables[] = {"event_financial", "event_security", "event_fault",
                                    "event_operational", "event_telemetry"};

void raw_sql(const std::filesystem::path& p, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(p.c_str(), &db), SQLITE_OK);
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  EXPECT_EQ(rc, SQLITE_OK) << (err ? err : "");
  sqlite3_free(err);
  sqlite3_close(db);
}

// Runs sql once per class table, with every "{t}" replaced by the table's name: how a tamperer
// edits rows without knowing which table holds them.
void raw_sql_each_table(const std::filesystem::path& p, const std::string& sql) {
  for (const char* t : kEventTables) {
    std::string one = sql;
    for (auto at = one.find("{t}"); at != std::string::npos; at = one.find("{t}")) {
      one.replace(at, 3, t);
    }
    raw_sql(p, one);
  }
}

// Rewrites a current file's events into the single `event` table of schema versions 1-3.
void to_single_event_table(const std::filesystem::path& p) {
  std::string sql =
      "CREATE TABLE event_v3(seq INTEGER PRIMARY KEY, epoch INTEGER NOT NULL, egm TEXT NOT NULL,"
      " egm_seq INTEGER NOT NULL, type TEXT NOT NULL, cls INTEGER NOT NULL, ts_gw INTEGER NOT "
      "NULL, ts_egm INTEGER, source TEXT NOT NULL, attrs TEXT NOT NULL, raw TEXT NOT NULL, hash "
      "BLOB NOT NULL);"
      "INSERT INTO event_v3 SELECT seq,epoch,egm,egm_seq,type,cls,ts_gw,ts_egm,source,attrs,raw,"
      "hash FROM event ORDER BY seq; DROP VIEW event;";
  for (const char* t : kEventTables) sql += std::string("DROP TABLE ") + t + ";";
  sql += "DROP TABLE type_class; ALTER TABLE event_v3 RENAME TO event;"
         "CREATE INDEX event_cls ON event(cls);";
  raw_sql(p, sql);
}

// The first column of the first row of sql on the file at p (-1 when it cannot be read).
long long query_int(const std::filesystem::path& p, const std::string& sql) {
  sqlite3* db = nullptr;
  sqlite3_stmt* st = nullptr;
  long long v = -1;
  if (sqlite3_open(p.c_str(), &db) == SQLITE_OK &&
      sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW) {
    v = sqlite3_column_int64(st, 0);
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

ChainCheck check(const std::filesystem::path& p) {
  std::error_code ec;
  auto s = open_at(p, ec);
  EXPECT_TRUE(s) << ec.message();
  return s ? s->verify_chain() : ChainCheck{false, 0, "open failed"};
}

TEST(StoreOpen, SecondOpenInSameProcessIsLocked) {
  TempDir dir;
  std::error_code ec;
  auto a = open_at(dir / "s.db", ec);
  ASSERT_TRUE(a);
  OpenReport rep;
  auto b = open_at(dir / "s.db", ec, &rep);
  EXPECT_FALSE(b);
  EXPECT_EQ(ec, Errc::locked);
  EXPECT_FALSE(rep.detail.empty());
  a.reset();
  auto c = open_at(dir / "s.db", ec);
  EXPECT_TRUE(c) << ec.message();
}

TEST(StoreOpen, SecondProcessGetsLockedAndTheFileStaysIntact) {
  TempDir dir;
  make_store(dir / "s.db", 5);
  floorgate::testing::ChildProcess holder(
      {STORE_CHILD_PATH, "hold", (dir / "s.db").string(), (dir / "ready").string()});
  ASSERT_TRUE(floorgate::testing::wait_until(
      [&] { return std::filesystem::exists(dir / "ready"); }, std::chrono::seconds(30)));
  std::error_code ec;
  auto s = open_at(dir / "s.db", ec);
  EXPECT_FALSE(s);
  EXPECT_EQ(ec, Errc::locked);
  floorgate::testing::ChildProcess other({STORE_CHILD_PATH, "open", (dir / "s.db").string()});
  int st = other.wait();
  ASSERT_TRUE(WIFEXITED(st));
  EXPECT_EQ(WEXITSTATUS(st), static_cast<int>(Errc::locked));
  holder.kill(SIGKILL);
  holder.wait();
  s = open_at(dir / "s.db", ec);
  ASSERT_TRUE(s) << ec.message();
  EXPECT_EQ(s->stats().rows, 5u);
  EXPECT_TRUE(s->verify_chain().ok);
}

TEST(StoreOpen, MigratesAVersion1File) {
  TempDir dir;
  auto p = dir / "s.db";
  make_store(p, 4);
  // Turn the file back into schema version 1 (what the first release wrote).
  to_single_event_table(p);
  raw_sql(p,
          "DROP TABLE dead_letter; DROP TABLE gap;"
          "ALTER TABLE state DROP COLUMN evicted_unacked_total;"
          "ALTER TABLE consumer DROP COLUMN counted; ALTER TABLE consumer DROP COLUMN "
          "pending_at; PRAGMA user_version=1;");
  std::error_code ec;
  OpenReport rep;
  auto s = open_at(p, ec, &rep);
  ASSERT_TRUE(s) << ec.message();
  EXPECT_EQ(rep.migrated_from_version, 1);
  EXPECT_FALSE(rep.created);
  EXPECT_EQ(s->stats().rows, 4u);
  EXPECT_TRUE(s->verify_chain().ok);
  ASSERT_FALSE(s->register_consumer({"c", {}, true}));
  EXPECT_FALSE(s->dead_letter("c", 2, "v2 table works"));
  s.reset();
  rep = {};
  s = open_at(p, ec, &rep);
  ASSERT_TRUE(s);
  EXPECT_EQ(rep.migrated_from_version, -1);  // already current
}

TEST(StoreOpen, MigratesAVersion3FileIntoClassTables) {
  TempDir dir;
  auto p = dir / "s.db";
  make_store(p, 50);
  {
    std::error_code ec;
    auto s = open_at(p, ec);
    Readers rd(*s);
    ASSERT_TRUE(s);
    ASSERT_FALSE(s->register_consumer({"slot", {{"financial", "security"}, {}, {}}, true}));
    ASSERT_FALSE(s->register_consumer({"all", {}, true}));
    auto b = rd["slot"].next(4, ec);
    ASSERT_EQ(b.size(), 4u);
    ASSERT_FALSE(s->ack("slot", b.back().seq));  // seq 7: rows 1, 2, 6, 7
  }
  to_single_event_table(p);
  raw_sql(p, "ALTER TABLE consumer DROP COLUMN pending_at; PRAGMA user_version=3;");
  std::error_code ec;
  OpenReport rep;
  auto s = open_at(p, ec, &rep);
  Readers rd(*s);
  ASSERT_TRUE(s) << ec.message();
  EXPECT_EQ(rep.migrated_from_version, 3);
  EXPECT_EQ(s->stats().rows, 50u);
  EXPECT_TRUE(s->verify_chain().ok);
  // Each row went to its class's table, and routes read them back in seq order.
  for (int k = 0; k < 5; ++k) {
    const std::string t = kEventTables[k];
    EXPECT_EQ(query_int(p, "SELECT count(*) FROM " + t), 10) << t;
    EXPECT_EQ(query_int(p, "SELECT count(*) FROM " + t + " WHERE cls!=" + std::to_string(k)), 0)
        << t;
  }
  // door.opened under each of the five classes
  EXPECT_EQ(query_int(p, "SELECT count(*) FROM type_class"), 5);
  auto slot = rd["slot"].next(100, ec);
  ASSERT_EQ(slot.size(), 16u);  // 20 financial+security rows, 4 acked before the migration
  EXPECT_EQ(slot.front().seq, 11u);
  for (const auto& r : slot) {
    EXPECT_TRUE(r.cls == EventClass::financial || r.cls == EventClass::security) << r.seq;
  }
  auto all = rd["all"].next(100, ec);
  ASSERT_EQ(all.size(), 50u);
  for (std::size_t i = 0; i < all.size(); ++i) EXPECT_EQ(all[i].seq, i + 1);
  for (const auto& c : s->stats().consumers) {
    EXPECT_EQ(c.unacked, c.name == "slot" ? 16u : 50u) << c.name;
  }
}

// A version-3 row whose class is no class cannot go into any table: the migration stops
// before dropping the old table, and the file is moved aside whole, not emptied.
TEST(StoreOpen, MigrationThatCannotPlaceEveryRowKeepsTheFile) {
  TempDir dir;
  auto p = dir / "s.db";
  make_store(p, 10);
  to_single_event_table(p);
  raw_sql(p, "UPDATE event SET cls=9 WHERE seq=5; ALTER TABLE consumer DROP COLUMN pending_at;"
             "PRAGMA user_version=3;");
  std::error_code ec;
  OpenReport rep;
  auto s = open_at(p, ec, &rep);
  ASSERT_TRUE(s) << ec.message();
  ASSERT_TRUE(rep.quarantined.has_value());
  EXPECT_NE(rep.detail.find("migration from schema version 3 failed"), std::string::npos)
      << rep.detail;
  EXPECT_EQ(query_int(*rep.quarantined, "SELECT count(*) FROM event"), 10);
}

TEST(StoreOpen, NewerSchemaIsRefusedAndLeftAlone) {
  TempDir dir;
  auto p = dir / "s.db";
  make_store(p, 2);
  raw_sql(p, "PRAGMA user_version=99;");
  std::error_code ec;
  auto s = open_at(p, ec);
  EXPECT_FALSE(s);
  EXPECT_EQ(ec, Errc::schema_too_new);
  EXPECT_TRUE(std::filesystem::exists(p));
}

TEST(StoreOpen, CorruptFileIsMovedAsideAndAFreshStoreGetsANewEpoch) {
  TempDir dir;
  auto p = dir / "s.db";
  std::uint64_t old_epoch = 0;
  {
    std::error_code ec;
    auto s = open_at(p, ec);
    ASSERT_TRUE(s);
    Record out;
    for (int i = 0; i < 200; ++i) ASSERT_FALSE(s->append_sync(make_event("e"), &out));
    old_epoch = out.epoch;
  }
  auto size = std::filesystem::file_size(p);
  {
    // Scribble over the middle of the file (b-tree pages), keeping the header.
    std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(4096 + 100));
    std::string junk(static_cast<std::size_t>(size) - 8192, '\x5a');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  // The fresh store's clock reads 1 ms after the old epoch (its creation time): the new epoch
  // must be later than the old one even when both files are made within the same millisecond.
  Options o;
  o.path = p;
  o.now_ms = [old_epoch] { return static_cast<std::int64_t>(old_epoch) + 1; };
  std::error_code ec;
  OpenReport rep;
  auto s = Store::open(o, ec, &rep);
  ASSERT_TRUE(s) << ec.message();
  ASSERT_TRUE(rep.quarantined.has_value());
  EXPECT_TRUE(rep.created);
  EXPECT_NE(rep.quarantined->filename().string().find("s.db.corrupt-"), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(*rep.quarantined));
  EXPECT_EQ(std::filesystem::file_size(*rep.quarantined), size);  // kept, never deleted
  EXPECT_FALSE(rep.detail.empty());
  Record out;
  ASSERT_FALSE(s->append_sync(make_event("e"), &out));
  EXPECT_EQ(out.seq, 1u);
  EXPECT_GT(out.epoch, old_epoch);
}

TEST(StoreOpen, GarbageFileIsQuarantined) {
  TempDir dir;
  auto p = dir / "s.db";
  std::ofstream(p) << std::string(10000, 'g');
  std::error_code ec;
  OpenReport rep;
  auto s = open_at(p, ec, &rep);
  ASSERT_TRUE(s) << ec.message();
  EXPECT_TRUE(rep.quarantined.has_value());
  EXPECT_FALSE(s->append_sync(make_event("e")));
}

// A crash between creating the file and committing the schema leaves a file without tables:
// nothing was ever stored in it, so it is simply created again (no quarantine). A file with a
// foreign table is someone else's data and is moved aside.
TEST(StoreOpen, FileLeftByAnInterruptedCreationIsCreatedAgain) {
  TempDir dir;
  auto p = dir / "s.db";
  raw_sql(p, "PRAGMA page_size=8192; PRAGMA journal_mode=WAL;");
  ASSERT_GT(std::filesystem::file_size(p), 0u);
  std::error_code ec;
  OpenReport rep;
  auto s = open_at(p, ec, &rep);
  ASSERT_TRUE(s) << ec.message();
  EXPECT_TRUE(rep.created);
  EXPECT_FALSE(rep.quarantined.has_value());
  ASSERT_FALSE(s->append_sync(make_event("e")));
  s.reset();

  auto q = dir / "foreign.db";
  raw_sql(q, "CREATE TABLE notes(x TEXT);");
  rep = {};
  s = open_at(q, ec, &rep);
  ASSERT_TRUE(s) << ec.message();
  EXPECT_TRUE(rep.quarantined.has_value());
}

// Above full_check_max_bytes, open() checks every small table and the event table's ends, and
// the full quick_check runs in the background: a healthy file ends "ok"; a file damaged in
// the middle opens, then reports the failure in Stats::integrity and leaves a marker so the
// next open checks fully and moves the file aside.
TEST(StoreOpen, LargeFileIsFullyCheckedInTheBackground) {
  TempDir dir;
  auto p = dir / "s.db";
  make_store(p, 3000);
  Options o;
  o.path = p;
  o.full_check_max_bytes = 0;  // treat this file as large
  std::error_code ec;
  auto wait_checked = [](Store& s) {
    std::string state;
    floorgate::testing::wait_until([&] { return (state = s.stats().integrity) != "checking"; },
                                   std::chrono::seconds(30));
    return state;
  };
  {
    OpenReport rep;
    auto s = Store::open(o, ec, &rep);
    ASSERT_TRUE(s) << ec.message();
    EXPECT_EQ(wait_checked(*s), "ok");
  }
  EXPECT_FALSE(std::filesystem::exists(p.string() + ".check-failed"));
  auto pages = std::filesystem::file_size(p) / 8192;
  ASSERT_GT(pages, 20u);
  {
    // One b-tree page in the middle of the event table.
    std::fstream f(p, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(pages / 2 * 8192 + 16));
    std::string junk(4000, '\x5a');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  {
    OpenReport rep;
    auto s = Store::open(o, ec, &rep);
    ASSERT_TRUE(s) << ec.message();
    EXPECT_FALSE(rep.quarantined.has_value()) << rep.detail;
    auto state = wait_checked(*s);
    EXPECT_NE(state, "ok");
    EXPECT_NE(state, "checking");
  }
  ASSERT_TRUE(std::filesystem::exists(p.string() + ".check-failed"));
  OpenReport rep;
  auto s = Store::open(o, ec, &rep);
  ASSERT_TRUE(s) << ec.message();
  EXPECT_TRUE(rep.quarantined.has_value());
  EXPECT_EQ(s->stats().integrity, "ok");
  EXPECT_FALSE(std::filesystem::exists(p.string() + ".check-failed"));
}

TEST(StoreChain, DetectsAlteredRow) {
  TempDir dir;
  auto p = dir / "s.db";
  make_store(p, 20);
  raw_sql_each_table(p, "UPDATE {t} SET attrs='{\"amount\":999999}' WHERE seq=7");
  auto c = check(p);
  EXPECT_FALSE(c.ok);
  EXPECT_EQ(c.first_bad_seq, 7u);
}

TEST(StoreChain, DetectsAlteredHashAndTypeAndClass) {
  TempDir dir;
  auto p = dir / "s.db";
  make_store(p, 20);
  // Row 12 (security) re-labelled financial and moved into that table, as its CHECK demands.
  raw_sql(p,
          "INSERT INTO event_financial SELECT seq,epoch,egm,egm_seq,type,0,ts_gw,ts_egm,source,"
          "attrs,raw,hash FROM event_security WHERE seq=12;"
          "DELETE FROM event_security WHERE seq=12;");
  EXPECT_EQ(check(p).first_bad_seq, 12u);
  raw_sql_each_table(p, "UPDATE {t} SET type='door.closed' WHERE seq=3");
  EXPECT_EQ(check(p).first_bad_seq, 3u);
}

TEST(StoreChain, DetectsDeletedRow) {
  TempDir dir;
  auto p = dir / "s.db";
  make_store(p, 20);
  raw_sql_each_table(p, "DELETE FROM {t} WHERE seq=9");
  auto c = check(p);
  EXPECT_FALSE(c.ok);
  EXPECT_EQ(c.first_bad_seq, 9u);
  raw_sql_each_table(p, "DELETE FROM {t} WHERE seq>=19");
  EXPECT_EQ(check(p).first_bad_seq, 9u);
}

TEST(StoreChain, DetectsDeletedTail) {
  TempDir dir;
  auto p = dir / "s.db";
  make_store(p, 20);
  raw_sql_each_table(p, "DELETE FROM {t} WHERE seq=20");
  EXPECT_EQ(check(p).first_bad_seq, 20u);
}

// A row moved into another class's table keeps its hash, but it would reach the wrong
// consumers: the table enforces its class, and the chain check names a row that got past that.
TEST(StoreChain, DetectsARowMovedToAnotherClassTable) {
  TempDir dir;
  auto p = dir / "s.db";
  make_store(p, 20);  // seq 7 is security
  const std::string move =
      "INSERT INTO event_telemetry SELECT seq,epoch,egm,egm_seq,type,cls,ts_gw,ts_egm,source,"
      "attrs,raw,hash FROM event_security WHERE seq=7; DELETE FROM event_security WHERE seq=7;";
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(p.c_str(), &db), SQLITE_OK);
    EXPECT_EQ(sqlite3_exec(db, ("BEGIN;" + move + "COMMIT;").c_str(), nullptr, nullptr, nullptr),
              SQLITE_CONSTRAINT);  // CHECK (cls = 4)
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    sqlite3_close(db);
  }
  EXPECT_TRUE(check(p).ok);
  raw_sql(p, "PRAGMA ignore_check_constraints=1;" + move);
  std::error_code ec;
  {
    // A large file's open checks only the small tables: the chain check finds the row.
    Options o;
    o.path = p;
    o.full_check_max_bytes = 0;
    auto s = Store::open(o, ec);
    ASSERT_TRUE(s) << ec.message();
    auto c = s->verify_chain();
    EXPECT_FALSE(c.ok);
    EXPECT_EQ(c.first_bad_seq, 7u);
    EXPECT_EQ(c.detail, "row in another class's table");
  }
  // A small file's full quick_check at open sees the broken CHECK and moves the file aside.
  OpenReport rep;
  auto s = open_at(p, ec, &rep);
  ASSERT_TRUE(s) << ec.message();
  ASSERT_TRUE(rep.quarantined.has_value());
  EXPECT_NE(rep.detail.find("CHECK constraint failed"), std::string::npos) << rep.detail;
  EXPECT_TRUE(std::filesystem::exists(*rep.quarantined));
}

TEST(StoreChain, DetectsReorderedRows) {
  TempDir dir;
  auto p = dir / "s.db";
  make_store(p, 20);
  // Rows 5 and 6 are in different class tables: each keeps the other's seq.
  raw_sql_each_table(p,
                     "UPDATE {t} SET seq=-5 WHERE seq=5; UPDATE {t} SET seq=5 WHERE seq=6;"
                     "UPDATE {t} SET seq=6 WHERE seq=-5;");
  auto c = check(p);
  EXPECT_FALSE(c.ok);
  EXPECT_EQ(c.first_bad_seq, 5u);
}

TEST(StoreChain, IntactStoreVerifiesInRanges) {
  TempDir dir;
  auto p = dir / "s.db";
  make_store(p, 20);
  std::error_code ec;
  auto s = open_at(p, ec);
  ASSERT_TRUE(s);
  EXPECT_TRUE(s->verify_chain().ok);
  EXPECT_TRUE(s->verify_chain(5, 15).ok);
  EXPECT_TRUE(s->verify_chain(20, 20).ok);
}

}  // namespace
