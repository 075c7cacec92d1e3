// The writer thread (store_writer.hpp): group commit of appends, acks and recounts, tasks that
// need the write connection, the head book and periodic retention chunks.
#include "store_writer.hpp"

#include <algorithm>
#include <future>

#include "floorgate/core/check.hpp"
#include "scan.hpp"

namespace floorgate::store::detail {

namespace {
// An ack is counted off a consumer's pending rows inside its commit when it moves the cursor by
// at most this many seqs (a window or two); longer jumps are counted in chunks of this size
// between commits, so the writer never stalls on one.
constexpr std::uint64_t kSyncCountSpan = 8192;
// How often the head book (state row, egm rows) is written with a commit: at most the tail
// load_head() reads back after a crash (about a second of events).
constexpr std::chrono::milliseconds kHeadBookPeriod{1000};
// WAL frames after which the checkpointer copies them into the database file (2 MiB of WAL at
// 2 KiB pages).
constexpr int kCheckpointFrames = 1000;
// How long catch_up_wal waits for readers of the WAL's old frames before it gives up (the
// writer commits nothing meanwhile); it tries again after another quarter of the limit.
constexpr int kWalCatchUpWaitMs = 50;
}  // namespace

StoreWriter::StoreWriter(const Options& opt, StoreState& state, CounterThread& counter)
    : opt_(opt), state_(state), counter_(counter) {}

// The rows committed after the head book was last written (at most about a second of them,
// see kHeadBookPeriod): the chain head, the row count and the per-EGM seqs come from them.
std::error_code StoreWriter::load_head(const Hash& last_hash, const Hash& anchor_hash) {
  last_hash_ = last_hash;
  anchor_hash_ = anchor_hash;
  Stmt eg(db_.get(), "SELECT egm,last_egm_seq FROM egm");
  while (eg.step() == SQLITE_ROW) egm_seq_[eg.text(0)] = static_cast<std::uint64_t>(eg.i64(1));
  book_seq_ = state_.last_seq;
  Stmt t(db_.get(), "SELECT seq,egm,egm_seq,hash FROM event WHERE seq>?1 ORDER BY seq");
  t.bind(1, static_cast<std::int64_t>(state_.last_seq));
  int rc = SQLITE_ROW;
  while ((rc = t.step()) == SQLITE_ROW) {
    const auto seq = static_cast<std::uint64_t>(t.i64(0));
    if (seq != state_.last_seq + 1) return make_error_code(Errc::corrupt);  // no holes
    state_.last_seq = seq;
    last_hash_ = to_hash(t.blob(3));
    ++state_.row_count;
    auto& e = egm_seq_[t.text(1)];
    e = std::max(e, static_cast<std::uint64_t>(t.i64(2)));
    egm_unbooked_[t.text(1)] = e;
  }
  return rc == SQLITE_DONE ? std::error_code{} : sqlite_error(rc);
}

std::error_code StoreWriter::prepare() {
  cache_.reset_db(db_.get());
  for (int k = 0; k < kEventClassCount; ++k) {
    insert_[k] =
        Stmt(db_.get(), "INSERT INTO " + event_table(static_cast<EventClass>(k)) + "(" +
                            kEventColumns + ") VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)");
    if (!insert_[k].valid()) return make_error_code(Errc::io_error);
  }
  // A WAL frame is a page and its 24-byte header.
  const auto page_bytes = static_cast<std::uint64_t>(query_i64(db_.get(), "PRAGMA page_size"));
  const auto frame_bytes = page_bytes + 24;
  wal_limit_frames_ = static_cast<int>(
      std::clamp<std::uint64_t>(opt_.wal_limit_bytes / frame_bytes, 1, 1u << 30));
  wal_catch_up_at_ = wal_limit_frames_;
  // Replaces the automatic checkpoint (which would run inside a COMMIT) with our own.
  sqlite3_wal_hook(
      db_.get(),
      [](void* self, sqlite3*, const char*, int frames) {
        auto* w = static_cast<StoreWriter*>(self);
        w->wal_frames_ = frames;
        if (frames >= kCheckpointFrames) w->want_checkpoint();
        return SQLITE_OK;
      },
      this);
  return {};
}

void StoreWriter::start() {
  checkpointer_.start();
  thread_ = std::thread([this] { main(); });
}

std::size_t StoreWriter::push_locked(Op&& op) {
  if (stopping_) return 0;
  op.enqueued = std::chrono::steady_clock::now();
  queue_.push_back(std::move(op));
  return queue_.size();
}

bool StoreWriter::submit(Op&& op) {
  {
    std::lock_guard lk(state_.mu);
    // Under the same lock as the check: once accepted, join() drains it.
    if (push_locked(std::move(op)) == 0) return false;
  }
  cv_.notify_one();
  return true;
}

void StoreWriter::request_stop() {
  {
    std::lock_guard lk(state_.mu);
    stopping_ = true;
  }
  cv_.notify_all();
}

void StoreWriter::join() {
  if (thread_.joinable()) thread_.join();
  checkpointer_.stop();
}

void StoreWriter::release() {
  for (auto& st : insert_) st = Stmt();
  cache_.reset_db(nullptr);
}

void StoreWriter::post_task(std::function<std::error_code()> task, AckHandler done) {
  Op op;
  op.kind = OpKind::task;
  op.task = [task = std::move(task), done] {
    auto ec = task();
    if (done) done(ec);
    return ec;
  };
  if (!submit(std::move(op)) && done) done(make_error_code(Errc::closed));
}

std::error_code StoreWriter::run_task(std::function<std::error_code()> task) {
  auto done = std::make_shared<std::promise<std::error_code>>();
  auto fut = done->get_future();
  post_task(std::move(task), [done](std::error_code ec) { done->set_value(ec); });
  return fut.get();
}

void StoreWriter::main() {
  using clock = std::chrono::steady_clock;
  auto next_retention = clock::now() + opt_.retention_interval;
  bool retention_active = false;
  std::unique_lock lk(state_.mu);
  for (;;) {
    if (retention_active || clock::now() >= next_retention) {
      lk.unlock();
      bool more = false;
      auto ec = retention_.chunk(&more);
      if (!more || ec) retention_.vacuum_some();
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
    if (wal_frames_ >= wal_catch_up_at_) catch_up_wal();
    lk.lock();
  }
}

// The checkpointer copies frames while the writer appends more, so under a sustained load it
// rarely finds the whole WAL copied, and only then can the WAL start over from its beginning:
// the store group's 5M-row fill grew it to 400-500 MB at 2 KiB pages, with a WAL index to
// match in memory. Past Options::wal_limit_bytes the writer hands the checkpointer a RESTART
// checkpoint and waits for it: it runs after the checkpoint in progress (SQLite lets one run
// at a time and does not wait for that lock), copies what is left while no frame can be added,
// and waits briefly for readers still on old frames, so the next commit writes the WAL from
// its start. The pause is the rest of one checkpoint and one sync of the database file. If
// readers hold it past the wait, the writer tries again when the WAL has grown by another
// quarter of the limit (not after every commit, which would pause each one while a long read
// lasts).
void StoreWriter::catch_up_wal() {
  // Shared with the job, so the promise outlives set_value however the two threads interleave.
  auto done = std::make_shared<std::promise<int>>();
  auto rc_future = done->get_future();
  const bool queued = checkpointer_.post([done](sqlite3* db) {
    int rc = SQLITE_MISUSE;  // the checkpointer is stopping: nothing to wait for
    if (db) {
      sqlite3_busy_timeout(db, kWalCatchUpWaitMs);
      rc = sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_RESTART, nullptr, nullptr);
      sqlite3_busy_timeout(db, kBusyTimeoutMs);
    }
    done->set_value(rc);
  });
  if (!queued) return;
  const int rc = rc_future.get();
  wal_catch_up_at_ = rc == SQLITE_OK ? wal_limit_frames_
                                     : wal_frames_ + std::max(wal_limit_frames_ / 4, 1);
  std::lock_guard lk(state_.mu);
  ++(rc == SQLITE_OK ? state_.wal_restarts_total : state_.wal_restart_busy_total);
}

void StoreWriter::want_checkpoint() {
  if (checkpoint_queued_.exchange(true)) return;  // one is queued: it will copy these too
  const bool queued = checkpointer_.post([this](sqlite3* db) {
    checkpoint_queued_ = false;
    if (db) sqlite3_wal_checkpoint_v2(db, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  });
  // Refused only with 32 jobs queued, which the flag rules out.
  FG_CHECK(queued, "the checkpointer refused a checkpoint");
  if (!queued) checkpoint_queued_ = false;
}

std::error_code StoreWriter::apply_append(Op& op, CursorDeltas& deltas, BatchState& b,
                                          Hash& last_hash, std::uint64_t& last_seq) {
  Record& r = op.rec;
  // validate() refused anything else before it was queued.
  FG_CHECK(core::index_of(r.cls) < core::kEventClassCount, "append of an unchecked class");
  r.seq = last_seq + 1;
  r.epoch = state_.epoch;
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
  // state_.type_classes changes only on this thread: reading it here needs no lock.
  const int k = static_cast<int>(r.cls);
  auto known = state_.type_classes.find(r.type);
  if ((known == state_.type_classes.end() || !(known->second & (1u << k))) &&
      std::find(b.new_types.begin(), b.new_types.end(), std::pair(r.type, k)) ==
          b.new_types.end()) {
    Stmt& tc = cache_.get("INSERT OR IGNORE INTO type_class(type,cls) VALUES(?1,?2)");
    tc.bind(1, r.type).bind(2, static_cast<std::int64_t>(k));
    if (int trc = tc.step(); trc != SQLITE_DONE) return sqlite_error(trc);
    b.new_types.emplace_back(r.type, k);
  }
  it->second = r.egm_seq;
  last_hash = r.hash;
  last_seq = r.seq;
  for (const auto& [name, c] : state_.consumers) {
    if (selects(c.spec.route, r)) {
      auto& d = deltas[name];
      ++d.pending;
      ++d.routed;
    }
  }
  return {};
}

std::error_code StoreWriter::apply_ack(Op& op, CursorDeltas& deltas) {
  auto c = state_.consumers.find(op.consumer);
  if (c == state_.consumers.end()) return make_error_code(Errc::unknown_consumer);
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
      // Only this thread changes the recent rows, but their readers hold the lock.
      std::lock_guard lk(state_.mu);
      n = state_.recent.count(route, acked, op.upto);
    }
    int rc = SQLITE_OK;
    if (!n) n = count_route(cache_, route, acked, op.upto, &rc);
    if (rc == SQLITE_OK) {
      d.pending -= static_cast<std::int64_t>(*n);
      d.counted = op.upto;
    } else {
      counter_.wake();  // counted stays behind acked: the counter thread counts the range later
    }
  }
  return {};
}

std::error_code StoreWriter::write_consumer_counters(const CursorDeltas& deltas, std::uint64_t at,
                                                     bool all) {
  if (deltas.empty() && !all) return {};
  Stmt& st = cache_.get(
      "UPDATE consumer SET acked=?1, pending=?2, counted=?3, pending_at=?5 WHERE name=?4");
  static const CursorDelta kNone;
  for (const auto& [name, c] : state_.consumers) {
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

std::error_code StoreWriter::apply_recount(const Op& op, CursorDeltas& deltas) {
  auto c = state_.consumers.find(op.consumer);
  if (c == state_.consumers.end()) return make_error_code(Errc::unknown_consumer);
  auto& d = deltas[op.consumer];
  std::uint64_t counted = d.counted.value_or(c->second.counted);
  std::uint64_t acked = d.acked.value_or(c->second.acked);
  std::uint64_t commits = 0;
  {
    std::lock_guard lk(state_.mu);
    commits = state_.retention_commits;
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

std::error_code StoreWriter::write_head_book(
    std::uint64_t last_seq, const Hash& last_hash, std::uint64_t row_count,
    const std::unordered_map<std::string, std::uint64_t>& batch_egms) {
  Stmt& st = cache_.get("UPDATE state SET last_seq=?1,last_hash=?2,row_count=?3");
  st.reset();
  st.bind(1, static_cast<std::int64_t>(last_seq)).bind_blob(2, last_hash.data(), 32);
  st.bind(3, static_cast<std::int64_t>(row_count));
  if (int rc = st.step(); rc != SQLITE_DONE) return sqlite_error(rc);
  Stmt& eg = cache_.get(
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

std::error_code StoreWriter::book_head() {
  return write_head_book(state_.last_seq, last_hash_, state_.row_count, {});
}

void StoreWriter::booked() {
  egm_unbooked_.clear();
  book_seq_ = state_.last_seq;
}

// A clean stop leaves the book at the head, so tools reading the file see it exact.
void StoreWriter::book_on_close() {
  // The consumer rows were written with the book and by every ack since: exact at it too.
  if (book_seq_ == state_.last_seq && egm_unbooked_.empty()) return;
  if (exec(db_.get(), "BEGIN IMMEDIATE") != SQLITE_OK) return;
  if (book_head() || write_consumer_counters({}, state_.last_seq, true) ||
      exec(db_.get(), "COMMIT") != SQLITE_OK) {
    exec(db_.get(), "ROLLBACK");  // the next open reads the tail instead
    return;
  }
  booked();
}

void StoreWriter::commit_batch(std::vector<Op>& ops) {
  CursorDeltas deltas;
  BatchState b;
  auto& op_ec = batch_ec_;  // kept across commits, like batch_
  op_ec.assign(ops.size(), std::error_code());
  Hash hash = last_hash_;
  std::uint64_t seq = state_.last_seq;
  std::size_t appended = 0;
  std::error_code ec = sqlite_error(step_once(cache_, "BEGIN IMMEDIATE"));
  for (std::size_t i = 0; i < ops.size() && !ec; ++i) {
    if (ops[i].kind == OpKind::append) {
      ec = apply_append(ops[i], deltas, b, hash, seq);
      appended += ec ? 0 : 1;
    } else if (ops[i].kind == OpKind::ack) {
      op_ec[i] = apply_ack(ops[i], deltas);
      // An ack's count may fail and be left to the counter thread; if that read failed with
      // an I/O error, SQLite has rolled the batch back, and the appends after it would each
      // commit on their own, answered as failed: the whole batch fails instead.
      if (!ec) ec = transaction_lost(db_.get());
    } else {
      op_ec[i] = apply_recount(ops[i], deltas);
    }
  }
  // The head book rides along once per period; the rows themselves are the truth meanwhile.
  const auto book_now = std::chrono::steady_clock::now();
  const bool book = appended > 0 && book_now - book_at_ >= kHeadBookPeriod;
  if (!ec) ec = write_consumer_counters(deltas, seq, book);
  if (!ec && book) ec = write_head_book(seq, hash, state_.row_count + appended, b.egm_seen);
  std::chrono::microseconds commit_took{0};
  if (!ec) {
    const auto t0 = std::chrono::steady_clock::now();  // the commit is the fsync (WAL)
    ec = sqlite_error(step_once(cache_, "COMMIT"));
    commit_took = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - t0);
  }
  if (ec) exec(db_.get(), "ROLLBACK");
  {
    std::lock_guard lk(state_.mu);
    if (!ec) state_.commit_avg = commit_average(state_.commit_avg, commit_took);
    if (ec) {
      for (auto& op : ops) {
        if (op.kind == OpKind::append) {
          ++state_.append_failures_total;
          op.rec.seq = op.rec.egm_seq = 0;
          op.rec.hash = {};
        }
        auto c = state_.consumers.find(op.consumer);
        if (op.kind == OpKind::ack && c != state_.consumers.end()) {
          c->second.ack_req = c->second.acked;
        }
      }
      if (ec == Errc::disk_full) ++state_.disk_full_total;
    } else {
      FG_CHECK(seq >= state_.last_seq, "the high-water seq went backwards");
      // Seqs are contiguous: the first of this commit is the first kept row.
      if (state_.row_count == 0 && appended > 0) state_.first_seq = state_.last_seq + 1;
      last_hash_ = hash;
      state_.last_seq = seq;
      state_.row_count += appended;
      state_.appended_total += appended;
      ++state_.commits_total;
      for (auto& [egm, s] : b.egm_seen) egm_seq_[egm] = s;
      if (book) {
        egm_unbooked_.clear();
        book_seq_ = seq;
        book_at_ = book_now;
      } else {
        for (auto& [egm, s] : b.egm_seen) egm_unbooked_[egm] = s;
      }
      for (const auto& [type, k] : b.new_types) {
        state_.type_classes[type] |= static_cast<std::uint8_t>(1u << k);
      }
      state_.apply(deltas);
      for (const auto& op : ops) {
        if (op.kind == OpKind::append) state_.recent.add(op.rec);
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
