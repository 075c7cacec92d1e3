// Exactly-once effect into PostgreSQL under fire (issue 22): the whole floor (simulator on a
// pty and TCP, the daemon, Mosquitto) with floorgate-consume --sink postgres as the analytics
// consumer, into a real PostgreSQL started by the test. The kit is SIGKILLed 20 times at random
// moments under traffic, the gateway 5 times, the broker restarted once. At the end every
// exception the simulator's ledger shows implied-ACKed is in the table, once.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <random>

#include "floor_fixture.hpp"
#include "ledger_check.hpp"
#include "postgres_server.hpp"

using namespace floorgate::testing;
using namespace std::chrono_literals;

namespace {

class Table {
 public:
  explicit Table(const std::string& conninfo) : conn_(PQconnectdb(conninfo.c_str())) {
    if (PQstatus(conn_) != CONNECTION_OK) throw std::runtime_error(PQerrorMessage(conn_));
  }
  ~Table() { PQfinish(conn_); }
  // -1 while the kit has not created the table yet.
  long long count() {
    PGresult* r = PQexec(conn_, "SELECT count(*) FROM floorgate_events");
    long long n = PQresultStatus(r) == PGRES_TUPLES_OK ? std::atoll(PQgetvalue(r, 0, 0)) : -1;
    PQclear(r);
    return n;
  }
  // The rows as the ledger comparison reads consumer output; payload = the chain hash.
  std::vector<Received> rows() {
    std::vector<Received> out;
    PGresult* r = PQexec(conn_,
                         "SELECT seq, egm, type, class, egm_seq, coalesce(attrs->>'code', ''), hash"
                         " FROM floorgate_events ORDER BY seq");
    for (int i = 0; PQresultStatus(r) == PGRES_TUPLES_OK && i < PQntuples(r); ++i) {
      Received x;
      x.seq = std::strtoull(PQgetvalue(r, i, 0), nullptr, 10);
      x.egm = PQgetvalue(r, i, 1);
      x.type = PQgetvalue(r, i, 2);
      x.cls = PQgetvalue(r, i, 3);
      x.egm_seq = std::strtoull(PQgetvalue(r, i, 4), nullptr, 10);
      x.code = PQgetvalue(r, i, 5);
      x.payload = PQgetvalue(r, i, 6);
      out.push_back(std::move(x));
    }
    PQclear(r);
    return out;
  }
  std::string one(const char* sql) {
    PGresult* r = PQexec(conn_, sql);
    std::string v = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) ? PQgetvalue(r, 0, 0) : "";
    PQclear(r);
    return v;
  }

 private:
  PGconn* conn_;
};

}  // namespace

TEST(ConsumePostgres, ExactlyOnceThroughTwentyKitKillsFiveGatewayKillsAndABrokerRestart) {
  PostgresServer pg;
  std::unique_ptr<ChildProcess> kit;
  std::vector<std::string> kit_args;
  TempDir logs;
  int starts = 0;
  auto start_kit = [&] {
    const auto err = (logs / ("kit-" + std::to_string(starts++) + ".err")).string();
    kit = std::make_unique<ChildProcess>(kit_args, "", err);
    ASSERT_TRUE(wait_until([&] {
      std::ifstream in(err);
      return std::string(std::istreambuf_iterator<char>(in), {}).find("subscribed to") !=
             std::string::npos;
    }, 30s)) << "floorgate-consume did not subscribe";
  };
  FloorOptions o;
  o.own_consumers = {"analytics"};
  o.before_daemon = [&](Floor& f) {
    kit_args = {build_path("firmware-host/floorgate-consume/floorgate-consume"), "--consumer",
                "analytics", "--gateway", f.root(), "--port", std::to_string(f.broker_port()),
                "--username", "analytics", "--password-file",
                (f.mqtt_dir() / "analytics.password").string(), "--sink", "postgres", "--pg",
                pg.conninfo(), "--batch", "64"};
    start_kit();
  };
  Floor floor(o);
  floor.start_all();
  Table table(pg.conninfo());
  floor.start_traffic(40ms);  // slower: a restart must not overflow an EGM queue
  const unsigned seed = std::random_device{}();
  std::mt19937 rng(seed);
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::uniform_int_distribution<int> more(1, 40);
  for (int i = 0; i < 20; ++i) {
    // A random moment: once the table grew by 1-40 rows since the kit (re)started.
    const long long target = std::max(0LL, table.count()) + more(rng);
    ASSERT_TRUE(wait_until([&] { return table.count() >= target; }, 60s))
        << "round " << i << ": the table stopped growing at " << table.count();
    kit->kill(SIGKILL);
    const int status = kit->wait();
    ASSERT_TRUE(WIFSIGNALED(status)) << "the kit exited by itself (status " << status << ")";
    if (i % 4 == 1) {  // 5 gateway kills: rounds 1, 5, 9, 13, 17
      floor.kill_daemon(SIGKILL);
      floor.start_daemon();
    }
    if (i == 10) {  // the broker goes away and comes back on the same port
      floor.broker().stop();
      floor.broker().start();
    }
    start_kit();
  }
  floor.stop_traffic();
  LedgerComparison cmp;
  ASSERT_TRUE(wait_until([&] {
    auto ledger = floor.sim().ledger();
    if (!ledger) return false;
    const bool pending = std::any_of(ledger->begin(), ledger->end(),
                                     [](const LedgerEntry& e) { return !e.acked && !e.dropped; });
    cmp = compare_ledger(*ledger, table.rows(), floor.address_to_egm());
    return !pending && cmp.missing == 0 && cmp.acked > 0;
  }, 180s)) << cmp.detail;
  EXPECT_EQ(cmp.conflicting_duplicates, 0u);
  // Exactly once: the key is the primary key, so equal counts say no row was refused or
  // doubled on the way, and the kit never met a duplicate key (it would have exited with 4).
  // (One query: the gateway's own events may still be arriving, so two counts taken one after
  // the other could differ without any duplicate.)
  EXPECT_EQ(table.one("SELECT count(*) - count(DISTINCT (site, gateway, epoch, seq)) "
                      "FROM floorgate_events"),
            "0");
  EXPECT_EQ(table.one("SELECT count(*) FROM floorgate_consumer_positions"), "1");
  EXPECT_TRUE(kit->running());
  // Every seq the gateway stored for analytics (all classes) is there, none twice: the seqs
  // run from 1 without a hole (nothing is filtered by analytics' route).
  EXPECT_EQ(table.one("SELECT max(seq) - min(seq) + 1 - count(*) FROM floorgate_events"), "0");
  std::printf("ledger: %zu implied-ACKed exceptions, %zu re-reports; rows %s\n", cmp.acked,
              cmp.extras, table.one("SELECT count(*) FROM floorgate_events").c_str());
  kit->kill(SIGTERM);
  EXPECT_EQ(kit->wait(), 0);
}
