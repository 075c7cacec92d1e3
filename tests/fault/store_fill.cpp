// fg-store-fill: builds a floorgate store holding N unacked events, through the store API (so
// the file is exactly what the daemon writes), for the daemon benchmarks: start-up time with a
// 5M-row store, RSS and drain time with a 1M backlog.
//   fg-store-fill --path FILE --rows N [--egms E]   (EGM ids egm-001..egm-E, 64 by default)
// Registers the bench consumers (slot-mgmt, maintenance, analytics) with nothing acked.
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <iterator>
#include <string>

#include "floorgate/store/store.hpp"

using namespace floorgate::store;

namespace {

struct Kind {
  const char* type;
  EventClass cls;
};
// A floor's mix: mostly games and bills, some doors and faults.
constexpr Kind kKinds[] = {{"game.started", EventClass::operational},
                           {"game.ended", EventClass::operational},
                           {"game.started", EventClass::operational},
                           {"game.ended", EventClass::operational},
                           {"bill.stacked", EventClass::financial},
                           {"door.opened", EventClass::security},
                           {"door.closed", EventClass::security},
                           {"bill.jam", EventClass::fault},
                           {"meters.snapshot", EventClass::telemetry},
                           {"bill.stacked", EventClass::financial}};

}  // namespace

int main(int argc, char** argv) {
  std::string path;
  std::uint64_t rows = 0, egms = 64;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--path") path = argv[i + 1];
    else if (a == "--rows") rows = std::strtoull(argv[i + 1], nullptr, 10);
    else if (a == "--egms") egms = std::strtoull(argv[i + 1], nullptr, 10);
  }
  if (path.empty() || rows == 0 || egms == 0) {
    std::fprintf(stderr, "usage: fg-store-fill --path FILE --rows N [--egms E]\n");
    return 2;
  }
  Options o;
  o.path = path;
  o.max_bytes = 64ull << 30;
  std::error_code ec;
  auto s = Store::open(o, ec);
  if (!s) {
    std::fprintf(stderr, "fg-store-fill: open: %s\n", ec.message().c_str());
    return 1;
  }
  s->register_consumer({"slot-mgmt", {{"financial", "security"}, {}, {}}, true});
  s->register_consumer({"maintenance", {{"fault", "security"}, {}, {}}, true});
  s->register_consumer({"analytics", {{}, {}, {}}, false});
  std::mutex mu;
  std::condition_variable cv;
  std::uint64_t done = 0, failed = 0;
  const std::uint64_t first = s->stats().last_seq;
  for (std::uint64_t n = 0; n < rows; ++n) {
    {
      std::unique_lock lk(mu);
      cv.wait(lk, [&] { return n - done < 4000; });
    }
    Record r;
    const auto e = (first + n) % egms;
    char id[32];
    std::snprintf(id, sizeof id, "egm-%03llu", static_cast<unsigned long long>(e + 1));
    r.egm = id;
    const auto& k = kKinds[(first + n) % std::size(kKinds)];
    r.type = k.type;
    r.cls = k.cls;
    r.ts_gw_ms = 1'790'000'000'000 + static_cast<std::int64_t>(n);
    r.source = "sas:0x" + std::to_string(e % 100);
    r.attrs_json = "{\"bet\":25,\"win\":0,\"denom\":\"0.01\",\"n\":" + std::to_string(n) + "}";
    r.raw_hex = "017e0000";
    s->append(std::move(r), [&](std::error_code aec, const Record&) {
      std::lock_guard lk(mu);
      ++done;
      failed += aec ? 1 : 0;
      cv.notify_one();
    });
  }
  std::unique_lock lk(mu);
  cv.wait(lk, [&] { return done == rows; });
  std::fprintf(stderr, "fg-store-fill: %llu rows appended, %llu failed\n",
               static_cast<unsigned long long>(rows), static_cast<unsigned long long>(failed));
  return failed ? 1 : 0;
}
