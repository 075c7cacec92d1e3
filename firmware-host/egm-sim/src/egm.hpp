#pragma once
// One simulated SAS gaming machine: exception queue, meters, handpay queue, RTE mode and the
// long-poll answers. The Bus owns link behaviour (framing, retries, sync, chirps, faults) and
// calls in here. Sans-I/O; loop thread only.

#include <cstdint>
#include <deque>
#include <functional>
#include <set>
#include <map>
#include <optional>
#include <span>
#include <string>

#include "clock.hpp"
#include "exception_queue.hpp"
#include "ledger.hpp"
#include "meters.hpp"
#include "sas_codec.hpp"

namespace floorgate::sim {

// Static description of a machine (command line or scenario).
struct MachineConfig {
  std::uint8_t address = 1;                          // SAS address 1..127
  std::uint8_t denomination = 0x01;                  // accounting denomination, Table C-4 code
  std::string serial = "12345678";                   // LP 54 serial (ASCII, <= 40)
  std::string version = "602";                       // LP 54 SAS version (3 ASCII)
  std::string game_id = "FG";                        // LP 1F game ID (2 ASCII)
  std::string paytable = "FG0001";                   // LP 1F paytable ID (6 ASCII)
  std::string base_pct = "9250";                     // LP 1F base % (4 ASCII, xx.xx)
  std::size_t queue_capacity = 25;                   // exception FIFO depth
  OverflowPolicy overflow = OverflowPolicy::kDropOldest;  // what an overflow drops
  std::map<std::uint8_t, std::uint64_t> meters;      // initial meters by 2F code
  bool rte = false;  // starts in real-time event mode, as an earlier host may have left it
  // LP 21 signs this text (CRC-16/KERMIT over seed lo, seed hi, then the text: a simulator
  // convention; real machines sign their program memory) and answers rom_ms after the poll.
  std::string program = "floorgate-egm-sim program 1";
  std::int64_t rom_ms = 500;
  // Long polls this machine does not answer (e.g. 6F and AF on an older machine), so a host
  // must step down to LP 2F or the single-meter polls.
  std::set<std::uint8_t> lacks;
};


// Result of a floor action that raises exceptions.
struct RaiseResult {
  std::uint64_t seq = 0;          // ledger seq of the (first) raised exception, 0 if merged
  std::uint64_t merged_into = 0;  // pending priority flag that absorbed it
};

// Meter categories a `skim` can move without the matching event (reconciliation tests).
enum class SkimCategory {
  bills, tickets_in, tickets_out, aft_in, aft_out, handpaid, games, progressives, bonuses
};
// "bills" | "tickets_in" | ... ; nullopt for an unknown name.
std::optional<SkimCategory> parse_skim_category(std::string_view name);

// Why a money action was refused (a record of the same kind is still unread by the host, as a
// real machine allows one transfer at a time), or what it raised.
struct MoneyResult {
  std::optional<RaiseResult> raised;
  std::string error;  // set when refused
};

// One handpay awaiting report through LP 1B.
struct HandpayRecord {
  std::uint8_t level = 0x40;  // 40 = non-progressive top award
  std::uint64_t amount = 0;   // credits (non-progressive)
  std::uint64_t id = 0;       // simulator-local id for implied-ACK matching
};

// A simulated EGM.
class Egm {
 public:
  // `bus` is the bus index, used in the ledger.
  Egm(MachineConfig cfg, int bus, Ledger& ledger, const Clock& clock);

  // SAS address.
  std::uint8_t address() const { return cfg_.address; }
  // Cents per credit for the accounting denomination.
  std::uint64_t denom_cents() const;

  // Raises exception `code` (with optional RTE payload).
  RaiseResult raise(std::uint8_t code, Bytes rte_data = {});
  // A bill of `dollars` stacked; nullopt if the denomination is not a known bill.
  std::optional<RaiseResult> bill(std::uint32_t dollars);
  // A non-progressive handpay of `cents` (raises 51, queues a 1B record).
  RaiseResult handpay(std::uint64_t cents);
  // One game: `bet` and `win` in credits (raises 7E then 7F).
  RaiseResult game(std::uint64_t bet, std::uint64_t win);
  // Slot door opened (11) or closed (12).
  RaiseResult door(bool open);
  // Power came back: queues 18, 17 (and 7A with RAM clear, zeroing meters).
  RaiseResult power_cycle(bool ram_clear);

  // Money (sas-money.md; every action records its amount and identifier in the ledger):
  // Cash-out: a ticket for the current credits (3D; enhanced validation record for LP 4D).
  MoneyResult cashout();
  // A ticket inserted and redeemed by the validation system (67, 68; LP 70 / LP 71 status).
  MoneyResult ticket_in(std::uint64_t cents);
  // An AFT transfer (69; LP 72): in-house to the machine, debit to the machine, in-house to
  // the host.
  enum class AftKind : std::uint8_t { in = 0x00, debit = 0x40, out = 0x80 };
  MoneyResult aft(AftKind kind, std::uint64_t cents);
  // A progressive level hit: a SAS progressive (56; LP 85) or machine-paid (54; LP 84).
  MoneyResult progressive(std::uint8_t level, std::uint64_t cents, bool sas);
  // A legacy bonus award (7C; LP 90, or its RTE payload).
  MoneyResult bonus(std::uint64_t cents);
  // Moves a meter without raising the event that should go with it.
  void skim(SkimCategory category, std::uint64_t amount);
  // Stop (or start again) answering long poll `cmd`.
  void set_lacks(std::uint8_t cmd, bool lacks);

  // Answer to a general poll to this address (sets what the next implied ACK commits).
  Bytes general_poll();
  // Answer to a long poll (`frame` = addr..CRC, already CRC-checked); nullopt = no answer.
  std::optional<Bytes> long_poll(std::span<const std::uint8_t> frame);
  // A type G broadcast (address 0) reached this machine.
  void broadcast(std::span<const std::uint8_t> frame);
  // The host's next different poll arrived: commit what the last answer carried.
  void implied_ack();
  // Final implied NACK: forget what the last answer carried (it stays queued).
  void final_nack();

  // Meters (read-only).
  const Meters& meters() const { return meters_; }
  // Exception queue (read-only).
  const ExceptionQueue& queue() const { return queue_; }
  // Real-time event mode on.
  bool rte() const { return rte_; }
  // Switches RTE mode as LP 0E would, without a host asking (a previous host's setting).
  void set_rte(bool on) { rte_ = on; }
  // This machine's clock minus real time (a slow or fast EGM clock); LP 7F sets it.
  void set_clock_offset_ms(std::int64_t ms) { clock_offset_ms_ = ms; }
  std::int64_t clock_offset_ms() const { return clock_offset_ms_; }
  // Replaces the signed program (a software change): later LP 21 answers differ.
  void set_program(std::string text) { cfg_.program = std::move(text); }
  // False after LP 01 (shutdown) until LP 02: random traffic plays no games then.
  bool play_enabled() const { return play_enabled_; }
  // Handpays not yet reported through 1B.
  std::size_t handpay_queue_size() const { return handpays_.size(); }
  // `{"address":..,"denomination":..,"meters":{..}}` for the control socket.
  std::string meters_json() const;

 private:
  enum class Pending { kNone, kException, kHandpay, kRom, kCommit };
  Bytes event_frame(const QueuedEvent* ev);
  Bytes long_poll_answer(std::uint8_t cmd, std::span<const std::uint8_t> frame);
  Bytes meter_frame(std::uint8_t cmd, std::initializer_list<std::uint8_t> codes);
  Bytes lp_1b();
  Bytes lp_1c();
  Bytes lp_1e();
  Bytes lp_1f();
  Bytes lp_2f(std::span<const std::uint8_t> frame);
  Bytes lp_6f(std::span<const std::uint8_t> frame);
  Bytes lp_48();
  Bytes lp_54();
  Bytes lp_7e();
  Bytes lp_7f(std::span<const std::uint8_t> frame);
  Bytes lp_94();
  Bytes lp_3d();
  Bytes lp_4d(std::span<const std::uint8_t> frame);
  Bytes lp_70();
  Bytes lp_71(std::span<const std::uint8_t> frame);
  Bytes lp_72(std::span<const std::uint8_t> frame);
  Bytes lp_84_85(std::uint8_t cmd);
  Bytes lp_90();
  // The answer just sent commits `fn` when the host implied-ACKs it.
  void commit_on_ack(std::function<void()> fn);
  // Records amount and identifier of a raised money exception in the ledger.
  void ledger_money(const RaiseResult& r, std::uint64_t cents, const std::string& ident);
  Bytes lp_21(std::span<const std::uint8_t> frame);
  Bytes ack() const { return Bytes{cfg_.address}; }
  Bytes nack() const { return Bytes{static_cast<std::uint8_t>(cfg_.address | 0x80U)}; }

  MachineConfig cfg_;
  int bus_;
  Ledger& ledger_;
  std::int64_t clock_offset_ms_ = 0;
  const Clock& clock_;
  ExceptionQueue queue_;
  Meters meters_;
  std::deque<HandpayRecord> handpays_;
  std::uint64_t next_handpay_id_ = 1;
  std::uint32_t handpays_awaiting_reset_ = 0;
  bool rte_ = false;
  bool play_enabled_ = true;
  Pending pending_ = Pending::kNone;
  std::uint64_t pending_id_ = 0;
  std::uint32_t slot_door_opens_ = 0;
  std::uint32_t power_resets_ = 0;
  std::uint8_t last_bill_denom_ = 0;
  std::uint64_t last_bill_count_ = 0;
  std::uint64_t bill_dollars_ = 0;
  // Money records the host reads with the follow-up long polls.
  struct Validation {
    std::uint8_t type = 0;       // 00 cashable ticket
    std::string number;          // 16 digits
    std::uint64_t cents = 0;
    std::uint16_t ticket_no = 0;
    std::int64_t unix_ms = 0;
    std::uint8_t index = 1;      // buffer index 1..31
  };
  std::deque<Validation> validations_;    // unread, oldest first (LP 4D 00 reads the front)
  std::uint64_t next_validation_ = 1;
  struct TicketIn {
    std::string number;  // 18 digits
    std::uint64_t cents = 0;
  };
  std::optional<TicketIn> ticket_in_;     // redemption cycle open until LP 71 status is ACKed
  struct Aft {
    std::string txid;
    std::uint8_t type = 0;       // 00 in-house to EGM, 80 in-house to host
    std::uint64_t cents = 0;
    std::int64_t unix_ms = 0;
  };
  std::optional<Aft> aft_;                // completed, not yet interrogated (LP 72 FF ACKed)
  std::uint64_t next_aft_ = 1;
  struct Hit {
    std::uint8_t group = 1, level = 1;
    std::uint64_t cents = 0;
  };
  std::deque<Hit> sas_hits_;              // LP 85, oldest first
  std::optional<Hit> machine_win_;        // LP 84 (latest), unread until ACKed
  std::optional<Hit> last_machine_win_;   // LP 84 keeps answering the last win
  std::optional<std::uint64_t> bonus_credits_;  // LP 90 record, unread until ACKed
  std::function<void()> pending_commit_;
  Bytes rom_answer_;              // addr 21 signature CRC, sent on a GP from rom_ready_at_
  std::int64_t rom_ready_at_ = 0;  // steady ms
};

}  // namespace floorgate::sim
