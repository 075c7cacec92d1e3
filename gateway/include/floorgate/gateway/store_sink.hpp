#pragma once
// StoreSink: the EventSink the drivers submit to. It turns a driver Event into a store Record,
// appends it (group commit on the store's writer thread) and reports durability back on the
// event loop. Listeners (MQTT delivery, the web page's live feed) hear of each durable event.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <deque>
#include <functional>
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

  // EventSink: appends; on_durable is posted to the loop after the commit (or failure).
  void submit(drivers::Event event, drivers::DurableHandler on_durable) override;
  // EventSink: a gateway event (no EGM holds it). A failed append keeps it in a bounded queue
  // (kMaxUnsaved) and retries every kRetryEvery until it is durable; beyond the bound the
  // oldest is dropped, counted and logged.
  void submit_own(drivers::Event event) override;
  static constexpr std::size_t kMaxUnsaved = 4096;
  static constexpr std::chrono::seconds kRetryEvery{2};

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

 private:
  boost::asio::any_io_executor ex_;
  store::EventLog& store_;
  std::vector<Listener> listeners_;
  std::uint64_t submitted_ = 0;
  std::uint64_t durable_ = 0;
  std::uint64_t failed_ = 0;
  void keep_for_retry(drivers::Event e, std::error_code ec);
  void retry_unsaved();
  std::deque<drivers::Event> unsaved_;
  std::uint64_t own_dropped_ = 0;
  boost::asio::steady_timer retry_timer_;
  bool retry_armed_ = false;
};

}  // namespace floorgate::gateway
