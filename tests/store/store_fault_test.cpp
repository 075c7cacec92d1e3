// Fault suite: SIGKILL crash loop, disk full.
#include <gtest/gtest.h>

#include <fstream>
#include <future>
#include <map>
#include <random>
#include <sstream>

#include "store_test_util.hpp"
#include "test_process.hpp"

using namespace floorgate::store;
using floorgate::store::testing::hex;
using floorgate::store::testing::make_event;
using floorgate::testing::TempDir;

namespace {

struct Reported {
  std::map<std::uint64_t, std::string> hash_by_seq;           // every durable report
  std::map<std::string, std::uint64_t> last_egm_seq_by_egm;   // for monotonic egm_seq
  std::uint64_t max_ack = 0;
};

// Ends a line the killed child left half-written, so the next child's first line stays whole.
void terminate_torn_line(const std::filesystem::path& out) {
  std::ifstream in(out, std::ios::binary);
  if (!in.seekg(-1, std::ios::end)) return;  // empty file
  char last = 0;
  in.get(last);
  if (last != '\n') std::ofstream(out, std::ios::app) << '\n';
}

// Reads the child's lines; fails the test on a seq reported twice with different content.
void absorb(const std::filesystem::path& out, Reported& rep, std::size_t& offset) {
  std::ifstream in(out);
  in.seekg(static_cast<std::streamoff>(offset));
  std::string line;
  while (std::getline(in, line)) {
    if (in.eof()) break;  // a torn last line (no newline yet): read it next time
    offset += line.size() + 1;
    std::istringstream ls(line);
    std::string tag;
    ls >> tag;
    if (tag == "D") {
      std::uint64_t seq = 0, egm_seq = 0;
      std::string egm, h;
      ls >> seq >> egm >> egm_seq >> h;
      // A write(2) that crosses a page boundary can be cut short by SIGKILL: a torn report
      // (the test ends it with a newline) is not a report.
      if (h.size() != 64) continue;
      auto [it, fresh] = rep.hash_by_seq.emplace(seq, h);
      ASSERT_TRUE(fresh) << "seq " << seq << " reported twice (reused)";
    } else if (tag == "A") {
      std::uint64_t a = 0;
      ls >> a;
      rep.max_ack = std::max(rep.max_ack, a);
    }
  }
}

TEST(StoreCrash, SigkillLoopLosesNoDurableEventAndNeverReusesSeq) {
  TempDir dir;
  auto db = dir / "crash.db";
  auto out = dir / "child.out";
  Reported rep;
  std::size_t offset = 0;
  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> delay_ms(2, 80);
  constexpr int kKills = 55;
  std::uint64_t prev_max = 0, checked_upto = 0, verified_upto = 0;
  for (int round = 0; round < kKills; ++round) {
    {
      floorgate::testing::ChildProcess child({STORE_CHILD_PATH, "append", db.string()},
                                             out.string(), (dir / "child.err").string());
      // Half the rounds wait for progress first; the others may kill during open.
      if (round % 2 == 0) {
        floorgate::testing::wait_until(
            [&] {
              std::error_code ec;
              return std::filesystem::file_size(out, ec) > offset + 200;
            },
            std::chrono::seconds(20));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms(rng)));
      child.kill(SIGKILL);
      int st = child.wait();
      ASSERT_TRUE(WIFSIGNALED(st)) << "child exited by itself in round " << round;
    }
    terminate_torn_line(out);
    absorb(out, rep, offset);
    Options o;
    o.path = db;
    std::error_code ec;
    OpenReport orep;
    auto s = Store::open(o, ec, &orep);
    ASSERT_TRUE(s) << "round " << round << ": " << ec.message();
    ASSERT_FALSE(orep.quarantined.has_value()) << "round " << round << ": " << orep.detail;
    auto stats = s->stats();
    ASSERT_GE(stats.last_seq, prev_max);
    prev_max = stats.last_seq;
    if (!rep.hash_by_seq.empty()) {
      ASSERT_GE(stats.last_seq, rep.hash_by_seq.rbegin()->first);
    }
    // Every reported-durable event is present and intact: the new ones each round, all of
    // them again at the end. The chain is verified from where the last round verified it.
    std::vector<std::uint64_t> seqs;
    for (auto it = rep.hash_by_seq.upper_bound(checked_upto); it != rep.hash_by_seq.end(); ++it) {
      seqs.push_back(it->first);
    }
    auto rows = s->get(seqs).value();
    ASSERT_EQ(rows.size(), seqs.size()) << "round " << round;
    for (auto& r : rows) ASSERT_EQ(hex(r.hash), rep.hash_by_seq[r.seq]) << "seq " << r.seq;
    if (!seqs.empty()) checked_upto = seqs.back();
    auto chk = s->verify_chain(verified_upto > 0 ? verified_upto : 0);
    ASSERT_TRUE(chk.ok) << "round " << round << ": " << chk.detail;
    verified_upto = stats.last_seq;
    for (auto& c : stats.consumers) {
      if (c.name == "c1") {
        ASSERT_GE(c.acked_upto, rep.max_ack) << "durable ack lost";
      }
    }
    // c1's unacked count is exact after the kill: the consumer rows are not rewritten by
    // commits that only append, so open counts the rows after their pending_at again.
    ASSERT_TRUE(floorgate::testing::wait_until([&] {
      for (auto& c : s->stats().consumers) {
        if (c.counting) return false;
      }
      return true;
    }));
    for (auto& c : s->stats().consumers) {
      if (c.name != "c1") continue;
      std::uint64_t exact = 0;
      for (const char* cls : {"financial", "security"}) {
        QueryFilter f;
        f.cls = cls;
        f.limit = 10000;
        for (;;) {
          auto page = s->query(f).value();
          std::size_t n = 0;
          for (const auto& r : page) n += r.seq > c.acked_upto ? 1 : 0;
          exact += n;
          if (page.empty() || n < page.size()) break;  // reached the cursor
          f.before_seq = page.back().seq;
        }
      }
      ASSERT_EQ(c.unacked, exact) << "round " << round;
    }
  }
  // egm_seq strictly increases per EGM along seq over everything that was ever stored.
  Options o;
  o.path = db;
  std::error_code ec;
  auto s = Store::open(o, ec);
  ASSERT_TRUE(s);
  auto full = s->verify_chain();
  ASSERT_TRUE(full.ok) << full.detail;
  std::vector<std::uint64_t> every;
  for (auto& [seq, h] : rep.hash_by_seq) every.push_back(seq);
  auto all_rows = s->get(every).value();
  ASSERT_EQ(all_rows.size(), every.size());
  for (auto& r : all_rows) ASSERT_EQ(hex(r.hash), rep.hash_by_seq[r.seq]);
  std::map<std::string, std::uint64_t> last;
  QueryFilter all;
  all.limit = 10000;
  std::optional<std::uint64_t> before;
  std::size_t total = 0;
  std::vector<Record> rows;
  for (;;) {
    all.before_seq = before;
    auto page = s->query(all).value();
    if (page.empty()) break;
    before = page.back().seq;
    rows.insert(rows.end(), page.begin(), page.end());
  }
  std::sort(rows.begin(), rows.end(), [](auto& a, auto& b) { return a.seq < b.seq; });
  for (auto& r : rows) {
    ASSERT_GT(r.egm_seq, last[r.egm]) << "egm_seq went backwards at seq " << r.seq;
    last[r.egm] = r.egm_seq;
    ++total;
  }
  EXPECT_GT(rep.hash_by_seq.size(), 100u) << "the child should have made progress";
  EXPECT_EQ(total, s->stats().rows);
}

TEST(StoreDiskFull, AppendsFailCleanlyAndRecoverWhenSpaceReturns) {
  TempDir dir;
  Options o;
  o.path = dir / "full.db";
  o.max_page_count = 128;  // 256 KiB at 2 KiB pages
  o.retention_interval = std::chrono::hours(1);
  o.max_age = std::chrono::hours(24 * 365);
  std::error_code ec;
  auto s = Store::open(o, ec);
  ASSERT_TRUE(s) << ec.message();
  ASSERT_FALSE(s->register_consumer({"c", {}, true}));
  floorgate::store::testing::Readers rd(*s);
  std::uint64_t ok = 0;
  std::error_code last;
  // Bursts of async appends (group commit) until the cap is hit.
  for (int burst = 0; burst < 100 && !last; ++burst) {
    std::vector<std::promise<std::error_code>> done(50);
    for (auto& p : done) {
      s->append(make_event("e"), [&p](std::error_code e, const Record&) { p.set_value(e); });
    }
    for (auto& p : done) {
      auto e = p.get_future().get();
      if (!e) {
        ++ok;
      } else if (!last) {
        last = e;
      }
    }
  }
  ASSERT_EQ(last, Errc::disk_full);
  // A failed batch may leave room for a smaller one: fill up with single appends.
  for (int i = 0; i < 1000; ++i) {
    auto e = s->append_sync(make_event("e"));
    if (e) {
      ASSERT_EQ(e, Errc::disk_full);
      break;
    }
    ++ok;
  }
  ASSERT_GT(ok, 50u);
  EXPECT_EQ(s->append_sync(make_event("e")), Errc::disk_full);
  auto st = s->stats();
  EXPECT_EQ(st.rows, ok);
  EXPECT_GE(st.disk_full_total, 2u);
  // Earlier events stay readable and deliverable.
  std::vector<Record> got;
  for (;;) {
    auto b = rd["c"].next(500, ec);
    ASSERT_FALSE(ec);
    if (b.empty()) break;
    got.insert(got.end(), b.begin(), b.end());
  }
  ASSERT_EQ(got.size(), ok);
  EXPECT_TRUE(s->verify_chain().ok);
  // Acks still work (they need no new pages), then retention frees space: appends resume.
  ASSERT_FALSE(s->ack("c", got.back().seq));
  s.reset();
  o.max_bytes = 64 * 1024;
  s = Store::open(o, ec);
  ASSERT_TRUE(s) << ec.message();
  ASSERT_FALSE(s->run_retention());
  Record r;
  ASSERT_FALSE(s->append_sync(make_event("e"), &r));
  EXPECT_EQ(r.seq, ok + 1);
  EXPECT_TRUE(s->verify_chain().ok);
  // And with a larger cap (more disk), it keeps going.
  s.reset();
  o.max_page_count = 8192;
  o.max_bytes = 1ull << 30;
  s = Store::open(o, ec);
  ASSERT_TRUE(s);
  for (int i = 0; i < 500; ++i) ASSERT_FALSE(s->append_sync(make_event("e")));
  EXPECT_TRUE(s->verify_chain().ok);
}

}  // namespace
