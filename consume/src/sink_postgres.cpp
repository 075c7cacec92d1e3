// postgres sink (libpq): one transaction per batch inserts the events and stores the
// consumer's stream positions, so the table and the positions never disagree.
#include <libpq-fe.h>

#include <boost/json.hpp>
#include <memory>

#include "floorgate/consume/sink.hpp"

namespace floorgate::consume {
namespace {
namespace json = boost::json;

bool valid_identifier(const std::string& s) {
  if (s.empty() || s.size() > 63 || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_'))
    return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  return true;
}

// floor/v1/<site>/<gateway> -> (site, gateway); other roots: ("", root).
std::pair<std::string, std::string> site_and_gateway(const std::string& root) {
  auto last = root.rfind('/');
  if (last == std::string::npos) return {"", root};
  auto prev = root.rfind('/', last - 1);
  if (last == 0 || prev == std::string::npos) return {root.substr(0, last), root.substr(last + 1)};
  return {root.substr(prev + 1, last - prev - 1), root.substr(last + 1)};
}

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

class PostgresSink final : public Sink {
 public:
  PostgresSink(std::string conninfo, std::string table, std::string consumer)
      : conninfo_(std::move(conninfo)), table_(std::move(table)), consumer_(std::move(consumer)) {}
  ~PostgresSink() override {
    if (conn_) PQfinish(conn_);
  }
  const char* name() const override { return "postgres"; }

  LoadResult load_positions() override {
    if (!valid_identifier(table_))
      return {false, "table name '" + table_ + "' is not a plain SQL identifier", {}};
    std::string error;
    if (!connect(error)) return {false, error, {}};
    const char* params[] = {consumer_.c_str()};
    Result r(PQexecParams(conn_,
                          "SELECT gateway, state::text FROM floorgate_consumer_positions "
                          "WHERE consumer = $1",
                          1, nullptr, params, nullptr, nullptr, 0));
    if (PQresultStatus(r.get()) != PGRES_TUPLES_OK) return {false, message(r.get()), {}};
    Positions out;
    for (int i = 0; i < PQntuples(r.get()); ++i)
      out[PQgetvalue(r.get(), i, 0)] = PQgetvalue(r.get(), i, 1);
    return {true, {}, std::move(out)};
  }

  CommitResult commit(const std::vector<Delivered>& batch, const Positions& positions) override {
    std::string error;
    if (!connect(error)) return {false, error, false, false};
    const std::string rows_text = rows_json(batch);
    json::object pos;
    for (const auto& [root, state] : positions) {
      json::error_code ec;
      auto v = json::parse(state, ec);
      if (!ec) pos[root] = std::move(v);
    }
    const std::string pos_text = json::serialize(pos);
    if (!exec("BEGIN", error)) return fail(error);
    if (!batch.empty()) {
      Result r(insert_rows(rows_text));
      if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
        const std::string state = sqlstate(r.get());
        const bool duplicate = state == "23505";
        auto msg = message(r.get());
        exec("ROLLBACK", error);
        // The same commit again: the last one's COMMIT went through but its answer was lost
        // (the connection dropped, PostgreSQL restarted). Its rows and these positions were
        // one transaction, so positions already equal to these mean the batch is in.
        if (duplicate && !pos.empty() && positions_stored(pos_text)) return {};
        if (refused_for_its_data(state)) return find_refused(batch, msg);
        return {false, msg, false, duplicate};
      }
    }
    if (!pos.empty()) {
      const char* p[] = {consumer_.c_str(), pos_text.c_str()};
      Result r(PQexecParams(conn_,
                            "INSERT INTO floorgate_consumer_positions (consumer, gateway, state) "
                            "SELECT $1, p.key, p.value FROM jsonb_each($2::jsonb) AS p "
                            "ON CONFLICT (consumer, gateway) DO UPDATE "
                            "SET state = EXCLUDED.state, updated_at = now()",
                            2, nullptr, p, nullptr, nullptr, 0));
      if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
        auto msg = message(r.get());
        exec("ROLLBACK", error);
        return fail(msg);
      }
    }
    if (!exec("COMMIT", error)) return fail(error);
    return {};
  }

 private:
  CommitResult fail(const std::string& error) {
    if (conn_ && PQstatus(conn_) != CONNECTION_OK) {
      PQfinish(conn_);
      conn_ = nullptr;  // connect again next time
    }
    return {false, error, false, false};
  }

  // [{"site":..,"gateway":..,"event":<payload>},...]: the payloads were parsed (and so
  // checked) by the kit already; they go in as received, PostgreSQL parses them once.
  static std::string rows_json(const std::vector<Delivered>& batch) {
    std::string rows_text = "[";
    for (const auto& d : batch) {
      auto [site, gw] = site_and_gateway(d.gateway);
      if (rows_text.size() > 1) rows_text += ',';
      rows_text += "{\"site\":";
      rows_text += json::serialize(json::value(site));
      rows_text += ",\"gateway\":";
      rows_text += json::serialize(json::value(gw));
      rows_text += ",\"event\":";
      rows_text += d.payload;
      rows_text += '}';
    }
    return rows_text + ']';
  }

  PGresult* insert_rows(const std::string& rows_text) {
    const std::string insert =
        "INSERT INTO " + table_ +
        " (site, gateway, epoch, seq, egm, egm_seq, type, class, ts_gw, ts_egm, source,"
        " attrs, raw, hash, replay) "
        "SELECT b->>'site', b->>'gateway', (e->>'epoch')::bigint, (e->>'seq')::bigint,"
        " e->>'egm', (e->>'egm_seq')::bigint, e->>'type', e->>'class',"
        " (e->>'ts_gw')::timestamptz, (e->>'ts_egm')::timestamptz, e->>'source', e->'attrs',"
        " e->>'raw', e->>'hash', coalesce((e->>'replay')::boolean, false) "
        "FROM jsonb_array_elements($1::jsonb) AS b, LATERAL (SELECT b->'event' AS e) AS x";
    const char* p[] = {rows_text.c_str()};
    return PQexecParams(conn_, insert.c_str(), 1, nullptr, p, nullptr, nullptr, 0);
  }

  static std::string sqlstate(const PGresult* r) {
    const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    return state ? state : "";
  }

  // A row PostgreSQL refuses for what it holds, whenever it is tried: a data exception (class
  // 22: a time it cannot read, a number out of range, a NUL in text) or a NOT NULL or CHECK
  // violation. Not a duplicate key (23505), which says something about the positions.
  static bool refused_for_its_data(const std::string& state) {
    return state.rfind("22", 0) == 0 || state == "23502" || state == "23514";
  }

  // The batch was refused for its data: which rows? Each is tried on its own behind a
  // savepoint, in one transaction that is rolled back: nothing is committed here.
  CommitResult find_refused(const std::vector<Delivered>& batch, const std::string& batch_error) {
    std::string error;
    if (!exec("BEGIN", error)) return fail(error);
    CommitResult out{false, batch_error, false, false, {}};
    auto abandon = [&](const std::string& why) {
      std::string ignored;
      exec("ROLLBACK", ignored);
      return fail(why);
    };
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (!exec("SAVEPOINT one_row", error)) return abandon(error);
      Result r(insert_rows(rows_json({batch[i]})));
      if (PQresultStatus(r.get()) == PGRES_COMMAND_OK) {
        if (!exec("RELEASE SAVEPOINT one_row", error)) return abandon(error);
        continue;
      }
      const std::string state = sqlstate(r.get());
      if (state == "23505") {  // a duplicate as well: the positions question comes first
        const auto msg = message(r.get());
        abandon(msg);
        return {false, msg, false, true};
      }
      if (!refused_for_its_data(state)) return abandon(message(r.get()));  // the server went away
      if (out.refused.empty()) out.error = message(r.get());
      out.refused.push_back(i);
      if (!exec("ROLLBACK TO SAVEPOINT one_row", error)) return abandon(error);
    }
    if (out.refused.empty()) return abandon(batch_error);  // not reproducible row by row: retry
    exec("ROLLBACK", error);
    return out;
  }

  // True when every gateway's stored position equals the one in `pos_text` (jsonb equality).
  bool positions_stored(const std::string& pos_text) {
    const char* p[] = {consumer_.c_str(), pos_text.c_str()};
    Result r(PQexecParams(conn_,
                          "SELECT count(*) FROM jsonb_each($2::jsonb) AS n "
                          "LEFT JOIN floorgate_consumer_positions AS s "
                          "ON s.consumer = $1 AND s.gateway = n.key "
                          "WHERE s.state IS DISTINCT FROM n.value",
                          2, nullptr, p, nullptr, nullptr, 0));
    return PQresultStatus(r.get()) == PGRES_TUPLES_OK && PQntuples(r.get()) == 1 &&
           std::string(PQgetvalue(r.get(), 0, 0)) == "0";
  }

  static std::string message(const PGresult* r) {
    std::string m = PQresultErrorMessage(r);
    while (!m.empty() && (m.back() == '\n' || m.back() == ' ')) m.pop_back();
    return m.empty() ? "postgres: unknown error" : "postgres: " + m;
  }

  bool exec(const char* sql, std::string& error) {
    Result r(PQexec(conn_, sql));
    if (PQresultStatus(r.get()) == PGRES_COMMAND_OK) return true;
    error = message(r.get());
    return false;
  }

  bool connect(std::string& error) {
    if (conn_ && PQstatus(conn_) == CONNECTION_OK) return true;
    if (conn_) PQfinish(conn_);
    conn_ = PQconnectdb(conninfo_.c_str());
    if (PQstatus(conn_) != CONNECTION_OK) {
      error = std::string("postgres: ") + PQerrorMessage(conn_);
      while (!error.empty() && error.back() == '\n') error.pop_back();
      PQfinish(conn_);
      conn_ = nullptr;
      return false;
    }
    // The schema (docs/consumers.md, "PostgreSQL"); a second kit may race us to it.
    const std::string ddl =
        "CREATE TABLE IF NOT EXISTS " + table_ +
        " (site text NOT NULL, gateway text NOT NULL, epoch bigint NOT NULL,"
        " seq bigint NOT NULL, egm text NOT NULL, egm_seq bigint NOT NULL, type text NOT NULL,"
        " class text NOT NULL, ts_gw timestamptz NOT NULL, ts_egm timestamptz,"
        " source text NOT NULL, attrs jsonb NOT NULL, raw text NOT NULL, hash text NOT NULL,"
        " replay boolean NOT NULL DEFAULT false,"
        " received_at timestamptz NOT NULL DEFAULT now(),"
        " PRIMARY KEY (site, gateway, epoch, seq));"
        "CREATE TABLE IF NOT EXISTS floorgate_consumer_positions (consumer text NOT NULL,"
        " gateway text NOT NULL, state jsonb NOT NULL,"
        " updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (consumer, gateway));";
    Result r(PQexec(conn_, ddl.c_str()));
    if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
      const char* state = PQresultErrorField(r.get(), PG_DIAG_SQLSTATE);
      if (!state || std::string(state) != "23505") {  // a concurrent create: the table exists
        error = message(r.get());
        PQfinish(conn_);
        conn_ = nullptr;
        return false;
      }
    }
    return true;
  }

  std::string conninfo_, table_, consumer_;
  PGconn* conn_ = nullptr;
};

}  // namespace

std::unique_ptr<Sink> make_postgres_sink(const std::string& conninfo, const std::string& table,
                                         const std::string& consumer) {
  return std::make_unique<PostgresSink>(conninfo, table, consumer);
}

}  // namespace floorgate::consume
