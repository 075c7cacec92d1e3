#pragma once
// Thin RAII wrappers over the SQLite C API used only inside store/src (private header).

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <system_error>
#include <unordered_map>

namespace floorgate::store::detail {

// Maps an SQLite result code to the store's error values (SQLITE_FULL -> disk_full, ...).
std::error_code sqlite_error(int rc);

// Inside a transaction: an error when SQLite has already rolled it back, else none. A statement
// that fails with an I/O, disk-full or out-of-memory error rolls the whole transaction back,
// even one that only reads (sqlite.org/lang_transaction.html, "Response To Errors Within A
// Transaction"), and the statements after it would each run and commit on their own. A caller
// that goes on after a failed statement inside a transaction (a read it can do without) asks
// this before its next write. The error is the connection's last one (io_error at least).
std::error_code transaction_lost(sqlite3* db);

// One prepared statement; reset() before each reuse. Thread: the connection's owner.
class Stmt {
 public:
  Stmt() = default;
  Stmt(sqlite3* db, std::string_view sql);
  ~Stmt();
  Stmt(Stmt&& o) noexcept : st_(o.st_) { o.st_ = nullptr; }
  Stmt& operator=(Stmt&& o) noexcept;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  bool valid() const { return st_ != nullptr; }
  Stmt& bind(int i, std::int64_t v);
  Stmt& bind(int i, std::string_view v);
  Stmt& bind_blob(int i, const void* p, int n);
  Stmt& bind_null(int i);
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int step();
  void reset();
  std::int64_t i64(int col) const { return sqlite3_column_int64(st_, col); }
  bool is_null(int col) const { return sqlite3_column_type(st_, col) == SQLITE_NULL; }
  std::string text(int col) const;
  std::string_view blob(int col) const;
  sqlite3_stmt* get() const { return st_; }

 private:
  sqlite3_stmt* st_ = nullptr;
};

// Prepared statements of one connection, kept for reuse (key = SQL text plus a slot number
// so one SQL text can be open several times at once). Thread: the connection's owner.
class StmtCache {
 public:
  explicit StmtCache(sqlite3* db = nullptr) : db_(db) {}
  void reset_db(sqlite3* db) {
    map_.clear();
    db_ = db;
  }
  // The statement for sql, reset and unbound; prepared on first use.
  Stmt& get(const std::string& sql, int slot = 0);
  sqlite3* db() const { return db_; }

 private:
  sqlite3* db_;
  std::unordered_map<std::string, Stmt> map_;
};

// Runs one statement without results prepared once in `cache` (BEGIN, COMMIT on a hot path:
// no parse per call); SQLITE_OK when it ran to the end, else the SQLite result code.
int step_once(StmtCache& cache, const std::string& sql);
// Runs one or more statements without results; returns the SQLite result code.
int exec(sqlite3* db, std::string_view sql);
// Runs a query that returns one integer (0 when no row).
std::int64_t query_i64(sqlite3* db, std::string_view sql, int* rc_out = nullptr);
// Runs a query that returns one text value ("" when no row).
std::string query_text(sqlite3* db, std::string_view sql, int* rc_out = nullptr);

// One read transaction (one snapshot) for the life of the object.
class ReadTxn {
 public:
  explicit ReadTxn(sqlite3* db) : db_(db) { exec(db_, "BEGIN"); }
  ~ReadTxn() { exec(db_, "COMMIT"); }
  ReadTxn(const ReadTxn&) = delete;
  ReadTxn& operator=(const ReadTxn&) = delete;

 private:
  sqlite3* db_;
};

// How long a connection waits on another's lock before SQLITE_BUSY.
constexpr int kBusyTimeoutMs = 5000;

// Owns one connection.
class Db {
 public:
  Db() = default;
  ~Db() { close(); }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;
  // Opens (creating when allowed); returns the SQLite result code.
  int open(const std::string& path, bool create, const std::string& vfs = {});
  void close();
  sqlite3* get() const { return db_; }

 private:
  sqlite3* db_ = nullptr;
};

}  // namespace floorgate::store::detail
