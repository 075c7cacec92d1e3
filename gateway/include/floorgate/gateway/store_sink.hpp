#pragma once
// StoreSink: the EventSink the drivers submit to. It turns a driver Event into a store Record,
// appends it (group commit on the store's writer thread) and reports durability back on the
// event loop. Listeners (MQTT delivery, the web page's live feed) hear of each durable event.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <utility>
#include <vector>

#include "floorgate/drivers/event.hpp"
#include "floorgate/store/store.hpp"

namespace floorgate::gateway {

// Converts a driver event to a store record (seq, epoch, egm_seq, hash left for the store).
store::Record to_record(drivers::Event e);

class StoreSink final : public drivers::EventSink {
 public:
  using Listener = std::function<void(const store::Record&)>;

  // `ex`: the event loop; callbacks and listeners run there. `store` must outlive the sink.
  StoreSink(boost::asio::any_io_executor ex, store::EventLog& store);

  // EventSink: appends; on_durable runs on the loop after the commit (or failure). A commit's
  // events reach the loop together: one posted handler per burst, at most kDurablePerHandler
  // events per handler (the rest in the next one, so I/O gets its turn in between).
  void submit(drivers::Event event, drivers::DurableHandler on_durable) override;
  // EventSink: a gateway event (no EGM holds it). A failed append keeps it in a bounded queue
  // (kMaxUnsaved) and retries every kRetryEvery until it is durable; beyond the bound the
  // oldest is dropped, counted and logged.
  void submit_own(drivers::Event event) override;
  static constexpr std::size_t kMaxUnsaved = 4096;
  static constexpr std::chrono::seconds kRetryEvery{2};
  static constexpr std::size_t kDurablePerHandler = 64;

  // Called on the loop for every durable event, in commit order. Loop thread only.
  void add_listener(Listener l) { listeners_.push_back(std::move(l)); }

  // Counters (loop thread): events submitted, made durable, failed.
  std::uint64_t submitted() const { return submitted_; }
  std::uint64_t durable() const { return durable_; }
  std::uint64_t failed() const { return failed_; }
  // Gateway events waiting for a retry, and those dropped because the queue was full.
  std::size_t unsaved() const { return unsaved_.size(); }
  std::uint64_t own_dropped() const { return own_dropped_; }
  // Submissions whose commit has not been reported yet (for a clean shutdown).
  std::uint64_t pending() const { return submitted_ - durable_ - failed_; }
  // Runs `fn` on the loop once every event submitted so far has been reported durable or
  // failed (at once, posted, when none is pending). A restarted G2S bus reads its EGMs'
  // stored keys after this, so it sees what its predecessor was still committing.
  void after_pending(std::function<void()> fn);

 private:
  // An event whose commit (or failure) the writer thread reported, on its way to the loop.
  struct Outcome {
    std::error_code ec;
    store::Record rec;
    drivers::DurableHandler on_durable;
  };
  void report(Outcome& o);
  void drain();  // loop: runs the reported outcomes in commit order

  boost::asio::any_io_executor ex_;
  store::EventLog& store_;
  std::vector<Listener> listeners_;
  std::uint64_t submitted_ = 0;
  std::uint64_t durable_ = 0;
  std::uint64_t failed_ = 0;
  std::deque<std::pair<std::uint64_t, std::function<void()>>> after_;  // (submitted_ then, fn)
  void keep_for_retry(drivers::Event e, std::error_code ec);
  void retry_unsaved();
  std::deque<drivers::Event> unsaved_;
  std::uint64_t own_dropped_ = 0;
  boost::asio::steady_timer retry_timer_;
  bool retry_armed_ = false;
  // Writer -> loop hand-over. `reported_` and `drain_posted_` under `mu_`; `draining_` and
  // `drain_at_` are the loop's (swapped with `reported_`, so both keep their capacity).
  std::mutex mu_;
  std::vector<Outcome> reported_;
  bool drain_posted_ = false;
  std::vector<Outcome> draining_;
  std::size_t drain_at_ = 0;
};

}  // namespace floorgate::gateway
