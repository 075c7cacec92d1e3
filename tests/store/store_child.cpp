// Helper child for the store fault tests.
//   store_child append <db>            appends forever; prints "D <seq> <egm> <egm_seq> <hash>"
//                                      per durable event and "A <seq>" per durable ack
//   store_child hold <db> <ready-file> opens the store, writes ready-file, waits to be killed
//   store_child open <db>              tries to open; exit status = the store error value
#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>

#include "floorgate/store/store.hpp"
#include "store_test_util.hpp"

using namespace floorgate::store;

namespace {

void emit(const std::string& line) {
  // One write(2) per line: nothing is buffered in the process when SIGKILL lands.
  ssize_t n = ::write(STDOUT_FILENO, line.data(), line.size());
  (void)n;
}

std::string hex(const std::array<std::uint8_t, 32>& h) {
  static const char* d = "0123456789abcdef";
  std::string s;
  for (auto c : h) {
    s.push_back(d[c >> 4]);
    s.push_back(d[c & 15]);
  }
  return s;
}

int run_append(const std::string& path) {
  Options o;
  o.path = path;
  std::error_code ec;
  auto store = Store::open(o, ec);
  if (!store) {
    std::fprintf(stderr, "open failed: %s\n", ec.message().c_str());
    return 2;
  }
  store->register_consumer({"c1", {{"financial", "security"}, {}, {}}, true});
  floorgate::store::testing::Reader reader(*store, "c1");  // the delivery position
  std::mutex mu;
  std::condition_variable cv;
  int in_flight = 0;
  std::atomic<std::uint64_t> last_durable{0};
  for (std::uint64_t n = 0;; ++n) {
    Record r;
    r.egm = "egm-" + std::to_string(n % 7);
    r.type = n % 3 == 0 ? "bill.stacked" : "door.opened";
    r.cls = n % 3 == 0 ? EventClass::financial : EventClass::security;
    r.ts_gw_ms = 1'700'000'000'000 + static_cast<std::int64_t>(n);
    r.source = "sas:0x11";
    r.attrs_json = "{\"n\":" + std::to_string(n) + "}";
    r.raw_hex = "01ff";
    {
      std::unique_lock lk(mu);
      cv.wait(lk, [&] { return in_flight < 64; });
      ++in_flight;
    }
    store->append(std::move(r), [&](std::error_code e, const Record& s) {
      if (!e) {
        emit("D " + std::to_string(s.seq) + " " + s.egm + " " + std::to_string(s.egm_seq) + " " +
             hex(s.hash) + "\n");
        last_durable = s.seq;
      }
      std::lock_guard lk(mu);
      --in_flight;
      cv.notify_one();
    });
    if (n % 50 == 49) {
      std::error_code rec;
      auto batch = reader.next(100, rec);
      if (!batch.empty()) {
        auto upto = batch.back().seq;
        store->ack_async("c1", upto, [upto](std::error_code e) {
          if (!e) emit("A " + std::to_string(upto) + "\n");
        });
      }
    }
  }
}

int run_hold(const std::string& path, const std::string& ready) {
  Options o;
  o.path = path;
  std::error_code ec;
  auto store = Store::open(o, ec);
  if (!store) return static_cast<int>(ec.value());
  std::ofstream(ready) << "ready\n";
  for (;;) ::pause();
}

int run_open(const std::string& path) {
  Options o;
  o.path = path;
  std::error_code ec;
  auto store = Store::open(o, ec);
  return store ? 0 : ec.value();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 3 && std::strcmp(argv[1], "append") == 0) return run_append(argv[2]);
  if (argc >= 4 && std::strcmp(argv[1], "hold") == 0) return run_hold(argv[2], argv[3]);
  if (argc >= 3 && std::strcmp(argv[1], "open") == 0) return run_open(argv[2]);
  std::fprintf(stderr, "usage: store_child append|hold|open <db> [ready-file]\n");
  return 64;
}
