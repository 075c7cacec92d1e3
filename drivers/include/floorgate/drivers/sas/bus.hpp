#pragma once
// The SAS host driver for one bus: owns the byte stream, runs the implied-ACK-aware poll
// scheduler and hands normalized events to an EventSink. Everything (constructor, methods,
// callbacks) runs on the given executor's single thread.

#include <boost/asio/any_io_executor.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "floorgate/drivers/event.hpp"
#include "floorgate/drivers/sas/byte_stream.hpp"
#include "floorgate/drivers/sas/config.hpp"

namespace floorgate::drivers::sas {

class Engine;

class Bus {
 public:
  // Wall clock for event timestamps (UTC ms); defaults to the system clock.
  using WallClock = std::function<std::int64_t()>;

  // Opens the link named by cfg.link / cfg.port when start() is called.
  Bus(boost::asio::any_io_executor ex, BusConfig cfg, EventSink& sink, WallClock wall = {});
  // Uses the given stream instead (tests, custom transports).
  Bus(boost::asio::any_io_executor ex, BusConfig cfg, EventSink& sink,
      std::unique_ptr<ByteStream> stream, WallClock wall = {});
  ~Bus();
  Bus(const Bus&) = delete;
  Bus& operator=(const Bus&) = delete;

  // Opens the stream (retrying every second while it fails) and starts polling.
  void start();
  // Stops polling and closes the stream; never blocks. Pending durable callbacks are ignored.
  void stop();
  // Current status of every EGM on this bus, in configuration order.
  std::vector<EgmStatus> status() const;
  // The same without copying (each status holds the meter maps): f sees each EGM's status in
  // configuration order, on the executor's thread.
  void visit_status(const std::function<void(const EgmStatus&)>& f) const;
  // Starts a ROM signature check (LP 21) of the EGM with this configured id; the result is
  // an event. Returns an empty string, or why not.
  std::string request_rom_check(const std::string& egm_id);
  // Called on link up/down and identity changes (version, serial, denomination, RTE).
  void on_status_change(std::function<void(const EgmStatus&)> cb);

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace floorgate::drivers::sas
