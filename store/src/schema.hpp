#pragma once
// Schema versions and forward migrations, keyed by PRAGMA user_version (private).

#include <cstdint>
#include <system_error>

#include "sqlite_util.hpp"

namespace floorgate::store::detail {

// The schema version this program writes.
inline constexpr int kSchemaVersion = 5;

// Creates the newest schema in an empty database with the given epoch. Thread: open().
std::error_code create_schema(sqlite3* db, std::uint64_t epoch, std::int64_t now_ms);

// Migrates from *from_version to kSchemaVersion in one transaction; sets *from_version to the
// version found (or leaves it when already current). schema_too_new for a newer file.
std::error_code migrate(sqlite3* db, int* from_version);

}  // namespace floorgate::store::detail
