#pragma once
// StoreSink: the EventSink the drivers submit to. It turns a driver Event into a store Record,
// appends it (group commit on the store's writer thread) and reports durability back on the
// event loop. Listeners (MQTT delivery, the web page's live feed) hear of each durable event.

#include <boost/asio/any_io_executor.hpp>
#include <cstdint>
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
  StoreSink(boost::asio::any_io_executor ex, store::Store& store);

  // EventSink: appends; on_durable is posted to the loop after the commit (or failure).
  void submit(drivers::Event event, drivers::DurableHandler on_durable) override;

  // Called on the loop for every durable event, in commit order. Loop thread only.
  void add_listener(Listener l) { listeners_.push_back(std::move(l)); }

  // Counters (loop thread): events submitted, made durable, failed.
  std::uint64_t submitted() const { return submitted_; }
  std::uint64_t durable() const { return durable_; }
  std::uint64_t failed() const { return failed_; }
  // Submissions whose commit has not been reported yet (for a clean shutdown).
  std::uint64_t pending() const { return submitted_ - durable_ - failed_; }

 private:
  boost::asio::any_io_executor ex_;
  store::Store& store_;
  std::vector<Listener> listeners_;
  std::uint64_t submitted_ = 0;
  std::uint64_t durable_ = 0;
  std::uint64_t failed_ = 0;
};

}  // namespace floorgate::gateway
