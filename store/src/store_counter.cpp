// The store's work on the counter thread (counter_thread.hpp runs it): counting off the pending
// rows a consumer's big ack jump left uncounted (see ConsumerState::counted), one chunk per
// recount op, so the writer never stalls on it; and the oldest-unacked times stats() reports.
#include <future>

#include "floorgate/core/clock.hpp"
#include "scan.hpp"
#include "sqlite_store.hpp"

namespace floorgate::store::detail {

namespace {
// Seqs counted per recount op: one commit per chunk, a few hundred ms of scanning at most.
constexpr std::uint64_t kCountChunk = 65536;
}  // namespace

CounterThread::Count SqliteStore::count_chunk(StmtCache& db) {
  Op op;
  Route route;
  {
    std::lock_guard g(state_.mu);
    if (writer_.stopping_locked()) return CounterThread::Count::idle;
    for (const auto& [name, c] : state_.consumers) {
      if (c.counted < c.acked) {
        op.consumer = name;
        op.from = c.counted;
        op.upto = std::min(c.acked, c.counted + kCountChunk);
        route = c.spec.route;
        break;
      }
    }
    op.generation = state_.retention_commits;
  }
  if (op.consumer.empty()) {
    sqlite3_db_release_memory(db.db());  // idle until the next big jump: give back the cache
    return CounterThread::Count::idle;
  }
  // The generation is read before this count's snapshot begins: a retention commit after that
  // point makes the writer drop the result.
  int rc = SQLITE_OK;
  op.count = count_route(db, route, op.from, op.upto, &rc);
  if (rc != SQLITE_OK) return CounterThread::Count::retry;  // never apply a short count
  op.kind = OpKind::recount;
  auto applied = std::make_shared<std::promise<std::error_code>>();
  auto fut = applied->get_future();
  op.on_done = [applied](std::error_code ec) { applied->set_value(ec); };
  if (!writer_.submit(std::move(op))) return CounterThread::Count::idle;
  // The writer drains its queue before it stops, so this wait ends.
  return fut.get() ? CounterThread::Count::retry : CounterThread::Count::more;
}

void SqliteStore::refresh_oldest_unacked(StmtCache& db) {
  struct Head {
    std::string name;
    Route route;
    std::vector<int> tables;
    std::uint64_t acked = 0;
  };
  std::vector<Head> heads;
  std::uint64_t last = 0;
  {
    std::lock_guard lk(state_.mu);
    last = state_.last_seq;
    for (const auto& [name, c] : state_.consumers) {
      if (c.pending == 0) continue;
      heads.push_back({name, c.spec.route, state_.tables_for(c.spec.route), c.acked});
    }
  }
  std::map<std::string, std::optional<std::int64_t>> found;
  {
    ReadTxn txn(db.db());
    for (const auto& h : heads) {
      auto r = scan_route(db, h.route, h.tables, h.acked, last, 1, kScanBudget);
      found[h.name] = r.rows.empty() ? std::nullopt : std::optional(r.rows.front().ts_gw_ms);
    }
  }
  std::lock_guard lk(state_.mu);
  state_.oldest_unacked = std::move(found);
  state_.oldest_refreshed_ms = core::steady_now_ms();
}

}  // namespace floorgate::store::detail
