// Opening a store: process lock, quick_check, quarantine of a corrupt file, migrations and
// loading the chain, sequence and consumer state.
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <filesystem>
#include <fstream>

#include "floorgate/core/clock.hpp"
#include "schema.hpp"
#include "sqlite_store.hpp"

namespace floorgate::store {

std::unique_ptr<Store> Store::open(const Options& options, std::error_code& ec,
                                   OpenReport* report) {
  OpenReport local;
  auto s = std::make_unique<detail::SqliteStore>(options);
  ec = s->start(report ? *report : local);
  if (ec) return nullptr;
  return s;
}

namespace detail {
namespace fs = std::filesystem;

SqliteStore::SqliteStore(Options options) : opt_(std::move(options)) {
  if (!opt_.now_ms) {
    opt_.now_ms = core::unix_now_ms;
  }
  if (opt_.max_batch == 0) opt_.max_batch = 1;
  if (opt_.retention_chunk_rows == 0) opt_.retention_chunk_rows = 1;
}

SqliteStore::~SqliteStore() {
  close();
  for (auto& st : insert_) st = Stmt();
  wcache_.reset_db(nullptr);
  rcache_.reset_db(nullptr);
  kcache_.reset_db(nullptr);
  kdb_.close();
  checkpointer_.connection().close();
  rdb_.close();
  query_reader_.connection().close();
  bcache_.reset_db(nullptr);
  backlog_reader_.connection().close();
  wdb_.close();  // the last one: its close checkpoints the WAL into the file
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

std::error_code SqliteStore::lock_file() {
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

std::error_code SqliteStore::start(OpenReport& report) {
  if (opt_.path.empty()) return make_error_code(Errc::io_error);
  if (auto ec = lock_file()) {
    report.detail = ec == Errc::locked ? "another process holds " + opt_.path.string() + ".lock"
                                       : "cannot create the lock file";
    return ec;
  }
  if (auto ec = open_checked(report)) return ec;
  if (auto ec = apply_pragmas(wdb_.get(), true)) return ec;
  if (auto ec = load_state()) return ec;
  if (int rc = rdb_.open(opt_.path.string(), false, opt_.vfs); rc != SQLITE_OK) return sqlite_error(rc);
  // Any commit resets a reader's cache (WAL), and delivery reads each page once anyway: 2 MB
  // holds the interior pages of the five class tables and the pages of a few batches.
  if (auto ec = apply_pragmas(rdb_.get(), false, 2048)) return ec;
  wcache_.reset_db(wdb_.get());
  rcache_.reset_db(rdb_.get());
  for (int k = 0; k < kEventClassCount; ++k) {
    insert_[k] = Stmt(wdb_.get(), "INSERT INTO " + event_table(static_cast<EventClass>(k)) + "(" +
                                      kEventColumns +
                                      ") VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)");
    if (!insert_[k].valid()) return make_error_code(Errc::io_error);
  }
  // Replaces the automatic checkpoint (which would run inside a COMMIT) with our own.
  sqlite3_wal_hook(
      wdb_.get(),
      [](void* self, sqlite3*, const char*, int frames) {
        auto* me = static_cast<SqliteStore*>(self);
        me->wal_frames_ = frames;
        if (frames >= 1000) me->want_checkpoint();
        return SQLITE_OK;
      },
      this);
  auto& cdb = checkpointer_.connection();
  if (int rc = cdb.open(opt_.path.string(), false, opt_.vfs); rc != SQLITE_OK) return sqlite_error(rc);
  // The checkpointer copies WAL frames without the page cache, and the counter streams over
  // ranges it reads once: small caches, so the process's memory does not depend on whether
  // they ran lately (the writer keeps 8 MB, the reader 2 MB).
  if (auto ec = apply_pragmas(cdb.get(), true, 256)) return ec;
  if (int rc = kdb_.open(opt_.path.string(), false, opt_.vfs); rc != SQLITE_OK) return sqlite_error(rc);
  if (auto ec = apply_pragmas(kdb_.get(), false, 1024)) return ec;
  kcache_.reset_db(kdb_.get());
  auto& qdb = query_reader_.connection();
  if (int rc = qdb.open(opt_.path.string(), false, opt_.vfs); rc != SQLITE_OK) return sqlite_error(rc);
  if (auto ec = apply_pragmas(qdb.get(), false, 1024)) return ec;
  auto& bdb = backlog_reader_.connection();
  if (int rc = bdb.open(opt_.path.string(), false, opt_.vfs); rc != SQLITE_OK) return sqlite_error(rc);
  if (auto ec = apply_pragmas(bdb.get(), false, 1024)) return ec;
  bcache_.reset_db(bdb.get());
  query_reader_.start();
  backlog_reader_.start();
  checkpointer_.start();
  counter_ = std::thread([this] { counter_main(); });
  writer_ = std::thread([this] { writer_main(); });
  return {};
}

std::error_code SqliteStore::open_checked(OpenReport& report) {
  std::error_code fec;
  if (!fs::exists(opt_.path, fec) || fs::file_size(opt_.path, fec) == 0) {
    return create_fresh(report);
  }
  int rc = wdb_.open(opt_.path.string(), false, opt_.vfs);
  if (rc != SQLITE_OK) return quarantine(report, "cannot open: " + std::string(sqlite3_errstr(rc)));
  std::uintmax_t bytes = fs::file_size(opt_.path, fec);
  std::uintmax_t wal = fs::file_size(opt_.path.string() + "-wal", fec);
  bytes += fec ? 0 : wal;
  const bool full = bytes <= opt_.full_check_max_bytes || fs::exists(check_marker(), fec);
  // A full check reads every page (3-4 s for 5 million events); larger files get it after
  // open() returned, on the counter thread.
  std::string check = full ? query_text(wdb_.get(), "PRAGMA quick_check", &rc) : bounded_check(&rc);
  if (rc != SQLITE_OK) {
    auto ec = sqlite_error(rc);
    if (ec == Errc::locked || ec == Errc::io_error) return ec;
    return quarantine(report, "quick_check failed: " + std::string(sqlite3_errstr(rc)));
  }
  if (check != "ok") return quarantine(report, "quick_check: " + check);
  if (full) {
    fs::remove(check_marker(), fec);
  } else {
    integrity_ = "checking";
  }
  int from = -1;
  auto ec = migrate(wdb_.get(), &from);
  if (ec == Errc::corrupt && query_i64(wdb_.get(), "SELECT count(*) FROM sqlite_master") == 0) {
    // A crash while the file was being created: no table, so no event was ever stored in it.
    wdb_.close();
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::error_code e2;
      fs::remove(opt_.path.string() + suffix, e2);
    }
    return create_fresh(report);
  }
  if (ec == Errc::corrupt) {
    return quarantine(report, from >= 1 ? "migration from schema version " +
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
std::string SqliteStore::bounded_check(int* rc) {
  *rc = SQLITE_OK;
  for (const char* table : {"state", "consumer", "egm", "dead_letter", "gap", "type_class"}) {
    if (query_i64(wdb_.get(), std::string("SELECT count(*) FROM sqlite_master WHERE name='") +
                                  table + "'") == 0) {
      continue;  // an older schema: migrate() adds it
    }
    std::string r = query_text(wdb_.get(), std::string("PRAGMA quick_check(") + table + ")", rc);
    if (*rc != SQLITE_OK || r != "ok") return r;
  }
  for (const char* order : {"ASC", "DESC"}) {
    Stmt st(wdb_.get(), std::string("SELECT seq,egm,type,attrs,hash FROM event ORDER BY seq ") +
                            order + " LIMIT 256");
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

void SqliteStore::background_check() {
  {
    std::lock_guard lk(mu_);
    if (integrity_ != "checking") return;
  }
  int rc = SQLITE_OK;
  std::string check = query_text(kdb_.get(), "PRAGMA quick_check", &rc);
  sqlite3_db_release_memory(kdb_.get());
  if (rc == SQLITE_INTERRUPT) return;  // closing
  if (rc != SQLITE_OK) check = sqlite3_errstr(rc);
  if (check != "ok") {
    std::ofstream(check_marker()) << check << "\n";
  }
  std::lock_guard lk(mu_);
  integrity_ = check;
}

std::error_code SqliteStore::quarantine(OpenReport& report, const std::string& why) {
  wdb_.close();
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
  return create_fresh(report);
}

std::error_code SqliteStore::create_fresh(OpenReport& report) {
  int rc = wdb_.open(opt_.path.string(), true, opt_.vfs);
  if (rc != SQLITE_OK) return sqlite_error(rc);
  // 4 KiB pages, the flash page and the OS page: a WAL commit writes every page it touched
  // whole, so the page size multiplies the bytes each small commit costs the device
  // (docs/performance.md, write amplification). Stores created with 8 KiB keep it.
  exec(wdb_.get(), "PRAGMA page_size=4096; PRAGMA auto_vacuum=INCREMENTAL");
  if (query_text(wdb_.get(), "PRAGMA journal_mode=WAL") != "wal") {
    return make_error_code(Errc::io_error);
  }
  exec(wdb_.get(), "PRAGMA synchronous=FULL");
  // The epoch is the creation time in ms: a later file always gets a larger epoch.
  auto epoch = static_cast<std::uint64_t>(now_ms());
  if (auto ec = create_schema(wdb_.get(), epoch, now_ms())) return ec;
  report.created = true;
  return {};
}

std::error_code SqliteStore::apply_pragmas(sqlite3* db, bool writer, int cache_kib) {
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

std::error_code SqliteStore::load_state() {
  sqlite3* db = wdb_.get();
  Stmt st(db,
          "SELECT epoch,last_seq,last_hash,row_count,anchor_seq,anchor_hash,evicted_total,"
          "evicted_unacked_total FROM state WHERE id=1");
  if (st.step() != SQLITE_ROW) return make_error_code(Errc::io_error);
  epoch_ = static_cast<std::uint64_t>(st.i64(0));
  last_seq_ = static_cast<std::uint64_t>(st.i64(1));
  last_hash_ = to_hash(st.blob(2));
  row_count_ = static_cast<std::uint64_t>(st.i64(3));
  anchor_seq_ = static_cast<std::uint64_t>(st.i64(4));
  anchor_hash_ = to_hash(st.blob(5));
  evicted_total_ = static_cast<std::uint64_t>(st.i64(6));
  evicted_unacked_total_ = static_cast<std::uint64_t>(st.i64(7));
  Stmt eg(db, "SELECT egm,last_egm_seq FROM egm");
  while (eg.step() == SQLITE_ROW) egm_seq_[eg.text(0)] = static_cast<std::uint64_t>(eg.i64(1));
  if (auto ec = load_head_tail()) return ec;
  first_seq_ = min_kept_seq();
  // Routes by type skip the tables this does not name: it must be read whole, or not at all.
  Stmt tc(db, "SELECT type,cls FROM type_class");
  int trc = SQLITE_ROW;
  while ((trc = tc.step()) == SQLITE_ROW) {
    auto k = tc.i64(1);
    if (k < 0 || k >= kEventClassCount) return make_error_code(Errc::corrupt);
    type_classes_[tc.text(0)] |= static_cast<std::uint8_t>(1u << k);
  }
  if (trc != SQLITE_DONE) return sqlite_error(trc);
  Stmt cs(db, "SELECT name,classes,types,egms,required,acked,pending,counted FROM consumer");
  while (cs.step() == SQLITE_ROW) {
    Consumer c;
    c.spec.name = cs.text(0);
    c.spec.route.classes = split(cs.text(1));
    c.spec.route.types = split(cs.text(2));
    c.spec.route.egms = split(cs.text(3));
    c.spec.required = cs.i64(4) != 0;
    c.acked = c.ack_req = c.sent_upto = static_cast<std::uint64_t>(cs.i64(5));
    c.pending = static_cast<std::uint64_t>(cs.i64(6));
    c.counted = std::min(c.acked, static_cast<std::uint64_t>(cs.i64(7)));
    consumers_[c.spec.name] = std::move(c);
  }
  Stmt dl(db, "SELECT consumer,count(*) FROM dead_letter GROUP BY consumer");
  while (dl.step() == SQLITE_ROW) {
    auto it = consumers_.find(dl.text(0));
    if (it != consumers_.end()) it->second.dead_letters = static_cast<std::uint64_t>(dl.i64(1));
  }
  return {};
}

// The rows committed after the head book was last written (at most about a second of them,
// see kHeadBookPeriod): the chain head, the row count and the per-EGM seqs come from them.
std::error_code SqliteStore::load_head_tail() {
  book_seq_ = last_seq_;
  Stmt t(wdb_.get(), "SELECT seq,egm,egm_seq,hash FROM event WHERE seq>?1 ORDER BY seq");
  t.bind(1, static_cast<std::int64_t>(last_seq_));
  int rc = SQLITE_ROW;
  while ((rc = t.step()) == SQLITE_ROW) {
    const auto seq = static_cast<std::uint64_t>(t.i64(0));
    if (seq != last_seq_ + 1) return make_error_code(Errc::corrupt);  // the tail has no holes
    last_seq_ = seq;
    last_hash_ = to_hash(t.blob(3));
    ++row_count_;
    auto& e = egm_seq_[t.text(1)];
    e = std::max(e, static_cast<std::uint64_t>(t.i64(2)));
    egm_unbooked_[t.text(1)] = e;
  }
  return rc == SQLITE_DONE ? std::error_code{} : sqlite_error(rc);
}

std::string SqliteStore::join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out.push_back('\n');
    out += s;
  }
  return out;
}

std::vector<std::string> SqliteStore::split(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < s.size()) {
    auto end = s.find('\n', start);
    if (end == std::string::npos) end = s.size();
    if (end > start) out.push_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

void SqliteStore::close() {
  {
    std::lock_guard lk(mu_);
    if (closed_) return;
    closed_ = true;
    stopping_ = true;
  }
  {
    std::lock_guard lk(kc_mu_);
    kc_stop_ = true;
  }
  kc_cv_.notify_all();
  query_reader_.stop();  // a query still queued is answered closed
  backlog_reader_.stop();
  if (kdb_.get()) sqlite3_interrupt(kdb_.get());  // a background quick_check may be running
  if (counter_.joinable()) counter_.join();  // before the writer: it may wait on a recount op
  cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  checkpointer_.stop();
}

}  // namespace detail
}  // namespace floorgate::store
