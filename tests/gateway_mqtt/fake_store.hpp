#pragma once
// An in-memory store::Store for the delivery tests that exercise protocol behaviour (bad
// input, replay, windows, dead letters) without SQLite in the loop. Thread-safe; ack_async
// completes on its own worker thread like the real writer thread. The real store is used by
// the end-to-end suites (real_store_test.cpp, the runner, the benchmark).

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

#include "floorgate/store/store.hpp"

namespace floorgate::testing {

class FakeStore : public store::Store {
 public:
  FakeStore() : worker_([this] { run(); }) {}
  ~FakeStore() override { close(); }

  // Appends synchronously and returns the stored record (seq assigned).
  store::Record add(store::Record r) {
    std::lock_guard l(mu_);
    r.seq = ++last_seq_;
    r.epoch = 1;
    r.egm_seq = ++egm_seq_[r.egm];
    rows_[r.seq] = r;
    return r;
  }
  void evict_upto(std::uint64_t seq) {
    std::lock_guard l(mu_);
    while (!rows_.empty() && rows_.begin()->first <= seq) {
      rows_.erase(rows_.begin());
      ++evicted_;
    }
  }
  std::uint64_t acked(const std::string& c) {
    std::lock_guard l(mu_);
    return consumers_[c].acked;
  }
  std::size_t ack_calls() {
    std::lock_guard l(mu_);
    return ack_calls_;
  }

  void append(store::Record r, AppendHandler h) override {
    auto s = add(std::move(r));
    h({}, s);
  }
  std::error_code append_sync(store::Record r, store::Record* out) override {
    auto s = add(std::move(r));
    if (out) *out = s;
    return {};
  }
  std::error_code register_consumer(const store::ConsumerSpec& spec) override {
    std::lock_guard l(mu_);
    auto& c = consumers_[spec.name];
    c.spec = spec;
    return {};
  }
  // Answers on the worker thread, like the real writer thread.
  void register_consumer_async(store::ConsumerSpec spec, RegisterHandler done) override {
    later([this, spec, done] {
      auto ec = register_consumer(spec);
      done(ec, acked(spec.name));
    });
  }
  std::error_code remove_consumer(const std::string& name) override {
    std::lock_guard l(mu_);
    consumers_.erase(name);
    return {};
  }
  std::error_code reset_consumer(const std::string& name, std::uint64_t to_seq,
                                 std::uint64_t* previous) override {
    std::lock_guard l(mu_);
    auto it = consumers_.find(name);
    if (it == consumers_.end()) return std::make_error_code(std::errc::invalid_argument);
    if (previous) *previous = it->second.acked;
    it->second.acked = to_seq;
    it->second.sent = std::max(it->second.sent, to_seq);
    return {};
  }
  void reset_consumer_async(const std::string& name, std::uint64_t to_seq,
                            ResetHandler done) override {
    later([this, name, to_seq, done] {
      std::uint64_t previous = 0;
      auto ec = reset_consumer(name, to_seq, &previous);
      done(ec, previous);
    });
  }
  std::vector<store::Record> read_after(const std::string& c, std::uint64_t after,
                                        std::size_t max, std::error_code& ec,
                                        std::uint64_t* covered = nullptr) override {
    std::lock_guard l(mu_);
    ec = {};
    std::vector<store::Record> out;
    auto it = consumers_.find(c);
    if (it == consumers_.end()) {
      ec = std::make_error_code(std::errc::invalid_argument);
      return out;
    }
    std::uint64_t last = rows_.empty() ? after : std::max(after, rows_.rbegin()->first);
    for (auto r = rows_.upper_bound(after); r != rows_.end() && out.size() < max; ++r) {
      if (store::selects(it->second.spec.route, r->second)) out.push_back(r->second);
    }
    if (covered) *covered = out.size() == max ? out.back().seq : last;
    if (!out.empty()) it->second.sent = std::max(it->second.sent, out.back().seq);
    return out;
  }
  // Like the real store's memory of its latest commits: a read after seq >= last - n is served
  // at once by read_recent, an older one only by read_after_async (on the worker thread).
  // Default: everything is "in memory".
  void keep_recent(std::uint64_t n) {
    std::lock_guard l(mu_);
    recent_ = n;
  }
  std::size_t async_reads() {
    std::lock_guard l(mu_);
    return async_reads_;
  }
  std::optional<std::vector<store::Record>> read_recent(const std::string& c,
                                                        std::uint64_t after, std::size_t max,
                                                        std::error_code& ec,
                                                        std::uint64_t* covered) override {
    {
      std::lock_guard l(mu_);
      if (after < last_seq_ && last_seq_ - after > recent_) return std::nullopt;
    }
    return read_after(c, after, max, ec, covered);
  }
  void read_after_async(const std::string& c, std::uint64_t after, std::size_t max,
                        ReadAfterHandler done) override {
    auto job = [this, c, after, max, done] {
      std::error_code ec;
      std::uint64_t covered = after;
      auto rows = read_after(c, after, max, ec, &covered);
      done(ec, std::move(rows), covered);
    };
    {
      std::lock_guard l(mu_);
      ++async_reads_;
      if (hold_reads_) return held_reads_.push_back(std::move(job));
    }
    later(std::move(job));
  }
  // Keeps read_after_async jobs unanswered until release_reads() (a slow disk, on demand).
  void hold_reads() {
    std::lock_guard l(mu_);
    hold_reads_ = true;
  }
  void release_reads() {
    std::vector<std::function<void()>> jobs;
    {
      std::lock_guard l(mu_);
      hold_reads_ = false;
      jobs.swap(held_reads_);
    }
    for (auto& j : jobs) later(std::move(j));
  }
  std::error_code ack(const std::string& c, std::uint64_t upto) override {
    std::lock_guard l(mu_);
    ++ack_calls_;
    auto& cs = consumers_[c];
    if (upto < cs.acked) return std::make_error_code(std::errc::invalid_argument);
    // As the real store: never beyond the rows it handed out for this consumer.
    if (upto > cs.acked && upto > cs.sent) return std::make_error_code(std::errc::result_out_of_range);
    cs.acked = upto;
    return {};
  }
  void ack_async(const std::string& c, std::uint64_t upto, AckHandler done) override {
    std::lock_guard l(qmu_);
    q_.push_back([this, c, upto, done] { done(ack(c, upto)); });
    cv_.notify_one();
  }
  core::Result<std::optional<std::uint64_t>> seq_at_time(std::int64_t since_ms) override {
    std::lock_guard l(mu_);
    for (auto& [s, r] : rows_)
      if (r.ts_gw_ms >= since_ms) return std::optional<std::uint64_t>(s);
    return std::optional<std::uint64_t>();
  }
  void seq_at_time_async(std::int64_t since_ms,
                         ReadHandler<std::optional<std::uint64_t>> done) override {
    later([this, since_ms, done] { done(seq_at_time(since_ms)); });
  }
  std::error_code dead_letter(const std::string& c, std::uint64_t seq,
                              const std::string& reason) override {
    std::lock_guard l(mu_);
    consumers_[c].dead.push_back({seq, reason, 0});
    return {};
  }
  std::vector<store::DeadLetter> dead_letters(const std::string& c) override {
    std::lock_guard l(mu_);
    return consumers_[c].dead;
  }
  void dead_letter_async(const std::string& c, std::uint64_t seq, const std::string& reason,
                         AckHandler done) override {
    later([this, c, seq, reason, done] { done(dead_letter(c, seq, reason)); });
  }
  void dead_letter_events_async(const std::string& c, DeadLettersHandler done) override {
    later([this, c, done] {
      std::vector<std::uint64_t> seqs;
      store::Route route;
      {
        std::lock_guard l(mu_);
        for (auto& d : consumers_[c].dead) seqs.push_back(d.seq);
        route = consumers_[c].spec.route;
      }
      // As the store: an entry whose event is gone or outside the route is dropped.
      auto rows = get(seqs).value();
      std::erase_if(rows, [&](const store::Record& r) { return !store::selects(route, r); });
      {
        std::lock_guard l(mu_);
        std::erase_if(consumers_[c].dead, [&](const store::DeadLetter& d) {
          return std::none_of(rows.begin(), rows.end(),
                              [&](const store::Record& r) { return r.seq == d.seq; });
        });
      }
      done({}, std::move(rows));
    });
  }
  void clear_dead_letters_async(const std::string& c, std::vector<std::uint64_t> seqs,
                                AckHandler done) override {
    later([this, c, seqs, done] {
      {
        std::lock_guard l(mu_);
        auto& dead = consumers_[c].dead;
        std::erase_if(dead, [&](const store::DeadLetter& d) {
          return std::find(seqs.begin(), seqs.end(), d.seq) != seqs.end();
        });
      }
      done({});
    });
  }
  core::Result<std::vector<store::Record>> get(const std::vector<std::uint64_t>& seqs) override {
    std::lock_guard l(mu_);
    std::vector<store::Record> out;
    for (auto s : seqs)
      if (auto it = rows_.find(s); it != rows_.end()) out.push_back(it->second);
    return out;
  }
  // keep_recent() rules what is "in memory", as for read_recent.
  std::optional<std::vector<store::Record>> get_recent(std::uint64_t after,
                                                       std::size_t max) override {
    std::lock_guard l(mu_);
    if (after < last_seq_ && last_seq_ - after > recent_) return std::nullopt;
    std::vector<store::Record> out;
    for (auto it = rows_.upper_bound(after); it != rows_.end() && out.size() < max; ++it)
      out.push_back(it->second);
    return out;
  }
  // Newest first, by EGM only (what the delivery tests need).
  core::Result<std::vector<store::Record>> query(const store::QueryFilter& f) override {
    std::lock_guard l(mu_);
    std::vector<store::Record> out;
    for (auto it = rows_.rbegin(); it != rows_.rend() && out.size() < f.limit; ++it)
      if ((!f.egm || it->second.egm == *f.egm) && (!f.from_seq || it->first >= *f.from_seq) &&
          (!f.before_seq || it->first < *f.before_seq))
        out.push_back(it->second);
    return out;
  }
  void query_async(store::QueryFilter f, ReadHandler<std::vector<store::Record>> done) override {
    later([this, f, done] { done(query(f)); });
  }
  store::Stats stats() override {
    std::lock_guard l(mu_);
    store::Stats st;
    st.epoch = 1;
    st.rows = rows_.size();
    st.first_seq = rows_.empty() ? 0 : rows_.begin()->first;
    st.last_seq = last_seq_;
    st.evicted_total = evicted_;
    for (auto& [name, c] : consumers_) {
      store::ConsumerStats cs;
      cs.name = name;
      cs.required = c.spec.required;
      cs.acked_upto = c.acked;
      cs.sent_upto = c.sent;
      for (auto r = rows_.upper_bound(c.acked); r != rows_.end(); ++r) {
        if (!store::selects(c.spec.route, r->second)) continue;
        if (!cs.unacked++) cs.oldest_unacked_ts_ms = r->second.ts_gw_ms;
      }
      cs.dead_letters = c.dead.size();
      st.consumers.push_back(cs);
    }
    return st;
  }
  store::Stats counters() override { return stats(); }
  std::error_code run_retention() override { return {}; }
  store::ChainCheck verify_chain(std::uint64_t, std::uint64_t) override { return {}; }
  void close() override {
    {
      std::lock_guard l(qmu_);
      if (closed_) return;
      closed_ = true;
      cv_.notify_one();
    }
    worker_.join();
  }

 private:
  struct Consumer {
    store::ConsumerSpec spec;
    std::uint64_t acked = 0, sent = 0;
    std::vector<store::DeadLetter> dead;
  };
  void later(std::function<void()> f) {
    std::lock_guard l(qmu_);
    q_.push_back(std::move(f));
    cv_.notify_one();
  }
  void run() {
    std::unique_lock l(qmu_);
    for (;;) {
      cv_.wait(l, [this] { return closed_ || !q_.empty(); });
      if (q_.empty() && closed_) return;
      auto f = std::move(q_.front());
      q_.pop_front();
      l.unlock();
      f();
      l.lock();
    }
  }
  std::mutex mu_;
  std::map<std::uint64_t, store::Record> rows_;
  std::map<std::string, Consumer> consumers_;
  std::map<std::string, std::uint64_t> egm_seq_;
  std::uint64_t last_seq_ = 0, evicted_ = 0;
  std::size_t ack_calls_ = 0, async_reads_ = 0;
  std::uint64_t recent_ = UINT64_MAX;
  bool hold_reads_ = false;
  std::vector<std::function<void()>> held_reads_;
  std::mutex qmu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> q_;
  bool closed_ = false;
  std::thread worker_;
};

}  // namespace floorgate::testing
