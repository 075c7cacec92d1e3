// fg-bench-bare: the bare reference loop of benchmark group `efficiency` (issue 19). One
// thread does, per event, the same durable work the gateway does, and nothing else: a
// group-committed SQLite append (WAL, synchronous=FULL), one QoS 1 publish per consumer of a
// payload of the same size, and the consumers' acks committed as cursor updates. Consumers are
// fg-test-consumer processes, as for the daemon. Prints one JSON line:
//   {"events":N,"acked":N,"commits":N,"cpu_s":X,"wall_s":Y,"write_bytes":N}
// write_bytes: what the process caused to be written to the device (/proc/self/io) over the
// measured run, the same counter the group reads for the daemon.
// Usage: fg-bench-bare --port P --root ROOT --db PATH --rate EV_PER_S --seconds S
//                      --payload BYTES --consumers a,b,c
#include <mosquitto.h>
#include <sqlite3.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

struct Bare {
  sqlite3* db = nullptr;
  sqlite3_stmt* insert = nullptr;
  sqlite3_stmt* cursor = nullptr;
  mosquitto* mosq = nullptr;
  std::string root;
  std::vector<std::string> consumers;
  std::map<std::string, std::uint64_t> acked;        // latest ack per consumer (to commit)
  std::map<std::string, std::uint64_t> committed;    // cursor as committed
  bool connected = false;
  std::uint64_t commits = 0;
};

std::uint64_t write_bytes() {
  unsigned long long v = 0;
  if (FILE* f = std::fopen("/proc/self/io", "r")) {
    char line[128];
    while (std::fgets(line, sizeof line, f)) {
      if (std::sscanf(line, "write_bytes: %llu", &v) == 1) break;
    }
    std::fclose(f);
  }
  return v;
}

void check(int rc, sqlite3* db, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    std::fprintf(stderr, "fg-bench-bare: %s: %s\n", what, sqlite3_errmsg(db));
    std::exit(1);
  }
}

void on_message(mosquitto*, void* ud, const mosquitto_message* m) {
  auto& b = *static_cast<Bare*>(ud);
  std::string topic(m->topic);
  auto name = topic.substr(topic.rfind('/') + 1);
  std::string body(static_cast<const char*>(m->payload), static_cast<std::size_t>(m->payloadlen));
  auto at = body.find("\"upto\":");
  if (at == std::string::npos) return;
  auto upto = std::strtoull(body.c_str() + at + 7, nullptr, 10);
  auto& a = b.acked[name];
  a = std::max<std::uint64_t>(a, upto);
}

void on_connect(mosquitto* m, void* ud, int rc) {
  auto& b = *static_cast<Bare*>(ud);
  if (rc != 0) return;
  b.connected = true;
  auto topic = b.root + "/ack/+";
  mosquitto_subscribe(m, nullptr, topic.c_str(), 1);
}

// One transaction: the pending events and the cursor moves since the last one.
void commit(Bare& b, std::uint64_t& next_seq, int n, const std::string& attrs) {
  check(sqlite3_exec(b.db, "BEGIN", nullptr, nullptr, nullptr), b.db, "begin");
  for (int i = 0; i < n; ++i) {
    sqlite3_reset(b.insert);
    sqlite3_bind_int64(b.insert, 1, static_cast<sqlite3_int64>(next_seq + i));
    sqlite3_bind_text(b.insert, 2, "egm-01", -1, SQLITE_STATIC);
    sqlite3_bind_text(b.insert, 3, "bill.stacked", -1, SQLITE_STATIC);
    sqlite3_bind_text(b.insert, 4, attrs.data(), static_cast<int>(attrs.size()), SQLITE_STATIC);
    check(sqlite3_step(b.insert), b.db, "insert");
  }
  for (auto& [name, upto] : b.acked) {
    if (b.committed[name] == upto) continue;
    sqlite3_reset(b.cursor);
    sqlite3_bind_int64(b.cursor, 1, static_cast<sqlite3_int64>(upto));
    sqlite3_bind_text(b.cursor, 2, name.c_str(), -1, SQLITE_TRANSIENT);
    check(sqlite3_step(b.cursor), b.db, "cursor");
    b.committed[name] = upto;
  }
  check(sqlite3_exec(b.db, "COMMIT", nullptr, nullptr, nullptr), b.db, "commit");
  ++b.commits;
  // Durable: publish each event once per consumer (QoS 1), as the gateway does.
  for (int i = 0; i < n; ++i) {
    const auto seq = next_seq + i;
    std::string payload = "{\"seq\":" + std::to_string(seq) + ",\"attrs\":" + attrs + "}";
    for (const auto& c : b.consumers) {
      std::string topic = b.root + "/c/" + c + "/egm-01/financial/bill.stacked";
      mosquitto_publish(b.mosq, nullptr, topic.c_str(), static_cast<int>(payload.size()),
                        payload.data(), 1, false);
    }
  }
  next_seq += static_cast<std::uint64_t>(n);
}

}  // namespace

int main(int argc, char** argv) {
  Bare b;
  int port = 1883, payload = 400;
  double rate = 1000, seconds = 20;
  std::string db_path;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i], v = argv[i + 1];
    if (k == "--port") port = std::stoi(v);
    else if (k == "--root") b.root = v;
    else if (k == "--db") db_path = v;
    else if (k == "--rate") rate = std::stod(v);
    else if (k == "--seconds") seconds = std::stod(v);
    else if (k == "--payload") payload = std::stoi(v);
    else if (k == "--consumers") {
      std::stringstream ss(v);
      for (std::string c; std::getline(ss, c, ',');) b.consumers.push_back(c);
    }
  }
  check(sqlite3_open(db_path.c_str(), &b.db), b.db, "open");
  check(sqlite3_exec(b.db,
                     "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                     "CREATE TABLE IF NOT EXISTS ev(seq INTEGER PRIMARY KEY, egm TEXT, type TEXT,"
                     " attrs TEXT);"
                     "CREATE TABLE IF NOT EXISTS cur(name TEXT PRIMARY KEY, acked INTEGER);",
                     nullptr, nullptr, nullptr),
        b.db, "schema");
  for (const auto& c : b.consumers) {
    std::string sql = "INSERT OR IGNORE INTO cur VALUES('" + c + "',0)";
    check(sqlite3_exec(b.db, sql.c_str(), nullptr, nullptr, nullptr), b.db, "cursor row");
  }
  check(sqlite3_prepare_v2(b.db, "INSERT INTO ev VALUES(?1,?2,?3,?4)", -1, &b.insert, nullptr),
        b.db, "prepare insert");
  check(sqlite3_prepare_v2(b.db, "UPDATE cur SET acked=?1 WHERE name=?2", -1, &b.cursor, nullptr),
        b.db, "prepare cursor");
  const std::string attrs = "{\"pad\":\"" + std::string(static_cast<std::size_t>(std::max(payload - 40, 8)), 'x') + "\"}";

  mosquitto_lib_init();
  b.mosq = mosquitto_new("fg-bench-bare", true, &b);
  mosquitto_int_option(b.mosq, MOSQ_OPT_TCP_NODELAY, 1);
  mosquitto_connect_callback_set(b.mosq, on_connect);
  mosquitto_message_callback_set(b.mosq, on_message);
  if (mosquitto_connect(b.mosq, "127.0.0.1", port, 30) != MOSQ_ERR_SUCCESS) {
    std::fprintf(stderr, "fg-bench-bare: cannot connect to the broker\n");
    return 1;
  }
  while (!b.connected) mosquitto_loop(b.mosq, 100, 1);

  // Events "arrive" at `rate`; a group commit takes what arrived, at most once per commit
  // window (2 ms, the store's default Options::commit_window).
  constexpr auto kCommitWindow = std::chrono::microseconds(2000);
  std::uint64_t next_seq = 1;
  const auto t0 = Clock::now();
  const double c0 = cpu_seconds();
  const std::uint64_t w0 = write_bytes();
  const std::uint64_t commits0 = b.commits;
  std::uint64_t arrived = 0;
  auto last_commit = t0 - kCommitWindow;
  for (;;) {
    const auto now = Clock::now();
    const double elapsed = std::chrono::duration<double>(now - t0).count();
    if (elapsed >= seconds) break;
    const auto due = static_cast<std::uint64_t>(elapsed * rate);
    if (due > arrived && now - last_commit >= kCommitWindow) {
      commit(b, next_seq, static_cast<int>(due - arrived), attrs);
      arrived = due;
      last_commit = now;
    }
    mosquitto_loop(b.mosq, 2, 1);  // socket I/O, PUBACKs and acks; at most 2 ms of waiting
  }
  // Let the last acks arrive and commit them (bounded).
  const auto end = Clock::now() + std::chrono::seconds(10);
  auto all_acked = [&] {
    for (const auto& c : b.consumers) {
      if (b.acked[c] + 1 < next_seq) return false;
    }
    return true;
  };
  while (!all_acked() && Clock::now() < end) mosquitto_loop(b.mosq, 10, 1);
  commit(b, next_seq, 0, attrs);
  const double cpu = cpu_seconds() - c0;
  const std::uint64_t written = write_bytes() - w0;
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  std::uint64_t acked = next_seq - 1;
  for (const auto& c : b.consumers) acked = std::min(acked, b.acked[c]);
  std::printf(
      "{\"events\":%llu,\"acked\":%llu,\"commits\":%llu,\"cpu_s\":%.4f,\"wall_s\":%.3f,"
      "\"write_bytes\":%llu}\n",
      static_cast<unsigned long long>(next_seq - 1), static_cast<unsigned long long>(acked),
      static_cast<unsigned long long>(b.commits - commits0), cpu, wall,
      static_cast<unsigned long long>(written));
  sqlite3_finalize(b.insert);
  sqlite3_finalize(b.cursor);
  sqlite3_close(b.db);
  mosquitto_destroy(b.mosq);
  mosquitto_lib_cleanup();
  return acked + 1 >= next_seq ? 0 : 1;
}
