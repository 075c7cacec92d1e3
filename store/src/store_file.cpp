// The store's file: lock, check, quarantine, creation, migrations (see store_file.hpp).
#include "store_file.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <fstream>

#include "schema.hpp"

namespace floorgate::store::detail {
namespace fs = std::filesystem;

StoreFile::~StoreFile() {
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

std::error_code StoreFile::lock() {
  std::string lock_path = opt_.path.string() + ".lock";
  lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0) return make_error_code(Errc::io_error);
  if (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(lock_fd_);
    lock_fd_ = -1;
    return make_error_code(err == EWOULDBLOCK ? Errc::locked : Errc::io_error);
  }
  return {};
}

std::error_code StoreFile::open_checked(Db& db, OpenReport& report, bool* deferred_check) {
  *deferred_check = false;
  std::error_code fec;
  if (!fs::exists(opt_.path, fec) || fs::file_size(opt_.path, fec) == 0) {
    return create_fresh(db, report);
  }
  int rc = db.open(opt_.path.string(), false, opt_.vfs);
  if (rc != SQLITE_OK) {
    return quarantine(db, report, "cannot open: " + std::string(sqlite3_errstr(rc)));
  }
  std::uintmax_t bytes = fs::file_size(opt_.path, fec);
  std::uintmax_t wal = fs::file_size(opt_.path.string() + "-wal", fec);
  bytes += fec ? 0 : wal;
  const bool full = bytes <= opt_.full_check_max_bytes || fs::exists(check_marker(), fec);
  // A full check reads every page (3-4 s for 5 million events); larger files get it after
  // open() returned, on the counter thread.
  std::string check =
      full ? query_text(db.get(), "PRAGMA quick_check", &rc) : bounded_check(db.get(), &rc);
  if (rc != SQLITE_OK) {
    auto ec = sqlite_error(rc);
    if (ec == Errc::locked || ec == Errc::io_error) return ec;
    return quarantine(db, report, "quick_check failed: " + std::string(sqlite3_errstr(rc)));
  }
  if (check != "ok") return quarantine(db, report, "quick_check: " + check);
  if (full) {
    fs::remove(check_marker(), fec);
  } else {
    *deferred_check = true;
  }
  int from = -1;
  auto ec = migrate(db.get(), &from);
  if (ec == Errc::corrupt && query_i64(db.get(), "SELECT count(*) FROM sqlite_master") == 0) {
    // A crash while the file was being created: no table, so no event was ever stored in it.
    db.close();
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::error_code e2;
      fs::remove(opt_.path.string() + suffix, e2);
    }
    *deferred_check = false;
    return create_fresh(db, report);
  }
  if (ec == Errc::corrupt) {
    *deferred_check = false;
    return quarantine(db, report, from >= 1 ? "migration from schema version " +
                                                  std::to_string(from) + " failed: " + ec.message()
                                            : std::string("no floorgate schema in the file"));
  }
  if (ec) {
    report.detail = ec.message();
    return ec;
  }
  report.migrated_from_version = from;
  return {};
}

// Every table and index except the event table's, then the event table's first and last pages
// (where a torn write or a truncated file shows first).
std::string StoreFile::bounded_check(sqlite3* db, int* rc) {
  *rc = SQLITE_OK;
  for (const char* table : {"state", "consumer", "egm", "dead_letter", "gap", "type_class"}) {
    if (query_i64(db, std::string("SELECT count(*) FROM sqlite_master WHERE name='") + table +
                          "'") == 0) {
      continue;  // an older schema: migrate() adds it
    }
    std::string r = query_text(db, std::string("PRAGMA quick_check(") + table + ")", rc);
    if (*rc != SQLITE_OK || r != "ok") return r;
  }
  for (const char* order : {"ASC", "DESC"}) {
    Stmt st(db, std::string("SELECT seq,egm,type,attrs,hash FROM event ORDER BY seq ") + order +
                    " LIMIT 256");
    int s = SQLITE_ROW;
    while ((s = st.step()) == SQLITE_ROW) {
    }
    if (s != SQLITE_DONE) {
      *rc = s;
      return sqlite3_errstr(s);
    }
  }
  return "ok";
}

void StoreFile::record_check(const std::string& result) const {
  if (result != "ok") std::ofstream(check_marker()) << result << "\n";
}

std::error_code StoreFile::quarantine(Db& db, OpenReport& report, const std::string& why) {
  db.close();
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
  std::string base = opt_.path.string() + ".corrupt-" + stamp;
  std::string target = base;
  for (int i = 1; fs::exists(target); ++i) target = base + "-" + std::to_string(i);
  std::error_code fec;
  fs::rename(opt_.path, target, fec);
  if (fec) {
    report.detail = "corrupt store could not be moved aside: " + fec.message();
    return make_error_code(Errc::corrupt);
  }
  for (const char* suffix : {"-wal", "-shm"}) {
    fs::path side = opt_.path.string() + suffix;
    std::error_code e2;
    if (fs::exists(side, e2)) fs::rename(side, target + suffix, e2);
  }
  fs::remove(check_marker(), fec);  // it named the file just moved aside
  report.quarantined = fs::path(target);
  report.detail = why;
  return create_fresh(db, report);
}

std::error_code StoreFile::create_fresh(Db& db, OpenReport& report) {
  int rc = db.open(opt_.path.string(), true, opt_.vfs);
  if (rc != SQLITE_OK) return sqlite_error(rc);
  // 2 KiB pages: a WAL commit writes every page it touched whole, so the page size multiplies
  // the bytes each small commit costs the device (docs/performance.md, "Smaller pages": 6.9 KB
  // per event at 4 KiB, 4.4 KB at 2 KiB; 1 KiB wrote less but grew the process's memory with
  // the store). Stores created with other sizes keep theirs.
  exec(db.get(), "PRAGMA page_size=2048; PRAGMA auto_vacuum=INCREMENTAL");
  if (query_text(db.get(), "PRAGMA journal_mode=WAL") != "wal") {
    return make_error_code(Errc::io_error);
  }
  exec(db.get(), "PRAGMA synchronous=FULL");
  // The epoch is the creation time in ms: a later file always gets a larger epoch.
  const std::int64_t now = opt_.now_ms();
  if (auto ec = create_schema(db.get(), static_cast<std::uint64_t>(now), now)) return ec;
  report.created = true;
  return {};
}

std::error_code StoreFile::apply_pragmas(sqlite3* db, bool writer, int cache_kib) const {
  if (query_text(db, "PRAGMA journal_mode=WAL") != "wal") return make_error_code(Errc::io_error);
  exec(db, "PRAGMA synchronous=FULL; PRAGMA temp_store=MEMORY; PRAGMA cache_size=-" +
               std::to_string(cache_kib));
  if (writer) {
    exec(db, "PRAGMA journal_size_limit=67108864");
    if (opt_.max_page_count > 0) {
      exec(db, "PRAGMA max_page_count=" + std::to_string(opt_.max_page_count));
    }
  } else {
    exec(db, "PRAGMA query_only=1");
  }
  return {};
}

std::error_code StoreFile::open_connection(Db& db, bool writer, int cache_kib) const {
  if (int rc = db.open(opt_.path.string(), false, opt_.vfs); rc != SQLITE_OK) {
    return sqlite_error(rc);
  }
  return apply_pragmas(db.get(), writer, cache_kib);
}

}  // namespace floorgate::store::detail
