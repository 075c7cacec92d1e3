#include "schema.hpp"

#include <string>

#include "codec.hpp"
#include "floorgate/store/store.hpp"

namespace floorgate::store::detail {
namespace {

// Version 1: events, chain state, per-EGM sequences and consumers with durable cursors.
constexpr const char* kV1 = R"sql(
CREATE TABLE state(
  id INTEGER PRIMARY KEY CHECK (id = 1),
  epoch INTEGER NOT NULL,
  last_seq INTEGER NOT NULL,
  last_hash BLOB NOT NULL,
  row_count INTEGER NOT NULL,
  anchor_seq INTEGER NOT NULL,
  anchor_hash BLOB NOT NULL,
  evicted_total INTEGER NOT NULL,
  created_ms INTEGER NOT NULL);
CREATE TABLE event(
  seq INTEGER PRIMARY KEY, epoch INTEGER NOT NULL, egm TEXT NOT NULL, egm_seq INTEGER NOT NULL,
  type TEXT NOT NULL, cls INTEGER NOT NULL, ts_gw INTEGER NOT NULL, ts_egm INTEGER,
  source TEXT NOT NULL, attrs TEXT NOT NULL, raw TEXT NOT NULL, hash BLOB NOT NULL);
CREATE INDEX event_cls ON event(cls);
CREATE TABLE egm(egm TEXT PRIMARY KEY, last_egm_seq INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE consumer(
  name TEXT PRIMARY KEY,
  classes TEXT NOT NULL,
  types TEXT NOT NULL,
  egms TEXT NOT NULL,
  required INTEGER NOT NULL,
  acked INTEGER NOT NULL,
  pending INTEGER NOT NULL) WITHOUT ROWID;
)sql";

// Version 2: dead letters, hashes of rows evicted from the middle of the chain, and a count
// of evictions a required consumer had not acked.
constexpr const char* kV2 = R"sql(
CREATE TABLE dead_letter(
  consumer TEXT NOT NULL,
  seq INTEGER NOT NULL,
  reason TEXT NOT NULL,
  ts INTEGER NOT NULL,
  PRIMARY KEY (consumer, seq)) WITHOUT ROWID;
CREATE TABLE gap(seq INTEGER PRIMARY KEY, hash BLOB NOT NULL);
ALTER TABLE state ADD COLUMN evicted_unacked_total INTEGER NOT NULL DEFAULT 0;
)sql";

// Version 3: how far each consumer's pending count has been counted off (see
// ConsumerState::counted).
constexpr const char* kV3 = R"sql(
ALTER TABLE consumer ADD COLUMN counted INTEGER NOT NULL DEFAULT 0;
UPDATE consumer SET counted=acked;
)sql";

// Version 4: events partitioned by class, one table each (event_financial, ...), so that a
// consumer's batch reads only pages holding its classes: the slot system's financial+security
// rows are 15 % of the floor's events, and in one table its batch walked ~7 rows per match.
// `event` becomes a view over the five that SQLite merges by seq (ORDER BY seq streams).
// type_class records each (type, class) pair stored, so a route by type also reads only the
// tables its types were stored in (the taxonomy gives each type one class).
// The copy into the class tables; the old table is dropped only once every row is accounted
// for (a row whose cls names no class would otherwise vanish with it).
std::string v4_copy_sql() {
  std::string sql;
  for (int k = 0; k < kEventClassCount; ++k) {
    auto cls = static_cast<EventClass>(k);
    const std::string t = event_table(cls);
    sql += "CREATE TABLE " + t + "(" + event_table_columns(cls) + ");";
    sql += "INSERT INTO " + t + " SELECT " + kEventColumns + " FROM event WHERE cls=" +
           std::to_string(k) + " ORDER BY seq;";
  }
  // Which classes each type was stored with: a route by type reads only those tables.
  return sql +
         "CREATE TABLE type_class(type TEXT NOT NULL, cls INTEGER NOT NULL, PRIMARY KEY (type, "
         "cls)) WITHOUT ROWID;"
         "INSERT OR IGNORE INTO type_class SELECT DISTINCT type, cls FROM event;";
}

std::string v4_finish_sql() {
  std::string view = "CREATE VIEW event AS ";
  for (int k = 0; k < kEventClassCount; ++k) {
    view += (k ? " UNION ALL SELECT " : "SELECT ") + std::string(kEventColumns) + "," +
            std::to_string(k) + " AS tbl FROM " + event_table(static_cast<EventClass>(k));
  }
  return "DROP TABLE event;" + view + ";";
}

std::error_code run_v4(sqlite3* db) {
  if (int rc = exec(db, v4_copy_sql()); rc != SQLITE_OK) return sqlite_error(rc);
  std::string moved = "SELECT (SELECT count(*) FROM event)";
  for (int k = 0; k < kEventClassCount; ++k) {
    moved += " - (SELECT count(*) FROM " + event_table(static_cast<EventClass>(k)) + ")";
  }
  int rc = SQLITE_OK;
  auto left = query_i64(db, moved, &rc);
  if (rc != SQLITE_OK) return sqlite_error(rc);
  if (left != 0) return make_error_code(Errc::corrupt);  // rows of no known class
  return sqlite_error(exec(db, v4_finish_sql()));
}

// Version 5: the seq at which each consumer's stored pending count was exact. Commits that only
// append no longer rewrite the consumer rows (a whole page per commit for a few changed bytes);
// the rows are written with acks, recounts, registration, retention and the head book, and
// open counts what the route selects after pending_at (at most about a second of rows). A v4
// file wrote pending with every commit, so its counts are exact at its last row.
constexpr const char* kV5 = R"sql(
ALTER TABLE consumer ADD COLUMN pending_at INTEGER NOT NULL DEFAULT 0;
UPDATE consumer SET pending_at=max(ifnull((SELECT max(seq) FROM event),0),
                                   ifnull((SELECT last_seq FROM state),0));
)sql";

std::error_code run_steps(sqlite3* db, int from) {
  static const char* const kSql[] = {kV1, kV2, kV3, nullptr /* run_v4 */, kV5};
  for (int v = from; v < kSchemaVersion; ++v) {
    if (v == 3) {
      if (auto ec = run_v4(db)) return ec;
      continue;
    }
    if (int rc = exec(db, kSql[v]); rc != SQLITE_OK) return sqlite_error(rc);
  }
  return sqlite_error(exec(db, "PRAGMA user_version=" + std::to_string(kSchemaVersion)));
}

}  // namespace

std::error_code create_schema(sqlite3* db, std::uint64_t epoch, std::int64_t now_ms) {
  int rc = exec(db, "BEGIN IMMEDIATE");
  if (rc != SQLITE_OK) return sqlite_error(rc);
  auto ec = run_steps(db, 0);
  if (!ec) {
    Stmt st(db,
            "INSERT INTO state(id,epoch,last_seq,last_hash,row_count,anchor_seq,anchor_hash,"
            "evicted_total,created_ms) VALUES(1,?1,0,zeroblob(32),0,0,zeroblob(32),0,?2)");
    st.bind(1, static_cast<std::int64_t>(epoch)).bind(2, now_ms);
    ec = sqlite_error(st.step());
  }
  if (ec) {
    exec(db, "ROLLBACK");
    return ec;
  }
  return sqlite_error(exec(db, "COMMIT"));
}

std::error_code migrate(sqlite3* db, int* from_version) {
  int rc = SQLITE_OK;
  int v = static_cast<int>(query_i64(db, "PRAGMA user_version", &rc));
  if (rc != SQLITE_OK) return sqlite_error(rc);
  if (v > kSchemaVersion) return make_error_code(Errc::schema_too_new);
  if (v == kSchemaVersion) return {};
  if (v < 1) return make_error_code(Errc::corrupt);  // a file without our schema
  *from_version = v;
  rc = exec(db, "BEGIN IMMEDIATE");
  if (rc != SQLITE_OK) return sqlite_error(rc);
  auto ec = run_steps(db, v);
  if (ec) {
    exec(db, "ROLLBACK");
    return ec;
  }
  return sqlite_error(exec(db, "COMMIT"));
}

}  // namespace floorgate::store::detail
