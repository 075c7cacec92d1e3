#include "sqlite_util.hpp"

#include "floorgate/store/store.hpp"

namespace floorgate::store::detail {

std::error_code sqlite_error(int rc) {
  switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
      return {};
    case SQLITE_FULL:
      return make_error_code(Errc::disk_full);
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return make_error_code(Errc::locked);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
      return make_error_code(Errc::corrupt);
    default:
      return make_error_code(Errc::io_error);
  }
}

std::error_code transaction_lost(sqlite3* db) {
  if (!sqlite3_get_autocommit(db)) return {};
  auto ec = sqlite_error(sqlite3_errcode(db));
  return ec ? ec : make_error_code(Errc::io_error);
}

Stmt::Stmt(sqlite3* db, std::string_view sql) {
  if (sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                         &st_, nullptr) != SQLITE_OK) {
    sqlite3_finalize(st_);
    st_ = nullptr;
  }
}

Stmt::~Stmt() { sqlite3_finalize(st_); }

Stmt& Stmt::operator=(Stmt&& o) noexcept {
  if (this != &o) {
    sqlite3_finalize(st_);
    st_ = o.st_;
    o.st_ = nullptr;
  }
  return *this;
}

Stmt& Stmt::bind(int i, std::int64_t v) {
  sqlite3_bind_int64(st_, i, v);
  return *this;
}

Stmt& Stmt::bind(int i, std::string_view v) {
  sqlite3_bind_text(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
  return *this;
}

Stmt& Stmt::bind_blob(int i, const void* p, int n) {
  sqlite3_bind_blob(st_, i, p, n, SQLITE_TRANSIENT);
  return *this;
}

Stmt& Stmt::bind_null(int i) {
  sqlite3_bind_null(st_, i);
  return *this;
}

int Stmt::step() { return st_ ? sqlite3_step(st_) : SQLITE_MISUSE; }

void Stmt::reset() {
  if (!st_) return;
  sqlite3_reset(st_);
  sqlite3_clear_bindings(st_);
}

std::string Stmt::text(int col) const {
  const auto* p = sqlite3_column_text(st_, col);
  int n = sqlite3_column_bytes(st_, col);
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n))
           : std::string();
}

std::string_view Stmt::blob(int col) const {
  const void* p = sqlite3_column_blob(st_, col);
  int n = sqlite3_column_bytes(st_, col);
  return p ? std::string_view(static_cast<const char*>(p), static_cast<std::size_t>(n))
           : std::string_view();
}

Stmt& StmtCache::get(const std::string& sql, int slot) {
  std::string key = sql;
  key.push_back('#');
  key += std::to_string(slot);
  auto it = map_.find(key);
  if (it == map_.end()) it = map_.emplace(key, Stmt(db_, sql)).first;
  it->second.reset();
  return it->second;
}

int step_once(StmtCache& cache, const std::string& sql) {
  Stmt& st = cache.get(sql);
  const int rc = st.valid() ? st.step() : sqlite3_errcode(cache.db());
  st.reset();  // a finished statement holds nothing, but keep the cache's contract
  return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

int exec(sqlite3* db, std::string_view sql) {
  std::string s(sql);
  return sqlite3_exec(db, s.c_str(), nullptr, nullptr, nullptr);
}

std::int64_t query_i64(sqlite3* db, std::string_view sql, int* rc_out) {
  Stmt st(db, sql);
  int rc = st.valid() ? st.step() : sqlite3_errcode(db);
  if (rc_out) *rc_out = (rc == SQLITE_ROW || rc == SQLITE_DONE) ? SQLITE_OK : rc;
  return rc == SQLITE_ROW ? st.i64(0) : 0;
}

std::string query_text(sqlite3* db, std::string_view sql, int* rc_out) {
  Stmt st(db, sql);
  int rc = st.valid() ? st.step() : sqlite3_errcode(db);
  if (rc_out) *rc_out = (rc == SQLITE_ROW || rc == SQLITE_DONE) ? SQLITE_OK : rc;
  return rc == SQLITE_ROW ? st.text(0) : std::string();
}

int Db::open(const std::string& path, bool create, const std::string& vfs) {
  close();
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  int rc = sqlite3_open_v2(path.c_str(), &db_, flags, vfs.empty() ? nullptr : vfs.c_str());
  if (rc != SQLITE_OK) {
    close();
    return rc;
  }
  sqlite3_extended_result_codes(db_, 0);
  sqlite3_busy_timeout(db_, kBusyTimeoutMs);
  return rc;
}

void Db::close() {
  if (db_) sqlite3_close_v2(db_);
  db_ = nullptr;
}

}  // namespace floorgate::store::detail
