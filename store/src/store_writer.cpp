// The writer thread: group commit of appends and acks (one transaction, one fsync per batch),
// tasks that need the write connection, and periodic retention chunks.
#include <algorithm>
#include <future>

#include "floorgate/core/check.hpp"
#include "scan.hpp"
#include "sqlite_store.hpp"

namespace floorgate::store::detail {

namespace {
constexpr std::size_t kMaxEgmLen = 64;
constexpr std::size_t kMaxTypeLen = 128;
constexpr std::size_t kMaxSourceLen = 128;
// An ack is counted off a consumer's pending rows inside its commit when it moves the cursor by
// at most this many seqs (a window or two); longer jumps are counted in chunks of this size
// between commits, so the writer never stalls on one.
constexpr std::uint64_t kSyncCountSpan = 8192;
// How often the head book (state row, egm rows) is written with a commit: at most the tail
// load_state() reads back after a crash (about a second of events).
constexpr std::chrono::milliseconds kHeadBookPeriod{1000};

bool is_hex(const std::string& s) {
  if (s.size() % 2 != 0) return false;
  for (char c : s) {
    bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
    if (!ok) return false;
  }
  return true;
}
}  // namespace

std::error_code SqliteStore::validate(const Record& r) const {
  if (r.egm.empty() || r.egm.size() > kMaxEgmLen || r.type.empty() ||
      r.type.size() > kMaxTypeLen || r.source.size() > kMaxSourceLen) {
    return make_error_code(Errc::invalid_event);
  }
  if (static_cast<int>(r.cls) > static_cast<int>(EventClass::telemetry)) {
    return make_error_code(Errc::invalid_event);
  }
  if (r.attrs_json.size() + r.raw_hex.size() > opt_.max_payload_bytes) {
    return make_error_code(Errc::payload_too_large);
  }
  if (r.attrs_json.size() < 2 || r.attrs_json.front() != '{' || r.attrs_json.back() != '}' ||
      !is_hex(r.raw_hex)) {
    return make_error_code(Errc::invalid_event);
  }
  return {};
}

void SqliteStore::append(Record r, AppendHandler on_durable) {
  std::error_code ec = validate(r);
  Op op;
  if (!ec) {
    op.kind = OpKind::append;
    op.rec = std::move(r);
    op.on_append = std::move(on_durable);
    std::unique_lock lk(mu_);
    if (!stopping_) {
      op.enqueued = std::chrono::steady_clock::now();
      queue_.push_back(std::move(op));
      std::size_t n = queue_.size();
      lk.unlock();
      if (n == 1 || n == opt_.max_batch) cv_.notify_one();
      return;
    }
    ec = make_error_code(Errc::closed);
    on_durable = std::move(op.on_append);
    r = std::move(op.rec);
  }
  {
    std::lock_guard lk(mu_);
    ++append_failures_total_;
  }
  if (on_durable) on_durable(ec, r);
}

std::error_code SqliteStore::append_sync(Record r, Record* stored) {
  std::promise<std::error_code> done;
  auto fut = done.get_future();
  append(std::move(r), [&](std::error_code ec, const Record& rec) {
    if (stored) *stored = rec;
    done.set_value(ec);
  });
  return fut.get();
}

void SqliteStore::post_task(std::function<std::error_code()> task, AckHandler done) {
  Op op;
  op.kind = OpKind::task;
  op.task = [task = std::move(task), done] {
    auto ec = task();
    if (done) done(ec);
    return ec;
  };
  {
    std::lock_guard lk(mu_);
    if (!stopping_) {
      op.enqueued = std::chrono::steady_clock::now();
      queue_.push_back(std::move(op));  // under the same lock as the check: close() drains it
      cv_.notify_one();
      return;
    }
  }
  if (done) done(make_error_code(Errc::closed));
}

std::error_code SqliteStore::run_task(std::function<std::error_code()> task) {
  auto done = std::make_shared<std::promise<std::error_code>>();
  auto fut = done->get_future();
  post_task(std::move(task), [done](std::error_code ec) { done->set_value(ec); });
  return fut.get();
}

void SqliteStore::writer_main() {
  using clock = std::chrono::steady_clock;
  auto next_retention = clock::now() + opt_.retention_interval;
  bool retention_active = false;
  std::unique_lock lk(mu_);
  for (;;) {
    if (retention_active || retention_requested_ || clock::now() >= next_retention) {
      retention_requested_ = false;
      lk.unlock();
      bool more = false;
      auto ec = retention_chunk(&more);
      if (!more || ec) vacuum_some();
      lk.lock();
      retention_active = more && !ec;
      if (!retention_active) next_retention = clock::now() + opt_.retention_interval;
    }
    if (queue_.empty()) {
      if (stopping_) {
        lk.unlock();
        book_on_close();
        break;
      }
      if (retention_active) continue;
      cv_.wait_until(lk, next_retention);
      continue;
    }
    if (queue_.front().kind == OpKind::task) {
      Op op = std::move(queue_.front());
      queue_.pop_front();
      lk.unlock();
      op.task();
      lk.lock();
      continue;
    }
    // The window gathers appends, acks and recounts into one fsync. An ack used to commit at
    // once; with three consumers acking every 20 events that was a third more fsyncs (and WAL
    // pages) than the events needed, for an ack durable at most one window sooner.
    {
      auto deadline = queue_.front().enqueued + opt_.commit_window;
      cv_.wait_until(lk, deadline,
                     [&] { return stopping_ || queue_.size() >= opt_.max_batch; });
    }
    // batch_ keeps its capacity: one buffer for the life of the store instead of a large
    // allocation per commit (which left the writer's malloc arena fragmented, growing RSS).
    // It is empty here: cleared after every commit.
    while (!queue_.empty() && batch_.size() < opt_.max_batch &&
           queue_.front().kind != OpKind::task) {
      batch_.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    lk.unlock();
    commit_batch(batch_);
    batch_.clear();  // handlers and records released outside the lock
    lk.lock();
  }
}

void SqliteStore::want_checkpoint() {
  if (checkpoint_queued_.exchange(true)) return;  // one is queued: it will copy these too
  const bool queued = checkpointer_.post([this](sqlite3* db) {
    checkpoint_queued_ = false;
    if (db) sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  });
  // Refused only with 32 jobs queued, which the flag rules out.
  FG_CHECK(queued, "the checkpointer refused a checkpoint");
  if (!queued) checkpoint_queued_ = false;
}

std::error_code SqliteStore::apply_append(Op& op, CursorDeltas& deltas, BatchState& b,
                                          Hash& last_hash, std::uint64_t& last_seq) {
  Record& r = op.rec;
  // validate() refused anything else before it was queued.
  FG_CHECK(core::index_of(r.cls) < core::kEventClassCount, "append of an unchecked class");
  r.seq = last_seq + 1;
  r.epoch = epoch_;
  auto it = b.egm_seen.find(r.egm);
  if (it == b.egm_seen.end()) {
    auto known = egm_seq_.find(r.egm);
    it = b.egm_seen.emplace(r.egm, known == egm_seq_.end() ? 0 : known->second).first;
  }
  r.egm_seq = it->second + 1;
  r.hash = hasher_.link(last_hash, r);
  Stmt& ins = insert_[static_cast<std::size_t>(r.cls)];
  ins.reset();
  ins.bind(1, static_cast<std::int64_t>(r.seq)).bind(2, static_cast<std::int64_t>(r.epoch));
  ins.bind(3, r.egm).bind(4, static_cast<std::int64_t>(r.egm_seq)).bind(5, r.type);
  ins.bind(6, static_cast<std::int64_t>(r.cls)).bind(7, r.ts_gw_ms);
  if (r.ts_egm_ms) {
    ins.bind(8, *r.ts_egm_ms);
  } else {
    ins.bind_null(8);
  }
  ins.bind(9, r.source).bind(10, r.attrs_json).bind(11, r.raw_hex);
  ins.bind_blob(12, r.hash.data(), static_cast<int>(r.hash.size()));
  int rc = ins.step();
  ins.reset();
  if (rc != SQLITE_DONE) return sqlite_error(rc == SQLITE_ROW ? SQLITE_ERROR : rc);
  // type_classes_ changes only on this thread: reading it here needs no lock.
  const int k = static_cast<int>(r.cls);
  auto known = type_classes_.find(r.type);
  if ((known == type_classes_.end() || !(known->second & (1u << k))) &&
      std::find(b.new_types.begin(), b.new_types.end(), std::pair(r.type, k)) ==
          b.new_types.end()) {
    Stmt& tc = wcache_.get("INSERT OR IGNORE INTO type_class(type,cls) VALUES(?1,?2)");
    tc.bind(1, r.type).bind(2, static_cast<std::int64_t>(k));
    if (int trc = tc.step(); trc != SQLITE_DONE) return sqlite_error(trc);
    b.new_types.emplace_back(r.type, k);
  }
  it->second = r.egm_seq;
  last_hash = r.hash;
  last_seq = r.seq;
  for (const auto& [name, c] : consumers_) {
    if (selects(c.spec.route, r)) {
      auto& d = deltas[name];
      ++d.pending;
      ++d.routed;
    }
  }
  return {};
}

std::error_code SqliteStore::apply_ack(Op& op, CursorDeltas& deltas) {
  auto c = consumers_.find(op.consumer);
  if (c == consumers_.end()) return make_error_code(Errc::unknown_consumer);
  auto& d = deltas[op.consumer];
  std::uint64_t acked = d.acked.value_or(c->second.acked);
  std::uint64_t counted = d.counted.value_or(c->second.counted);
  if (op.upto <= acked) return {};
  d.acked = op.upto;
  if (counted == acked && op.upto - acked <= kSyncCountSpan) {
    const Route& route = c->second.spec.route;
    // Acked rows were just delivered: nearly always still in memory, counted without a query.
    std::optional<std::uint64_t> n;
    {
      std::lock_guard lk(mu_);  // only this thread changes recent_, but its readers hold mu_
      n = recent_.count(route, acked, op.upto);
    }
    int rc = SQLITE_OK;
    if (!n) n = count_route(wcache_, route, acked, op.upto, &rc);
    if (rc == SQLITE_OK) {
      d.pending -= static_cast<std::int64_t>(*n);
      d.counted = op.upto;
    } else {
      counter_.wake();  // counted stays behind acked: the counter thread counts the range later
    }
  }
  return {};
}

std::error_code SqliteStore::write_consumer_counters(const CursorDeltas& deltas,
                                                     std::uint64_t at, bool all) {
  if (deltas.empty() && !all) return {};
  Stmt& st = wcache_.get(
      "UPDATE consumer SET acked=?1, pending=?2, counted=?3, pending_at=?5 WHERE name=?4");
  static const CursorDelta kNone;
  for (const auto& [name, c] : consumers_) {
    auto it = deltas.find(name);
    const CursorDelta& d = it == deltas.end() ? kNone : it->second;
    // Appends alone change only pending, which open can count again from the rows.
    if (!all && !d.acked && !d.counted) continue;
    std::int64_t pending = static_cast<std::int64_t>(c.pending) + d.pending;
    st.reset();
    st.bind(1, static_cast<std::int64_t>(d.acked.value_or(c.acked)));
    st.bind(2, std::max<std::int64_t>(pending, 0));
    st.bind(3, static_cast<std::int64_t>(d.counted.value_or(c.counted))).bind(4, name);
    st.bind(5, static_cast<std::int64_t>(at));
    if (int rc = st.step(); rc != SQLITE_DONE) return sqlite_error(rc);
  }
  return {};
}

std::error_code SqliteStore::apply_recount(const Op& op, CursorDeltas& deltas) {
  auto c = consumers_.find(op.consumer);
  if (c == consumers_.end()) return make_error_code(Errc::unknown_consumer);
  auto& d = deltas[op.consumer];
  std::uint64_t counted = d.counted.value_or(c->second.counted);
  std::uint64_t acked = d.acked.value_or(c->second.acked);
  std::uint64_t commits = 0;
  {
    std::lock_guard lk(mu_);
    commits = retention_commits_;
  }
  // Stale (the cursor state moved, or retention deleted rows since the count began): dropped,
  // the counter counts again.
  if (counted != op.from || op.upto > acked || commits != op.generation) {
    return make_error_code(Errc::out_of_range);
  }
  d.pending -= static_cast<std::int64_t>(op.count);
  d.counted = op.upto;
  return {};
}

void SqliteStore::apply_cursor_deltas(const CursorDeltas& deltas) {
  for (const auto& [name, d] : deltas) {
    auto it = consumers_.find(name);
    if (it == consumers_.end()) continue;
    auto& c = it->second;
    c.pending = static_cast<std::uint64_t>(
        std::max<std::int64_t>(static_cast<std::int64_t>(c.pending) + d.pending, 0));
    if (d.acked) c.acked = *d.acked;
    if (d.counted) c.counted = *d.counted;
    c.routed_total += d.routed;
  }
}

std::error_code SqliteStore::write_head_book(
    std::uint64_t last_seq, const Hash& last_hash, std::uint64_t row_count,
    const std::unordered_map<std::string, std::uint64_t>& batch_egms) {
  Stmt& st = wcache_.get("UPDATE state SET last_seq=?1,last_hash=?2,row_count=?3");
  st.reset();
  st.bind(1, static_cast<std::int64_t>(last_seq)).bind_blob(2, last_hash.data(), 32);
  st.bind(3, static_cast<std::int64_t>(row_count));
  if (int rc = st.step(); rc != SQLITE_DONE) return sqlite_error(rc);
  Stmt& eg = wcache_.get(
      "INSERT INTO egm(egm,last_egm_seq) VALUES(?1,?2) ON CONFLICT(egm) DO UPDATE SET "
      "last_egm_seq=excluded.last_egm_seq");
  auto put = [&](const std::string& egm, std::uint64_t s) {
    eg.reset();
    eg.bind(1, egm).bind(2, static_cast<std::int64_t>(s));
    return eg.step();
  };
  for (const auto& [egm, s] : egm_unbooked_) {
    if (batch_egms.count(egm)) continue;  // the batch has a newer one
    if (int rc = put(egm, s); rc != SQLITE_DONE) return sqlite_error(rc);
  }
  for (const auto& [egm, s] : batch_egms) {
    if (int rc = put(egm, s); rc != SQLITE_DONE) return sqlite_error(rc);
  }
  return {};
}

// A clean stop leaves the book at the head, so tools reading the file see it exact.
void SqliteStore::book_on_close() {
  // The consumer rows were written with the book and by every ack since: exact at it too.
  if (book_seq_ == last_seq_ && egm_unbooked_.empty()) return;
  if (exec(wdb_.get(), "BEGIN IMMEDIATE") != SQLITE_OK) return;
  if (write_head_book(last_seq_, last_hash_, row_count_, {}) ||
      write_consumer_counters({}, last_seq_, true) || exec(wdb_.get(), "COMMIT") != SQLITE_OK) {
    exec(wdb_.get(), "ROLLBACK");  // the next open reads the tail instead
    return;
  }
  egm_unbooked_.clear();
  book_seq_ = last_seq_;
}

void SqliteStore::commit_batch(std::vector<Op>& ops) {
  CursorDeltas deltas;
  BatchState b;
  auto& op_ec = batch_ec_;  // kept across commits, like batch_
  op_ec.assign(ops.size(), std::error_code());
  Hash hash = last_hash_;
  std::uint64_t seq = last_seq_;
  std::size_t appended = 0;
  std::error_code ec = sqlite_error(step_once(wcache_, "BEGIN IMMEDIATE"));
  for (std::size_t i = 0; i < ops.size() && !ec; ++i) {
    if (ops[i].kind == OpKind::append) {
      ec = apply_append(ops[i], deltas, b, hash, seq);
      appended += ec ? 0 : 1;
    } else if (ops[i].kind == OpKind::ack) {
      op_ec[i] = apply_ack(ops[i], deltas);
    } else {
      op_ec[i] = apply_recount(ops[i], deltas);
    }
  }
  // The head book rides along once per period; the rows themselves are the truth meanwhile.
  const auto book_now = std::chrono::steady_clock::now();
  const bool book = appended > 0 && book_now - book_at_ >= kHeadBookPeriod;
  if (!ec) ec = write_consumer_counters(deltas, seq, book);
  if (!ec && book) ec = write_head_book(seq, hash, row_count_ + appended, b.egm_seen);
  std::chrono::microseconds commit_took{0};
  if (!ec) {
    const auto t0 = std::chrono::steady_clock::now();  // the commit is the fsync (WAL)
    ec = sqlite_error(step_once(wcache_, "COMMIT"));
    commit_took = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - t0);
  }
  if (ec) exec(wdb_.get(), "ROLLBACK");
  {
    std::lock_guard lk(mu_);
    if (!ec) commit_avg_ = commit_average(commit_avg_, commit_took);
    if (ec) {
      for (auto& op : ops) {
        if (op.kind == OpKind::append) {
          ++append_failures_total_;
          op.rec.seq = op.rec.egm_seq = 0;
          op.rec.hash = {};
        }
        auto c = consumers_.find(op.consumer);
        if (op.kind == OpKind::ack && c != consumers_.end()) c->second.ack_req = c->second.acked;
      }
      if (ec == Errc::disk_full) ++disk_full_total_;
    } else {
      FG_CHECK(seq >= last_seq_, "the high-water seq went backwards");
      if (row_count_ == 0 && appended > 0) first_seq_ = last_seq_ + 1;  // seqs are contiguous
      last_hash_ = hash;
      last_seq_ = seq;
      row_count_ += appended;
      appended_total_ += appended;
      ++commits_total_;
      for (auto& [egm, s] : b.egm_seen) egm_seq_[egm] = s;
      if (book) {
        egm_unbooked_.clear();
        book_seq_ = seq;
        book_at_ = book_now;
      } else {
        for (auto& [egm, s] : b.egm_seen) egm_unbooked_[egm] = s;
      }
      for (const auto& [type, k] : b.new_types) {
        type_classes_[type] |= static_cast<std::uint8_t>(1u << k);
      }
      apply_cursor_deltas(deltas);
      for (const auto& op : ops) {
        if (op.kind == OpKind::append) recent_.add(op.rec);
      }
    }
  }
  bool uncounted = false;
  for (const auto& [name, d] : deltas) uncounted = uncounted || (d.acked && !d.counted);
  if (uncounted && !ec) counter_.wake();
  for (std::size_t i = 0; i < ops.size(); ++i) {
    auto& op = ops[i];
    std::error_code e = ec ? ec : op_ec[i];
    if (op.kind == OpKind::append) {
      if (op.on_append) op.on_append(e, op.rec);
    } else if (op.on_done) {
      op.on_done(e);
    }
  }
}

}  // namespace floorgate::store::detail
