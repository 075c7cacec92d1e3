#pragma once
// The store's file (SqliteStore's opener): the process lock, the integrity check at open, the
// quarantine of a corrupt file, creation with the schema, migrations (schema.cpp) and the
// connection settings every connection gets. Used by SqliteStore::start() only, on the caller
// of Store::open(); the background integrity check runs on the counter thread.

#include <filesystem>
#include <string>
#include <system_error>

#include "floorgate/store/store.hpp"
#include "sqlite_util.hpp"

namespace floorgate::store::detail {

class StoreFile {
 public:
  explicit StoreFile(const Options& opt) : opt_(opt) {}
  ~StoreFile();  // releases the lock
  StoreFile(const StoreFile&) = delete;
  StoreFile& operator=(const StoreFile&) = delete;

  // Takes the process lock (<path>.lock): Errc::locked when another process holds it.
  std::error_code lock();
  // Opens `db` (the writer's connection) on a checked, migrated file: a missing or empty file
  // is created; a corrupt one is moved aside (report.quarantined) and a fresh one created; a
  // file too big to check whole here gets a bounded check and `*deferred_check` (the caller
  // runs quick_check in the background and records a failure with record_check()).
  std::error_code open_checked(Db& db, OpenReport& report, bool* deferred_check);
  // The settings of every connection: WAL, synchronous=FULL, the page cache; a writer gets the
  // WAL size limit and the page cap, a reader query_only.
  std::error_code apply_pragmas(sqlite3* db, bool writer, int cache_kib) const;
  // Opens one more connection on the file with apply_pragmas().
  std::error_code open_connection(Db& db, bool writer, int cache_kib) const;
  // The result of the deferred full check ("ok" or what quick_check said): a failure is kept
  // in a marker file so the next open checks the whole file before anything else.
  void record_check(const std::string& result) const;

 private:
  std::string bounded_check(sqlite3* db, int* rc);
  std::error_code quarantine(Db& db, OpenReport& report, const std::string& why);
  std::error_code create_fresh(Db& db, OpenReport& report);
  std::filesystem::path check_marker() const { return opt_.path.string() + ".check-failed"; }

  const Options& opt_;
  int lock_fd_ = -1;
};

}  // namespace floorgate::store::detail
