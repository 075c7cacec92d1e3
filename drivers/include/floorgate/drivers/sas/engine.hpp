#pragma once
// The sans-I/O SAS host engine for one bus: scheduler, retries, link state, identification,
// events and meters. It never touches a socket or a timer: the owner feeds received bytes and
// timer expiries in, and the engine calls back to write frames and submit events. Bus wraps it
// with Asio; unit tests drive it with a manual clock and a fake EGM. Single-threaded.

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "floorgate/drivers/event.hpp"
#include "floorgate/drivers/reconcile.hpp"
#include "floorgate/drivers/sas/codec.hpp"
#include "floorgate/drivers/sas/config.hpp"
#include "floorgate/drivers/json_writer.hpp"

namespace floorgate::drivers::sas {

struct Work;  // a queued long poll (engine internals)

class Engine {
 public:
  // Callbacks into the owner. All are invoked on the engine's thread.
  struct Io {
    std::function<void(std::span<const std::uint8_t>)> write;   // transmit one host frame
    std::function<void(Event, DurableHandler)> submit;           // EventSink::submit
    std::function<void(const EgmStatus&)> status_changed;        // link / identity change
    std::function<void()> rearm;                                 // next_deadline() changed
    std::function<std::int64_t()> steady_ms;                     // monotonic ms
    std::function<std::int64_t()> wall_ms;                       // UTC ms for ts_gw
  };

  Engine(BusConfig cfg, Io io);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Starts polling (sync poll first). Thread: engine thread.
  void start();
  // Stops polling; late durable callbacks are ignored.
  void stop();
  // Raw received bytes (PARMRK-encoded).
  void on_rx(std::span<const std::uint8_t> raw);
  // Call when steady_ms() >= next_deadline().
  void on_timer();
  // When on_timer() must next run (steady ms), or nullopt when only I/O or a durable
  // callback can move the engine forward.
  std::optional<std::int64_t> next_deadline() const;
  // The same, split by kind: `exchange` is the reply (or inter-byte) deadline of the poll on
  // the wire, `schedule` the next poll, meter read or resubmit. A shell may keep one timer per
  // kind: an exchange deadline that passes unneeded (the answer came) then costs nothing but
  // one early on_timer(), instead of cancelling and re-arming a timer on every answer.
  // A quiet machine's next poll is on the bus's wake grid (BusConfig::wake_grid).
  struct Deadlines {
    std::optional<std::int64_t> exchange, schedule;
  };
  Deadlines next_deadlines() const;
  // on_timer() may also be called early: it acts only on what is due.
  // Status snapshot of every EGM, in configuration order.
  std::vector<EgmStatus> status() const;
  void visit_status(const std::function<void(const EgmStatus&)>& f) const;
  // Queues a ROM signature check (LP 21) of the EGM with this configured id. Returns an empty
  // string, or why not (unknown id, link down, a check already running).
  std::string request_rom_check(const std::string& egm_id);
  // The link's default reply timeout (first byte) and inter-byte gap, in ms.
  static std::int64_t default_reply_timeout(BusConfig::Link link);
  static std::int64_t default_inter_byte(BusConfig::Link link);
  // A snapshot's first meter poll waits for a general poll that answers "no activity" (so the
  // snapshot can settle), for at most this long (ms) per snapshot.
  static constexpr std::int64_t kSnapshotQuietWaitMs = 1000;

  struct EgmState;  // private per-EGM state (engine.cpp)

 private:
  struct Pending;  // the exchange in flight
  struct Resubmit {
    std::int64_t at;
    std::size_t egm;
    Event event;
    bool blocks;
  };
  void pump();
  Expectation expectation() const;
  // A general poll nobody answers (`80`, or to an unused address), then kFillerGuardMs quiet.
  void send_filler(std::int64_t now, std::uint8_t filler);
  std::int64_t pending_deadline() const;  // reply / inter-byte deadline of the exchange
  // Makes pending_ the exchange of `frame` with machine `egm` (not yet sent).
  void start_exchange(std::size_t egm, bool gp, std::span<const std::uint8_t> frame);
  void send_pending(bool retry);
  void end_exchange(std::int64_t next_due);
  void exchange_failed(bool timeout, bool crc);
  void give_up_or_requeue(std::size_t egm, Work w, bool resume = false);
  void work_abandoned(std::size_t egm, const std::vector<std::uint8_t>& frame);
  void handle_frame(const ParseResult& r);
  void handle_exception_code(std::size_t egm, std::uint8_t code, std::span<const std::uint8_t> data,
                             std::span<const std::uint8_t> raw, bool rte, bool retry);
  void handle_lp_data(std::size_t egm, std::span<const std::uint8_t> frame);
  void handle_handpay(std::size_t egm, std::span<const std::uint8_t> frame);
  // Money (engine_money.cpp): follow-up reads of money exceptions and their events.
  bool start_followup(std::size_t egm, std::uint8_t code, std::span<const std::uint8_t> data,
                      std::span<const std::uint8_t> raw, bool rte, bool retry);
  void followup_received(std::size_t egm, std::span<const std::uint8_t> frame);
  // The follow-up poll `lp` got no usable answer (`why`): the event goes out without its facts.
  void followup_failed(std::size_t egm, std::uint8_t lp, const char* why);
  void release_followup_hold(std::size_t egm);
  // Attributes of one money record; false if the frame holds none (all zero / no info).
  void money_event(std::size_t egm, std::uint8_t code, std::span<const std::uint8_t> frame,
                   const char* source_note);
  // Meter stepdown and reconciliation.
  void meter_poll_failed(std::size_t egm, const std::vector<std::uint8_t>& frame);
  void general_poll_answered(std::size_t egm, bool quiet);
  void settle_reconciliation(std::size_t egm);
  void recon_add(std::size_t egm, ReconCategory c, std::optional<std::uint64_t> amount);
  void note_answer(std::size_t egm);
  void note_failure(std::size_t egm);
  void emit(std::size_t egm, Event ev, bool blocks_bus);
  // BusConfig::resume_file: the last poll, whose answer may await an implied ACK (command 0 =
  // general poll; a long poll's whole frame too: in RTE mode any long poll may be answered
  // with an event).
  void remember_polled(std::uint8_t address, std::uint8_t command,
                       std::span<const std::uint8_t> frame = {});
  void resume_from_file(std::int64_t now);  // start(): NACK-poll the EGM named there
  void submit(std::size_t egm, Event ev, bool blocks_bus);
  void queue_identification(std::size_t egm);
  // Queues `0E` with the configured RTE mode (first: ahead of other work) unless queued.
  void queue_rte_mode(std::size_t egm, bool first);
  void queue_meters(std::size_t egm, const char* trigger, bool reset);
  // True when the next poll of `e` should be a general poll in place of its snapshot's first
  // meter poll, to start the snapshot after a quiet general poll (engine_meters.cpp).
  bool snapshot_waits_for_quiet_poll(const EgmState& e, std::int64_t now) const;
  void meters_received(std::size_t egm, std::span<const std::uint8_t> frame);
  // LP 7E answer: drift into the status, an alarm beyond kClockAlarmMs, LP 7F beyond kClockSetMs.
  void clock_received(std::size_t egm, std::span<const std::uint8_t> frame);
  static constexpr std::int64_t kClockSetMs = 2000, kClockAlarmMs = 60000;
  // ROM signature: queue LP 21 (false when one is queued or running); its answer; no answer.
  bool queue_rom_check(std::size_t egm, const char* trigger);
  void rom_received(std::size_t egm, std::span<const std::uint8_t> frame);
  void rom_failed(std::size_t egm, const char* reason);
  void load_rom_file();
  void save_rom_file() const;
  void finish_snapshot(std::size_t egm);
  Event make_event(std::size_t egm, std::string type, EventClass cls, std::string source,
                   std::string attrs, std::span<const std::uint8_t> raw);
  void notify_status(std::size_t egm);

  BusConfig cfg_;
  Io io_;
  std::vector<std::unique_ptr<EgmState>> egms_;
  std::unique_ptr<Pending> pending_;
  std::unique_ptr<Pending> spare_pending_;  // the last exchange, reused by the next
  std::vector<std::uint8_t> answer_;        // the answer being handled (handle_frame)
  std::vector<std::uint8_t> last_frame_;    // last frame put on the bus (implied-ACK rule)
  std::vector<std::uint8_t> rx_;            // data bytes of the reply being received
  bool rx_corrupt_ = false;                 // a byte of it arrived with a framing/parity error
  RxDecoder decoder_;
  std::vector<Resubmit> resubmits_;         // events the sink failed, retried later
  std::int64_t bus_ready_at_ = 0;
  std::int64_t last_end_ = 0;               // end of the last exchange (steady ms)           // no transmission before this (steady ms)
  int blocked_ = 0;                         // events awaiting on_durable: bus holds its polls
  std::size_t rr_ = 0;                      // round-robin cursor
  bool running_ = false;
  // "aaa cc\n", or "aaa cc FRAME\n" with a long poll's frame in hex (up to kResumeFrameMax
  // bytes; a longer one is marked without it).
  static constexpr std::size_t kResumeFrameMax = 64;
  static constexpr std::size_t kResumeMarkSize = 6 + 1 + 2 * kResumeFrameMax + 1;
  char* resume_map_ = nullptr;  // BusConfig::resume_file, mapped shared (remember_polled)
  std::optional<std::size_t> resume_idx_;  // EGM of the resume poll until it is answered
  // After a 0x51 the bus serves only that EGM until its LP 1B is answered: a poll to another
  // address would implied-ACK the 0x51 with nothing stored, and the handpay would surface
  // later from the start-up check, after events that followed it.
  // The same holds for every money exception read through a follow-up long poll
  // (engine_money.cpp): the bus serves that EGM until the follow-up is answered.
  std::optional<std::size_t> followup_hold_;
  std::map<std::pair<std::uint8_t, std::uint16_t>, std::uint16_t> rom_known_;  // (addr, seed)
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace floorgate::drivers::sas
