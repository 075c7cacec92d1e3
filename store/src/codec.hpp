#pragma once
// Canonical bytes and SHA-256 chain hashing of a Record, and the event row layout (private).

#include <openssl/evp.h>

#include <array>
#include <string>

#include "floorgate/store/store.hpp"
#include "sqlite_util.hpp"

namespace floorgate::store::detail {

using Hash = std::array<std::uint8_t, 32>;

// Column list every event read uses, in the order read_record() expects.
inline constexpr const char* kEventColumns =
    "seq,epoch,egm,egm_seq,type,cls,ts_gw,ts_egm,source,attrs,raw,hash";

// Column definitions of the per-class event table for `cls` (schema version 4); a row's cls
// must name its table.
std::string event_table_columns(EventClass cls);

// Events live in one table per class, seq the rowid of each; `event` is the view over all five
// (ORDER BY seq over it streams as a merge) plus a column `tbl`, the class number of the table
// each row came from. Writes and class-routed reads use the tables.
inline constexpr int kEventClassCount = static_cast<int>(core::kEventClassCount);
std::string event_table(EventClass cls);

// Appends the canonical, length-prefixed encoding of every field except hash to out.
void canonical_bytes(const Record& r, std::string& out);

// Reusable SHA-256 context for hash = SHA256(prev_hash || canonical_bytes(record)).
class ChainHasher {
 public:
  ChainHasher();
  ~ChainHasher();
  ChainHasher(const ChainHasher&) = delete;
  ChainHasher& operator=(const ChainHasher&) = delete;
  Hash link(const Hash& prev, const Record& r);

 private:
  EVP_MD_CTX* ctx_;
  std::string buf_;
};

// Reads the kEventColumns of the current row into r.
void read_record(const Stmt& st, Record& r);
// Copies a 32-byte blob into a Hash (zero-filled when the size is wrong).
Hash to_hash(std::string_view blob);

}  // namespace floorgate::store::detail
