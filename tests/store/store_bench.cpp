// Store benchmark: prints the figures of group `store` as JSON lines (tests/bench/run store).
//   store.append_rate      durable appends/s with group commit
//   store.append_ratio     append_rate / a bare SQLite batched-insert loop (batch 100)
//   store.append_rate_sync5ms  durable appends/s from 8 producer threads when every fsync
//                          takes 5 ms more (fault_vfs sync delay: slow eMMC/SD flash); target
//                          >= 20,000 (issue 19)
//   store.commit_p99_ms    append -> durable latency at a steady 2,000 events/s
//   store.next_batch_p99_ms next_batch(500) with 5M rows and 3 consumers
//   store.ack_p99_ms       ack() with 5M rows and 3 consumers
//   store.rss_ratio        RSS at 5M rows / RSS at 100k rows
//   store.wal_peak_mb      largest WAL file seen while the 5M rows are appended (sampled every
//                          20 ms), with the writer's WAL restarts (Stats::wal_restarts_total)
// Env: STORE_BENCH_ROWS overrides the 5M (quick runs), TMPDIR picks the disk,
// STORE_BENCH_VERBOSE=1 lists the slowest next_batch/ack calls on stderr.
#include <malloc.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "bench_json.hpp"
#include "floorgate/store/fault_vfs.hpp"
#include "floorgate/store/store.hpp"
#include "store_test_util.hpp"
#include "test_process.hpp"

using namespace floorgate::store;
using Clock = std::chrono::steady_clock;
using floorgate::testing::print_figure;

namespace {

const char* kTypes[] = {"meters.snapshot", "game.started", "bill.jam", "door.opened",
                        "bill.stacked"};
const EventClass kClasses[] = {EventClass::telemetry, EventClass::operational, EventClass::fault,
                               EventClass::security, EventClass::financial};

// Class mix: telemetry 50%, operational 25%, fault 10%, security 10%, financial 5%.
int class_index(std::uint64_t n) {
  int k = static_cast<int>(n % 20);
  return k < 10 ? 0 : k < 15 ? 1 : k < 17 ? 2 : k < 19 ? 3 : 4;
}

Record make(std::uint64_t n) {
  Record r;
  int c = class_index(n);
  r.egm = "bank" + std::to_string(n % 8) + "-" + std::to_string(n % 40);
  r.type = kTypes[c];
  r.cls = kClasses[c];
  r.ts_gw_ms = 1'700'000'000'000 + static_cast<std::int64_t>(n);
  r.source = "sas:0x11";
  r.attrs_json = "{\"n\":" + std::to_string(n) + ",\"door\":\"main\",\"pad\":\"" +
                 std::string(110, 'p') + "\"}";
  r.raw_hex = "01ff001122334455";
  return r;
}

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

double pct(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(static_cast<double>(v.size()) * q))];
}

double p99(const std::vector<double>& v) { return pct(v, 0.99); }

// Resident set after giving freed heap back (so transient append queues do not count).
long rss_kb() {
  malloc_trim(0);
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return 0;
}

// Where the resident set lives (anon heap, file mappings, shared memory such as the WAL index).
void print_rss_parts(const char* when) {
  std::ifstream in("/proc/self/status");
  std::string line, out;
  while (std::getline(in, line)) {
    for (const char* k : {"RssAnon:", "RssFile:", "RssShmem:"}) {
      if (line.rfind(k, 0) == 0) out += " " + line.substr(0, line.find(':')) + "=" +
                                        std::to_string(std::atol(line.c_str() + std::strlen(k)));
    }
  }
  std::fprintf(stderr, "bench: rss parts (kB) %s:%s\n", when, out.c_str());
  if (std::getenv("STORE_BENCH_VERBOSE")) malloc_stats();
}

// Appends n events as fast as the store takes them (bounded in flight); returns events/s.
double append_bulk(Store& s, std::uint64_t first, std::uint64_t n) {
  std::mutex mu;
  std::condition_variable cv;
  std::uint64_t done = 0, failed = 0;
  constexpr std::uint64_t kWindow = 4000;
  auto t0 = Clock::now();
  for (std::uint64_t i = 0; i < n; ++i) {
    {
      std::unique_lock lk(mu);
      cv.wait(lk, [&] { return i - done < kWindow; });
    }
    s.append(make(first + i), [&](std::error_code ec, const Record&) {
      std::lock_guard lk(mu);
      ++done;
      failed += ec ? 1 : 0;
      cv.notify_one();
    });
  }
  std::unique_lock lk(mu);
  cv.wait(lk, [&] { return done == n; });
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  if (failed) std::fprintf(stderr, "bench: %llu appends failed\n", (unsigned long long)failed);
  return static_cast<double>(n) / secs;
}

// `producers` threads append `per_producer` events each, each thread with its own bounded
// in-flight window, as the SAS buses and the G2S host do on a floor; returns events/s.
double append_producers(Store& s, int producers, std::uint64_t per_producer) {
  std::atomic<std::uint64_t> failed{0};
  auto t0 = Clock::now();
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p) {
    threads.emplace_back([&, p] {
      std::mutex mu;
      std::condition_variable cv;
      std::uint64_t done = 0;
      constexpr std::uint64_t kWindow = 1000;
      for (std::uint64_t i = 0; i < per_producer; ++i) {
        {
          std::unique_lock lk(mu);
          cv.wait(lk, [&] { return i - done < kWindow; });
        }
        s.append(make(static_cast<std::uint64_t>(p) * per_producer + i),
                 [&](std::error_code ec, const Record&) {
                   if (ec) ++failed;
                   std::lock_guard lk(mu);
                   ++done;
                   cv.notify_one();
                 });
      }
      std::unique_lock lk(mu);
      cv.wait(lk, [&] { return done == per_producer; });
    });
  }
  for (auto& t : threads) t.join();
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  if (failed) std::fprintf(stderr, "bench: %llu appends failed\n", (unsigned long long)failed.load());
  return static_cast<double>(per_producer) * producers / secs;
}

// The same rows into the same schema with the same pragmas, 100 per transaction.
double bare_loop(const std::string& path, std::uint64_t n) {
  sqlite3* db = nullptr;
  sqlite3_open(path.c_str(), &db);
  // The store's layout: one table per class (schema version 4), seq the rowid.
  std::string sql =
      "PRAGMA page_size=8192; PRAGMA auto_vacuum=INCREMENTAL; PRAGMA journal_mode=WAL;"
      "PRAGMA synchronous=FULL; PRAGMA cache_size=-8000;";
  for (const char* cls : {"financial", "security", "fault", "operational", "telemetry"}) {
    sql += std::string("CREATE TABLE event_") + cls +
           "(seq INTEGER PRIMARY KEY, epoch INTEGER NOT NULL, egm TEXT NOT NULL, egm_seq INTEGER "
           "NOT NULL, type TEXT NOT NULL, cls INTEGER NOT NULL, ts_gw INTEGER NOT NULL, ts_egm "
           "INTEGER, source TEXT NOT NULL, attrs TEXT NOT NULL, raw TEXT NOT NULL, hash BLOB NOT "
           "NULL);";
  }
  sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
  sqlite3_stmt* ins[5] = {};
  for (int k = 0; k < 5; ++k) {
    std::string q = std::string("INSERT INTO event_") +
                    std::string(to_string(static_cast<EventClass>(k))) +
                    "(seq,epoch,egm,egm_seq,type,cls,ts_gw,ts_egm,source,attrs,raw,hash) "
                    "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)";
    sqlite3_prepare_v2(db, q.c_str(), -1, &ins[k], nullptr);
  }
  unsigned char hash[32] = {1};
  auto t0 = Clock::now();
  for (std::uint64_t i = 0; i < n; ++i) {
    if (i % 100 == 0) sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
    Record r = make(i);
    sqlite3_stmt* st = ins[static_cast<int>(r.cls)];
    sqlite3_bind_int64(st, 1, static_cast<sqlite3_int64>(i + 1));
    sqlite3_bind_int64(st, 2, 1);
    sqlite3_bind_text(st, 3, r.egm.data(), static_cast<int>(r.egm.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 4, static_cast<sqlite3_int64>(i + 1));
    sqlite3_bind_text(st, 5, r.type.data(), static_cast<int>(r.type.size()), SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 6, static_cast<int>(r.cls));
    sqlite3_bind_int64(st, 7, r.ts_gw_ms);
    sqlite3_bind_null(st, 8);
    sqlite3_bind_text(st, 9, r.source.data(), static_cast<int>(r.source.size()), SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 10, r.attrs_json.data(), static_cast<int>(r.attrs_json.size()),
                      SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 11, r.raw_hex.data(), static_cast<int>(r.raw_hex.size()),
                      SQLITE_TRANSIENT);
    sqlite3_bind_blob(st, 12, hash, 32, SQLITE_TRANSIENT);
    sqlite3_step(st);
    sqlite3_reset(st);
    if (i % 100 == 99 || i + 1 == n) sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  }
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  for (auto* st : ins) sqlite3_finalize(st);
  sqlite3_close(db);
  return static_cast<double>(n) / secs;
}

// Steady producer at `rate` events/s for `secs`; returns append -> durable latencies (ms).
std::vector<double> steady(Store& s, std::uint64_t first, int rate, double secs) {
  std::mutex mu;
  std::vector<double> lat;
  std::uint64_t n = static_cast<std::uint64_t>(rate * secs);
  std::uint64_t done = 0;
  std::condition_variable cv;
  auto t0 = Clock::now();
  for (std::uint64_t i = 0; i < n; ++i) {
    auto due = t0 + std::chrono::microseconds(static_cast<std::int64_t>(i * 1e6 / rate));
    std::this_thread::sleep_until(due);
    auto sent = Clock::now();
    s.append(make(first + i), [&, sent](std::error_code, const Record&) {
      std::lock_guard lk(mu);
      lat.push_back(ms_since(sent));
      ++done;
      cv.notify_one();
    });
  }
  std::unique_lock lk(mu);
  cv.wait(lk, [&] { return done == n; });
  return lat;
}

struct ReadFigures {
  std::vector<double> next, ack, jump;
};

// Each consumer starts at a random backlog position and delivers sequentially (next_batch of
// 500, then a durable ack), as the gateway does; then next_batch after random replay jumps.
// Moving to the start position is an ack that skips millions of rows: the store counts those
// off in the background, and the measurement starts once that has settled.
void deliver(Store& s, int rounds, std::uint64_t rows, ReadFigures& f, std::mt19937_64& rng) {
  const char* names[] = {"slot", "maint", "analytics"};
  std::uniform_int_distribution<std::uint64_t> pos(1, rows);
  floorgate::store::testing::Readers rd(s);  // the delivery positions, held by the caller
  for (const char* c : names) {
    auto st = s.stats();
    for (auto& cs : st.consumers) {
      if (cs.name != c) continue;
      rd[c].seek(std::max<std::uint64_t>(cs.acked_upto + 1, pos(rng) / 2));
      std::error_code ec;
      auto b = rd[c].next(1, ec);
      if (!b.empty()) s.ack(c, b.back().seq);
    }
  }
  auto t0 = Clock::now();
  auto counting = [&] {
    for (const auto& cs : s.stats().consumers) {
      if (cs.counting) return true;
    }
    return false;
  };
  if (!floorgate::testing::wait_until([&] { return !counting(); }, std::chrono::minutes(10))) {
    std::fprintf(stderr, "bench: the big acks' counts did not finish in 10 minutes\n");
    std::exit(1);
  }
  std::fprintf(stderr, "bench: positioned 3 consumers, counts settled in %.1f s\n",
               ms_since(t0) / 1000);
  for (int i = 0; i < rounds; ++i) {
    for (const char* c : names) {
      std::error_code ec;
      auto t = Clock::now();
      auto b = rd[c].next(500, ec);
      f.next.push_back(ms_since(t));
      if (b.empty()) continue;
      t = Clock::now();
      auto aec = s.ack(c, b.back().seq);
      f.ack.push_back(ms_since(t));
      if (aec) std::fprintf(stderr, "bench: ack failed: %s\n", aec.message().c_str());
    }
  }
  for (int i = 0; i < rounds / 2; ++i) {
    for (const char* c : names) {
      std::error_code ec;
      rd[c].seek(pos(rng));
      auto t = Clock::now();
      auto b = rd[c].next(500, ec);
      f.jump.push_back(ms_since(t));
      rd[c].rewind_to_ack();
    }
  }
}

}  // namespace

int main() {
  const char* env_rows = std::getenv("STORE_BENCH_ROWS");
  const std::uint64_t big = env_rows ? std::strtoull(env_rows, nullptr, 10) : 5'000'000;
  const std::uint64_t small = 100'000;
  floorgate::testing::TempDir dir;
  std::mt19937_64 rng(7);

  // 1. Append rate against a bare batched-insert loop, in the same run.
  const std::uint64_t n_rate = 300'000;
  double bare = bare_loop((dir / "bare.db").string(), n_rate);
  double rate = 0;
  {
    Options o;
    o.path = dir / "rate.db";
    o.max_bytes = 64ull << 30;
    std::error_code ec;
    auto s = Store::open(o, ec);
    if (!s) return 1;
    rate = append_bulk(*s, 0, n_rate);
  }
  print_figure("store.append_rate", rate, "events/s");
  print_figure("store.append_ratio", rate / bare, "ratio");
  std::fprintf(stderr, "bench: bare loop %.0f events/s\n", bare);

  // 1b. Slow flash: every sync 5 ms longer (the fault VFS), 8 producers, the default window.
  {
    namespace vfs = floorgate::store::fault_vfs;
    vfs::reset();
    vfs::set_sync_delay(std::chrono::milliseconds(5));
    Options o;
    o.path = dir / "slow.db";
    o.max_bytes = 64ull << 30;
    o.vfs = vfs::name();
    std::error_code ec;
    auto s = Store::open(o, ec);
    if (!s) return 1;
    const double slow = append_producers(*s, 8, 25'000);
    const auto syncs = vfs::calls(vfs::Op::sync);
    s->close();
    vfs::reset();
    print_figure("store.append_rate_sync5ms", slow, "events/s");
    std::fprintf(stderr, "bench: sync +5 ms: %.0f events/s, %llu syncs for 200000 events\n", slow,
                 static_cast<unsigned long long>(syncs));
  }

  // 2. One store with 3 consumers: 100k rows, steady commits, reads; then 5M rows, reads.
  Options o;
  o.path = dir / "big.db";
  o.max_bytes = 64ull << 30;
  std::error_code ec;
  auto s = Store::open(o, ec);
  if (!s) return 1;
  s->register_consumer({"slot", {{"financial", "security"}, {}, {}}, true});
  s->register_consumer({"maint", {{"fault", "operational"}, {}, {}}, true});
  s->register_consumer({"analytics", {{}, {"meters.*", "game.*"}, {}}, false});
  append_bulk(*s, 0, small);
  ::sync();  // measure steady state, not the writeback of the bulk load
  auto lat = steady(*s, small, 2000, 3.0);
  print_figure("store.commit_p99_ms", p99(lat), "ms");
  ReadFigures warm;
  deliver(*s, 60, small, warm, rng);
  long rss_small = rss_kb();
  print_rss_parts("at 100k rows");
  std::fprintf(stderr, "bench: sqlite heap %lld kB at %llu rows\n",
               static_cast<long long>(sqlite3_memory_used() / 1024), (unsigned long long)small);
  std::uint64_t have = s->stats().last_seq;
  auto t0 = Clock::now();
  // The WAL's size every 20 ms until the fill is done (the sampler stops at once then).
  std::mutex fill_mu;
  std::condition_variable fill_cv;
  bool filling = true;
  std::uintmax_t wal_peak = 0;
  std::thread wal_sampler([&] {
    const auto wal = o.path.string() + "-wal";
    std::unique_lock lk(fill_mu);
    do {
      std::error_code size_ec;
      const auto size = std::filesystem::file_size(wal, size_ec);  // -1 on error
      if (!size_ec) wal_peak = std::max(wal_peak, size);
    } while (!fill_cv.wait_for(lk, std::chrono::milliseconds(20), [&] { return !filling; }));
  });
  if (big > have) append_bulk(*s, have, big - have);
  {
    std::lock_guard lk(fill_mu);
    filling = false;
  }
  fill_cv.notify_one();
  wal_sampler.join();
  std::fprintf(stderr, "bench: built %llu rows in %.1f s\n", (unsigned long long)big,
               ms_since(t0) / 1000);
  ::sync();
  ReadFigures f;
  deliver(*s, 200, big, f, rng);
  long rss_big = rss_kb();
  print_rss_parts("at the end");
  std::fprintf(stderr,
               "bench: p50 next_batch %.3f ms, ack %.3f ms, commit %.3f ms; random-jump "
               "next_batch p50 %.3f p99 %.3f ms\n",
               pct(f.next, 0.5), pct(f.ack, 0.5), pct(lat, 0.5), pct(f.jump, 0.5),
               p99(f.jump));
  if (std::getenv("STORE_BENCH_VERBOSE")) {
    for (auto* v : {&f.next, &f.ack}) {
      std::fprintf(stderr, "bench: slowest:");
      for (std::size_t i = 0; i < v->size(); ++i) {
        if ((*v)[i] >= pct(*v, 0.97)) std::fprintf(stderr, " #%zu=%.2f", i, (*v)[i]);
      }
      std::fprintf(stderr, "\n");
    }
  }
  print_figure("store.next_batch_p99_ms", p99(f.next), "ms");
  print_figure("store.ack_p99_ms", p99(f.ack), "ms");
  print_figure("store.rss_ratio", static_cast<double>(rss_big) / static_cast<double>(rss_small),
               "ratio");
  {
    const auto st = s->stats();
    std::printf("{\"bench\":\"store.wal_peak_mb\",\"value\":%.1f,\"unit\":\"MB\","
                "\"wal_restarts\":%llu,\"wal_restart_busy\":%llu}\n",
                static_cast<double>(wal_peak) / 1e6,
                static_cast<unsigned long long>(st.wal_restarts_total),
                static_cast<unsigned long long>(st.wal_restart_busy_total));
    std::fflush(stdout);
  }
  std::fprintf(stderr, "bench: sqlite heap %lld kB now\n",
               static_cast<long long>(sqlite3_memory_used() / 1024));
  std::fprintf(stderr, "bench: rss %ld kB at %llu rows, %ld kB at %llu rows\n", rss_small,
               (unsigned long long)small, rss_big, (unsigned long long)big);
  return 0;
}
