// Opening a store: the file (store_file.cpp: lock, check, quarantine, migrations), the
// connections and threads, and loading the chain, sequence and consumer state.

#include <filesystem>

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

SqliteStore::SqliteStore(Options options) : opt_(std::move(options)) {
  if (!opt_.now_ms) {
    opt_.now_ms = core::unix_now_ms;
  }
  if (opt_.max_batch == 0) opt_.max_batch = 1;
  if (opt_.retention_chunk_rows == 0) opt_.retention_chunk_rows = 1;
}

SqliteStore::~SqliteStore() {
  close();
  writer_.release();
  counter_.close();
  writer_.checkpointer().connection().close();
  reader_.close();
  writer_.db().close();  // the last one: its close checkpoints the WAL into the file
}  // file_ (declared after opt_, destroyed before it) releases the lock

std::error_code SqliteStore::start(OpenReport& report) {
  if (opt_.path.empty()) return make_error_code(Errc::io_error);
  if (auto ec = file_.lock()) {
    report.detail = ec == Errc::locked ? "another process holds " + opt_.path.string() + ".lock"
                                       : "cannot create the lock file";
    return ec;
  }
  bool deferred_check = false;
  if (auto ec = file_.open_checked(writer_.db(), report, &deferred_check)) return ec;
  if (deferred_check) state_.integrity = "checking";  // the counter thread checks the whole file
  if (auto ec = file_.apply_pragmas(writer_.db().get(), true, 8000)) return ec;
  if (auto ec = load_state()) return ec;
  // Any commit resets a reader's cache (WAL), and delivery reads each page once anyway: 2 MB
  // holds the interior pages of the five class tables and the pages of a few batches.
  if (auto ec = file_.open_connection(reader_.connection(), false, 2048)) return ec;
  if (auto ec = writer_.prepare()) return ec;
  // The checkpointer copies WAL frames without the page cache, and the counter streams over
  // ranges it reads once: small caches, so the process's memory does not depend on whether
  // they ran lately (the writer keeps 8 MB, the reader 2 MB).
  if (auto ec = file_.open_connection(writer_.checkpointer().connection(), true, 256)) return ec;
  if (auto ec = file_.open_connection(counter_.connection(), false, 1024)) return ec;
  if (auto ec = file_.open_connection(reader_.query_worker().connection(), false, 1024)) {
    return ec;
  }
  if (auto ec = file_.open_connection(reader_.backlog_worker().connection(), false, 1024)) {
    return ec;
  }
  reader_.start();
  counter_.start({[this](sqlite3* db) { background_check(db); },
                  [this](StmtCache& db) { refresh_oldest_unacked(db); },
                  [this](StmtCache& db) { return count_chunk(db); }});
  writer_.start();
  return {};
}

void SqliteStore::background_check(sqlite3* db) {
  {
    std::lock_guard lk(state_.mu);
    if (state_.integrity != "checking") return;
  }
  int rc = SQLITE_OK;
  std::string check = query_text(db, "PRAGMA quick_check", &rc);
  sqlite3_db_release_memory(db);
  if (rc == SQLITE_INTERRUPT) return;  // closing
  if (rc != SQLITE_OK) check = sqlite3_errstr(rc);
  file_.record_check(check);
  std::lock_guard lk(state_.mu);
  state_.integrity = check;
}

std::error_code SqliteStore::load_state() {
  sqlite3* db = writer_.db().get();
  Stmt st(db,
          "SELECT epoch,last_seq,last_hash,row_count,anchor_seq,anchor_hash,evicted_total,"
          "evicted_unacked_total FROM state WHERE id=1");
  if (st.step() != SQLITE_ROW) return make_error_code(Errc::io_error);
  state_.epoch = static_cast<std::uint64_t>(st.i64(0));
  state_.last_seq = static_cast<std::uint64_t>(st.i64(1));
  const Hash last_hash = to_hash(st.blob(2));
  state_.row_count = static_cast<std::uint64_t>(st.i64(3));
  state_.anchor_seq = static_cast<std::uint64_t>(st.i64(4));
  const Hash anchor_hash = to_hash(st.blob(5));
  state_.evicted_total = static_cast<std::uint64_t>(st.i64(6));
  state_.evicted_unacked_total = static_cast<std::uint64_t>(st.i64(7));
  if (auto ec = writer_.load_head(last_hash, anchor_hash)) return ec;
  state_.first_seq = min_kept_seq(db);
  // Routes by type skip the tables this does not name: it must be read whole, or not at all.
  Stmt tc(db, "SELECT type,cls FROM type_class");
  int trc = SQLITE_ROW;
  while ((trc = tc.step()) == SQLITE_ROW) {
    auto k = tc.i64(1);
    if (k < 0 || k >= kEventClassCount) return make_error_code(Errc::corrupt);
    state_.type_classes[tc.text(0)] |= static_cast<std::uint8_t>(1u << k);
  }
  if (trc != SQLITE_DONE) return sqlite_error(trc);
  Stmt cs(db, "SELECT name,classes,types,egms,required,acked,pending,counted,pending_at FROM "
              "consumer");
  while (cs.step() == SQLITE_ROW) {
    ConsumerState c;
    c.spec.name = cs.text(0);
    c.spec.route.classes = split(cs.text(1));
    c.spec.route.types = split(cs.text(2));
    c.spec.route.egms = split(cs.text(3));
    c.spec.required = cs.i64(4) != 0;
    c.acked = c.ack_req = c.sent_upto = static_cast<std::uint64_t>(cs.i64(5));
    c.pending = static_cast<std::uint64_t>(cs.i64(6));
    c.counted = std::min(c.acked, static_cast<std::uint64_t>(cs.i64(7)));
    c.pending_at = static_cast<std::uint64_t>(cs.i64(8));
    state_.consumers[c.spec.name] = std::move(c);
  }
  if (auto ec = load_pending_tail()) return ec;
  Stmt dl(db, "SELECT consumer,count(*) FROM dead_letter GROUP BY consumer");
  while (dl.step() == SQLITE_ROW) {
    auto it = state_.consumers.find(dl.text(0));
    if (it == state_.consumers.end()) continue;
    it->second.dead_letters = static_cast<std::uint64_t>(dl.i64(1));
  }
  return {};
}

std::error_code SqliteStore::load_pending_tail() {
  std::uint64_t from = state_.last_seq;
  for (const auto& [name, c] : state_.consumers) from = std::min(from, c.pending_at);
  if (from >= state_.last_seq) return {};
  Stmt t(writer_.db().get(), "SELECT seq,egm,type,cls FROM event WHERE seq>?1 ORDER BY seq");
  t.bind(1, static_cast<std::int64_t>(from));
  int rc = SQLITE_ROW;
  while ((rc = t.step()) == SQLITE_ROW) {
    const auto seq = static_cast<std::uint64_t>(t.i64(0));
    const auto k = t.i64(3);
    if (k < 0 || k >= kEventClassCount) return make_error_code(Errc::corrupt);
    const std::string egm = t.text(1), type = t.text(2);
    for (auto& [name, c] : state_.consumers) {
      // counted <= pending_at: every row after pending_at is also after counted.
      if (seq > c.pending_at && c.spec.route.selects(egm, static_cast<EventClass>(k), type)) {
        ++c.pending;
      }
    }
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
    std::lock_guard lk(state_.mu);
    if (closed_) return;
    closed_ = true;
  }
  writer_.request_stop();  // new work is refused from here
  reader_.stop();          // a read still queued is answered closed
  counter_.stop();  // before the writer: it may wait on a recount op
  writer_.join();   // drains its queue, books the head
}

}  // namespace detail
}  // namespace floorgate::store
