// Consumers: registration, acks (validated here, made durable by the writer), delivery
// position moves (replay, rewind) and dead letters.
#include <future>

#include "scan.hpp"
#include "sqlite_store.hpp"

namespace floorgate::store::detail {
namespace {
bool same(const Route& a, const Route& b) {
  return a.classes == b.classes && a.types == b.types && a.egms == b.egms;
}
}  // namespace

std::error_code SqliteStore::register_consumer(const ConsumerSpec& spec) {
  if (spec.name.empty()) return make_error_code(Errc::invalid_event);
  for (const auto& c : spec.route.classes) {
    if (!parse_event_class(c)) return make_error_code(Errc::invalid_event);
  }
  for (const auto* list : {&spec.route.types, &spec.route.egms, &spec.route.classes}) {
    for (const auto& s : *list) {
      if (s.empty() || s.find('\n') != std::string::npos) {
        return make_error_code(Errc::invalid_event);
      }
    }
  }
  return run_task([this, spec]() -> std::error_code {
    std::uint64_t acked = 0;
    auto it = consumers_.find(spec.name);
    if (it != consumers_.end()) acked = it->second.acked;
    // The same route as stored (a daemon restart): keep the counter instead of recounting a
    // backlog that may be millions of rows long.
    const bool same_route = it != consumers_.end() && same(it->second.spec.route, spec.route);
    std::uint64_t pending = same_route ? it->second.pending
                                       : count_route(wcache_, spec.route, acked, last_seq_);
    std::uint64_t counted = same_route ? it->second.counted : acked;
    Stmt st(wdb_.get(),
            "INSERT INTO consumer(name,classes,types,egms,required,acked,pending,counted) "
            "VALUES(?1,?2,?3,?4,?5,?6,?7,?8) ON CONFLICT(name) DO UPDATE SET "
            "classes=excluded.classes,types=excluded.types,egms=excluded.egms,"
            "required=excluded.required,pending=excluded.pending,counted=excluded.counted");
    st.bind(1, spec.name).bind(2, join(spec.route.classes)).bind(3, join(spec.route.types));
    st.bind(4, join(spec.route.egms)).bind(5, spec.required ? 1 : 0);
    st.bind(6, static_cast<std::int64_t>(acked)).bind(7, static_cast<std::int64_t>(pending));
    st.bind(8, static_cast<std::int64_t>(counted));
    if (int rc = st.step(); rc != SQLITE_DONE) return sqlite_error(rc);
    std::lock_guard lk(mu_);
    auto& c = consumers_[spec.name];
    if (c.spec.name.empty()) c.acked = c.ack_req = c.pos = c.sent_upto = acked;
    c.spec = spec;
    c.pending = pending;
    c.counted = counted;
    return {};
  });
}

std::error_code SqliteStore::remove_consumer(const std::string& name) {
  return run_task([this, name]() -> std::error_code {
    if (!consumers_.count(name)) return make_error_code(Errc::unknown_consumer);
    exec(wdb_.get(), "BEGIN IMMEDIATE");
    Stmt a(wdb_.get(), "DELETE FROM consumer WHERE name=?1");
    a.bind(1, name);
    Stmt b(wdb_.get(), "DELETE FROM dead_letter WHERE consumer=?1");
    b.bind(1, name);
    int rc = a.step();
    if (rc == SQLITE_DONE) rc = b.step();
    if (rc == SQLITE_DONE) rc = exec(wdb_.get(), "COMMIT");
    if (rc != SQLITE_DONE && rc != SQLITE_OK) {
      exec(wdb_.get(), "ROLLBACK");
      return sqlite_error(rc);
    }
    std::lock_guard lk(mu_);
    consumers_.erase(name);
    return {};
  });
}

void SqliteStore::ack_async(const std::string& consumer, std::uint64_t upto, AckHandler done) {
  std::error_code ec;
  {
    std::unique_lock lk(mu_);
    auto it = consumers_.find(consumer);
    if (stopping_) {
      ec = make_error_code(Errc::closed);
    } else if (it == consumers_.end()) {
      ec = make_error_code(Errc::unknown_consumer);
    } else if (upto == it->second.ack_req) {
      ec = {};  // repeated ack: harmless no-op
    } else if (upto < it->second.ack_req) {
      ec = make_error_code(Errc::ack_backwards);
    } else if (upto > it->second.sent_upto) {
      ec = make_error_code(Errc::ack_beyond_sent);
    } else {
      it->second.ack_req = upto;
      Op op;
      op.kind = OpKind::ack;
      op.consumer = consumer;
      op.upto = upto;
      op.on_done = std::move(done);
      op.enqueued = std::chrono::steady_clock::now();
      queue_.push_back(std::move(op));
      lk.unlock();
      cv_.notify_one();
      return;
    }
  }
  if (done) done(ec);
}

std::error_code SqliteStore::ack(const std::string& consumer, std::uint64_t upto) {
  std::promise<std::error_code> p;
  auto f = p.get_future();
  ack_async(consumer, upto, [&p](std::error_code ec) { p.set_value(ec); });
  return f.get();
}

std::error_code SqliteStore::replay(const std::string& consumer, std::uint64_t from_seq) {
  std::lock_guard lk(mu_);
  auto it = consumers_.find(consumer);
  if (it == consumers_.end()) return make_error_code(Errc::unknown_consumer);
  if (from_seq == 0) from_seq = 1;
  if (from_seq <= anchor_seq_ || from_seq > last_seq_ + 1) {
    return make_error_code(Errc::out_of_range);
  }
  it->second.pos = from_seq - 1;
  return {};
}

std::error_code SqliteStore::rewind_to_ack(const std::string& consumer) {
  std::lock_guard lk(mu_);
  auto it = consumers_.find(consumer);
  if (it == consumers_.end()) return make_error_code(Errc::unknown_consumer);
  it->second.pos = it->second.acked;
  return {};
}

std::error_code SqliteStore::dead_letter(const std::string& consumer, std::uint64_t seq,
                                         const std::string& reason) {
  return run_task([this, consumer, seq, reason]() -> std::error_code {
    if (!consumers_.count(consumer)) return make_error_code(Errc::unknown_consumer);
    if (seq == 0 || seq > last_seq_) return make_error_code(Errc::out_of_range);
    Stmt st(wdb_.get(),
            "INSERT OR REPLACE INTO dead_letter(consumer,seq,reason,ts) VALUES(?1,?2,?3,?4)");
    st.bind(1, consumer).bind(2, static_cast<std::int64_t>(seq)).bind(3, reason);
    st.bind(4, now_ms());
    if (int rc = st.step(); rc != SQLITE_DONE) return sqlite_error(rc);
    Stmt n(wdb_.get(), "SELECT count(*) FROM dead_letter WHERE consumer=?1");
    n.bind(1, consumer);
    std::uint64_t count = n.step() == SQLITE_ROW ? static_cast<std::uint64_t>(n.i64(0)) : 0;
    std::lock_guard lk(mu_);
    consumers_[consumer].dead_letters = count;
    return {};
  });
}

std::vector<DeadLetter> SqliteStore::dead_letters(const std::string& consumer) {
  std::vector<DeadLetter> out;
  std::lock_guard lk(read_mu_);
  Stmt st(rdb_.get(), "SELECT seq,reason,ts FROM dead_letter WHERE consumer=?1 ORDER BY seq");
  st.bind(1, consumer);
  while (st.step() == SQLITE_ROW) {
    out.push_back({static_cast<std::uint64_t>(st.i64(0)), st.text(1), st.i64(2)});
  }
  return out;
}

std::error_code SqliteStore::clear_dead_letters(const std::string& consumer) {
  return run_task([this, consumer]() -> std::error_code {
    if (!consumers_.count(consumer)) return make_error_code(Errc::unknown_consumer);
    Stmt st(wdb_.get(), "DELETE FROM dead_letter WHERE consumer=?1");
    st.bind(1, consumer);
    if (int rc = st.step(); rc != SQLITE_DONE) return sqlite_error(rc);
    std::lock_guard lk(mu_);
    consumers_[consumer].dead_letters = 0;
    return {};
  });
}

std::error_code SqliteStore::run_retention() {
  return run_task([this]() -> std::error_code {
    bool more = true;
    std::error_code ec;
    for (int i = 0; i < 64 && more && !ec; ++i) ec = retention_chunk(&more);
    vacuum_some();
    return ec;
  });
}

}  // namespace floorgate::store::detail
