// Consumers: registration, acks (validated here, made durable by the writer) and dead
// letters. Delivery positions belong to the caller (read_after), not to the store.
#include <future>

#include "scan.hpp"
#include "sqlite_store.hpp"

namespace floorgate::store::detail {
namespace {
bool same(const Route& a, const Route& b) {
  return a.classes == b.classes && a.types == b.types && a.egms == b.egms;
}
}  // namespace

namespace {
bool valid_spec(const ConsumerSpec& spec) {
  if (spec.name.empty()) return false;
  for (const auto& c : spec.route.classes) {
    if (!parse_event_class(c)) return false;
  }
  for (const auto* list : {&spec.route.types, &spec.route.egms, &spec.route.classes}) {
    for (const auto& s : *list) {
      if (s.empty() || s.find('\n') != std::string::npos) return false;
    }
  }
  return true;
}
}  // namespace

std::error_code SqliteStore::register_on_writer(const ConsumerSpec& spec,
                                                std::uint64_t* acked_out) {
  std::uint64_t acked = 0;
  std::optional<ConsumerState> known;
  {
    std::lock_guard lk(state_.mu);
    auto it = state_.consumers.find(spec.name);
    if (it != state_.consumers.end()) known = it->second;
  }
  if (known) acked = known->acked;
  // The same route as stored (a daemon restart): keep the counter instead of recounting a
  // backlog that may be millions of rows long.
  const bool same_route = known && same(known->spec.route, spec.route);
  int count_rc = SQLITE_OK;
  std::uint64_t pending =
      same_route ? known->pending
                 : count_route(writer_.cache(), spec.route, acked, state_.last_seq, &count_rc);
  if (count_rc != SQLITE_OK) return sqlite_error(count_rc);
  std::uint64_t counted = same_route ? known->counted : acked;
  Stmt st(writer_.db().get(),
          "INSERT INTO consumer(name,classes,types,egms,required,acked,pending,counted,"
          "pending_at) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9) ON CONFLICT(name) DO UPDATE SET "
          "classes=excluded.classes,types=excluded.types,egms=excluded.egms,"
          "required=excluded.required,pending=excluded.pending,counted=excluded.counted,"
          "pending_at=excluded.pending_at");
  st.bind(1, spec.name).bind(2, join(spec.route.classes)).bind(3, join(spec.route.types));
  st.bind(4, join(spec.route.egms)).bind(5, spec.required ? 1 : 0);
  st.bind(6, static_cast<std::int64_t>(acked)).bind(7, static_cast<std::int64_t>(pending));
  st.bind(8, static_cast<std::int64_t>(counted));
  st.bind(9, static_cast<std::int64_t>(state_.last_seq));  // both counts are exact at the head
  if (int rc = st.step(); rc != SQLITE_DONE) return sqlite_error(rc);
  std::lock_guard lk(state_.mu);
  auto& c = state_.consumers[spec.name];
  if (c.spec.name.empty()) c.acked = c.ack_req = c.sent_upto = acked;
  c.spec = spec;
  c.pending = pending;
  c.counted = counted;
  if (acked_out) *acked_out = c.acked;
  return {};
}

void SqliteStore::register_consumer_async(ConsumerSpec spec, RegisterHandler done) {
  if (!valid_spec(spec)) {
    if (done) done(make_error_code(Errc::invalid_event), 0);
    return;
  }
  auto acked = std::make_shared<std::uint64_t>(0);
  writer_.post_task(
      [this, spec = std::move(spec), acked] { return register_on_writer(spec, acked.get()); },
      [done = std::move(done), acked](std::error_code ec) {
        if (done) done(ec, *acked);
      });
}

std::error_code SqliteStore::register_consumer(const ConsumerSpec& spec) {
  if (!valid_spec(spec)) return make_error_code(Errc::invalid_event);
  return writer_.run_task([this, spec] { return register_on_writer(spec, nullptr); });
}

std::error_code SqliteStore::remove_consumer(const std::string& name) {
  return writer_.run_task([this, name]() -> std::error_code {
    if (!state_.consumers.count(name)) return make_error_code(Errc::unknown_consumer);
    exec(writer_.db().get(), "BEGIN IMMEDIATE");
    Stmt a(writer_.db().get(), "DELETE FROM consumer WHERE name=?1");
    a.bind(1, name);
    Stmt b(writer_.db().get(), "DELETE FROM dead_letter WHERE consumer=?1");
    b.bind(1, name);
    int rc = a.step();
    if (rc == SQLITE_DONE) rc = b.step();
    if (rc == SQLITE_DONE) rc = exec(writer_.db().get(), "COMMIT");
    if (rc != SQLITE_DONE && rc != SQLITE_OK) {
      exec(writer_.db().get(), "ROLLBACK");
      return sqlite_error(rc);
    }
    std::lock_guard lk(state_.mu);
    state_.consumers.erase(name);
    return {};
  });
}

std::error_code SqliteStore::reset_on_writer(const std::string& name, std::uint64_t to_seq,
                                             std::uint64_t* previous) {
  ConsumerState known;
  std::uint64_t first = 0, last = 0;
  {
    std::lock_guard lk(state_.mu);
    auto it = state_.consumers.find(name);
    if (it == state_.consumers.end()) return make_error_code(Errc::unknown_consumer);
    known = it->second;
    first = state_.first_seq;
    last = state_.last_seq;
  }
  // Rows before the oldest kept one are gone: a cursor there would promise a redelivery that
  // cannot happen. An empty store accepts only its high-water seq.
  const std::uint64_t lowest = first == 0 ? last : first - 1;
  if (to_seq > last || to_seq < lowest) return make_error_code(Errc::out_of_range);
  int rc = SQLITE_OK;
  const std::uint64_t pending = count_route(writer_.cache(), known.spec.route, to_seq, last, &rc);
  if (rc != SQLITE_OK) return sqlite_error(rc);
  Stmt st(writer_.db().get(),
          "UPDATE consumer SET acked=?1, pending=?2, counted=?1, pending_at=?4 WHERE name=?3");
  st.bind(1, static_cast<std::int64_t>(to_seq)).bind(2, static_cast<std::int64_t>(pending));
  st.bind(3, name).bind(4, static_cast<std::int64_t>(last));
  if (rc = st.step(); rc != SQLITE_DONE) return sqlite_error(rc);
  std::lock_guard lk(state_.mu);
  auto& c = state_.consumers[name];
  if (previous) *previous = c.acked;
  // A queued recount of the old range sees `counted` moved and is dropped (apply_recount).
  c.acked = c.ack_req = c.counted = to_seq;
  c.sent_upto = std::max(c.sent_upto, to_seq);
  c.pending = pending;
  return {};
}

void SqliteStore::reset_consumer_async(const std::string& name, std::uint64_t to_seq,
                                       ResetHandler done) {
  auto previous = std::make_shared<std::uint64_t>(0);
  writer_.post_task(
      [this, name, to_seq, previous] { return reset_on_writer(name, to_seq, previous.get()); },
      [done = std::move(done), previous](std::error_code ec) {
        if (done) done(ec, *previous);
      });
}

std::error_code SqliteStore::reset_consumer(const std::string& name, std::uint64_t to_seq,
                                            std::uint64_t* previous) {
  return writer_.run_task(
      [this, name, to_seq, previous] { return reset_on_writer(name, to_seq, previous); });
}

void SqliteStore::ack_async(const std::string& consumer, std::uint64_t upto, AckHandler done) {
  std::error_code ec;
  {
    std::unique_lock lk(state_.mu);
    auto it = state_.consumers.find(consumer);
    if (writer_.stopping_locked()) {
      ec = make_error_code(Errc::closed);
    } else if (it == state_.consumers.end()) {
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
      writer_.push_locked(std::move(op));  // not stopping: checked above, under the same lock
      lk.unlock();
      writer_.wake();
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

std::error_code SqliteStore::dead_letter_on_writer(const std::string& consumer,
                                                   std::uint64_t seq, const std::string& reason) {
  {
    std::lock_guard lk(state_.mu);
    if (!state_.consumers.count(consumer)) return make_error_code(Errc::unknown_consumer);
    if (seq == 0 || seq > state_.last_seq) return make_error_code(Errc::out_of_range);
  }
  Stmt& st = writer_.cache().get(
      "INSERT OR REPLACE INTO dead_letter(consumer,seq,reason,ts) VALUES(?1,?2,?3,?4)");
  st.reset();
  st.bind(1, consumer).bind(2, static_cast<std::int64_t>(seq)).bind(3, reason);
  st.bind(4, now_ms());
  if (int rc = st.step(); rc != SQLITE_DONE) return sqlite_error(rc);
  count_dead_letters_on_writer(consumer);  // the row is in; a failed count keeps the old one
  return {};
}

int SqliteStore::count_dead_letters_on_writer(const std::string& consumer) {
  Stmt& n = writer_.cache().get("SELECT count(*) FROM dead_letter WHERE consumer=?1");
  n.reset();
  n.bind(1, consumer);
  const int rc = n.step();
  if (rc == SQLITE_ROW) {
    const auto count = static_cast<std::uint64_t>(n.i64(0));
    std::lock_guard lk(state_.mu);
    state_.consumers[consumer].dead_letters = count;
  }
  n.reset();
  return rc == SQLITE_ROW ? SQLITE_DONE : rc;
}

void SqliteStore::dead_letter_async(const std::string& consumer, std::uint64_t seq,
                                    const std::string& reason, AckHandler done) {
  writer_.post_task(
      [this, consumer, seq, reason] { return dead_letter_on_writer(consumer, seq, reason); },
      std::move(done));
}

std::error_code SqliteStore::dead_letter(const std::string& consumer, std::uint64_t seq,
                                         const std::string& reason) {
  return writer_.run_task(
      [this, consumer, seq, reason] { return dead_letter_on_writer(consumer, seq, reason); });
}

std::vector<DeadLetter> SqliteStore::dead_letters(const std::string& consumer) {
  return reader_.with_connection([&](sqlite3* db) {
    std::vector<DeadLetter> out;
    Stmt st(db, "SELECT seq,reason,ts FROM dead_letter WHERE consumer=?1 ORDER BY seq");
    st.bind(1, consumer);
    while (st.step() == SQLITE_ROW) {
      out.push_back({static_cast<std::uint64_t>(st.i64(0)), st.text(1), st.i64(2)});
    }
    return out;
  });
}

void SqliteStore::dead_letter_events_async(const std::string& consumer,
                                           DeadLettersHandler done) {
  auto rows = std::make_shared<std::vector<Record>>();
  writer_.post_task(
      [this, consumer, rows]() -> std::error_code {
        Route route;
        {
          std::lock_guard lk(state_.mu);
          auto it = state_.consumers.find(consumer);
          if (it == state_.consumers.end()) return make_error_code(Errc::unknown_consumer);
          route = it->second.spec.route;
        }
        // Posted to the writer so that it comes after the dead letters the writer was given;
        // read on the read connection (readers never wait for this thread).
        std::vector<std::uint64_t> gone;
        auto read = reader_.with_connection([&](sqlite3* db) -> std::error_code {
          std::vector<std::uint64_t> seqs;
          Stmt list(db, "SELECT seq FROM dead_letter WHERE consumer=?1 ORDER BY seq");
          list.bind(1, consumer);
          int rc = SQLITE_OK;
          while ((rc = list.step()) == SQLITE_ROW) {
            seqs.push_back(static_cast<std::uint64_t>(list.i64(0)));
          }
          if (rc != SQLITE_DONE) return sqlite_error(rc);
          auto got = rows_by_seq(db, seqs);
          if (!got) return got.error();
          *rows = std::move(*got);
          // Listed, but retention removed the event: nothing left to redeliver. Listed, but
          // the consumer's route does not select it (a nack of a seq it was never sent, or a
          // route narrowed since): never published on its topic, dropped as well.
          std::size_t r = 0;  // both in seq order
          for (std::uint64_t seq : seqs) {
            while (r < rows->size() && (*rows)[r].seq < seq) ++r;
            if (r == rows->size() || (*rows)[r].seq != seq) gone.push_back(seq);
          }
          std::erase_if(*rows, [&](const Record& row) {
            if (selects(route, row)) return false;
            gone.push_back(row.seq);
            return true;
          });
          return {};
        });
        if (read || gone.empty()) return read;
        // Their cleanup failing (a full disk) must not hold back the redelivery of the rest:
        // they stay listed and are dropped at the next request.
        (void)delete_dead_letters_on_writer(consumer, gone);
        return {};
      },
      [rows, done = std::move(done)](std::error_code ec) {
        if (done) done(ec, ec ? std::vector<Record>{} : std::move(*rows));
      });
}

void SqliteStore::clear_dead_letters_async(const std::string& consumer,
                                           std::vector<std::uint64_t> seqs, AckHandler done) {
  writer_.post_task(
      [this, consumer, seqs = std::move(seqs)]() -> std::error_code {
        {
          std::lock_guard lk(state_.mu);
          if (!state_.consumers.count(consumer)) return make_error_code(Errc::unknown_consumer);
        }
        return delete_dead_letters_on_writer(consumer, seqs);
      },
      std::move(done));
}

std::error_code SqliteStore::delete_dead_letters_on_writer(const std::string& consumer,
                                                           const std::vector<std::uint64_t>& seqs) {
  sqlite3* db = writer_.db().get();
  if (int rc = exec(db, "BEGIN IMMEDIATE"); rc != SQLITE_OK) return sqlite_error(rc);
  Stmt& del = writer_.cache().get("DELETE FROM dead_letter WHERE consumer=?1 AND seq=?2");
  int rc = SQLITE_DONE;
  for (std::size_t i = 0; i < seqs.size() && rc == SQLITE_DONE; ++i) {
    del.reset();
    del.bind(1, consumer).bind(2, static_cast<std::int64_t>(seqs[i]));
    rc = del.step();
  }
  del.reset();
  if (rc == SQLITE_DONE) rc = count_dead_letters_on_writer(consumer);
  if (rc == SQLITE_DONE) rc = exec(db, "COMMIT");
  if (rc != SQLITE_DONE && rc != SQLITE_OK) {
    exec(db, "ROLLBACK");
    return sqlite_error(rc);
  }
  return {};
}

std::error_code SqliteStore::run_retention() {
  return writer_.run_task([this]() -> std::error_code {
    bool more = true;
    std::error_code ec;
    for (int i = 0; i < 64 && more && !ec; ++i) ec = writer_.retention().chunk(&more);
    writer_.retention().vacuum_some();
    return ec;
  });
}

}  // namespace floorgate::store::detail
