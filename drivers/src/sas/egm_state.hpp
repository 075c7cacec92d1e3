#pragma once
// Per-EGM and per-exchange state of the SAS engine (private to engine*.cpp).

#include <cstdint>
#include <array>
#include <deque>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "floorgate/drivers/reconcile.hpp"
#include "floorgate/drivers/sas/engine.hpp"

namespace floorgate::drivers::sas {

// A long poll waiting to be sent to one EGM.
struct Work {
  std::vector<std::uint8_t> frame;
  int attempts = 0;  // exchanges that failed so far (each = 1 send + up to 2 resends)
  // The long poll a restart re-sends only as the implied NACK of an RTE event that may have
  // answered it (Engine::resume_from_file): its data answer is dropped (it would land in a
  // meter snapshot or identification it does not belong to), and it is not sent again after
  // the event.
  bool resume_only = false;
};

// An exception whose facts come from a follow-up long poll (sas-money.md): the event is
// emitted when that poll is answered (or abandoned), while the bus serves only this EGM.
struct Followup {
  std::uint8_t code = 0;           // the exception code
  std::uint8_t lp = 0;             // the long poll that reads its record
  bool rte = false;
  bool retry = false;
  std::vector<std::uint8_t> raw;   // the exception's frame
};

// One meter value of a snapshot and where it came from.
struct MeterValue {
  std::uint64_t value = 0;
  std::size_t size = 4;            // BCD bytes (rollover at 10^(2*size))
  const char* poll = "2f";         // "6f" | "2f" | "single"
};

// Meter long polls, in stepdown order (sas.md §11.3): extended (6F), selected (2F), then the
// single-meter polls (10-17, 1A, 46).
enum class MeterStep : std::uint8_t { lp6f, lp2f, single, none };

// MMDDYYYY HHMMSS (7 BCD bytes, the EGM's local time) as Unix ms; nullopt when invalid.
std::optional<std::int64_t> sas_time_ms(std::span<const std::uint8_t> d);

// Long polls that read a money exception's record (engine_money.cpp).
bool is_followup_lp(std::uint8_t cmd);
// That poll rebuilt from its command (a restarted gateway re-sends it from the resume file).
std::vector<std::uint8_t> followup_frame_for_lp(std::uint8_t address, std::uint8_t lp);
// Meter long polls of every stepdown step.
bool is_meter_lp(std::uint8_t cmd);

struct Engine::EgmState {
  EgmConfig cfg;
  // Effective wire timing (EgmConfig::timing, else the bus's, else the link's default), ms.
  std::int64_t reply_timeout = 0, inter_byte = 0, poll_gap = 0;
  std::uint8_t filler = 0x80;    // the GP byte sent as filler / sync for this EGM
  EgmStatus st;
  std::vector<std::uint8_t> meter_codes;
  std::deque<Work> work;
  std::int64_t next_due = 0;     // steady ms: earliest next poll to this EGM
  std::int64_t next_meter = 0;   // steady ms: next periodic snapshot
  std::int64_t next_ident = 0;   // steady ms: retry identification while it is incomplete
  std::int64_t next_clock = 0;   // steady ms: next LP 7E clock read
  bool clock_set_sent = false;   // LP 7F sent since the last read: read back, do not set again
  bool clock_alarmed = false;    // egm.clock_drift emitted; cleared when back within 30 s
  std::int64_t next_rom = 0;     // steady ms: next scheduled ROM signature check (0 = none)
  std::int64_t rom_sent_at = 0;  // steady ms: LP 21 sent, signature awaited (0 = none)
  std::string rom_trigger;       // link_up | periodic | request, of the check in flight
  int fails = 0;                 // consecutive failed exchanges
  bool need_sync = true;
  bool lp_last = false;          // last poll was a long poll: next one is a GP (events flow)
  bool rte = false;
  // Meter snapshot in progress.
  std::map<std::uint8_t, std::uint64_t> last_meters;
  std::map<std::uint8_t, MeterValue> snap;
  int snap_outstanding = 0;
  std::string snap_trigger;
  bool reset_pending = false;
  MeterStep meter_step = MeterStep::lp6f;  // first step this machine has not failed
  bool unreadable_reported = false;        // meters.unreadable emitted for this excursion
  // Reconciliation: a snapshot is settled when the general polls right before its first
  // meter poll and right after its last one reported nothing (no event moved a meter unseen).
  Reconciler recon;
  bool last_gp_quiet = false;              // the last general poll answered "no activity"
  // A 0x70 (exception queue overflow) was reported: resync the meters once the queue is
  // drained (the next general poll that answers "no activity"), not while events wait.
  bool overflow_resync = false;
  bool snap_started = false;               // a meter poll of the current snapshot went out
  std::optional<std::int64_t> snap_wait_since;  // steady ms: first general poll sent in place
                                                // of its first meter poll
  bool snap_quiet = false;                 // no event since just before it started
  bool recon_wait_gp = false;              // finished and quiet: settle on a quiet next GP
  std::string recon_trigger;               // the trigger of that snapshot (periodic, door_closed…)
  std::array<std::optional<MeterReading>, kReconCategories> recon_readings{};
  // LP 84 holds only the machine's last progressive win (no queue): the last answer read in the
  // current window, so that two 54s read after the second win are not that win twice.
  std::optional<std::array<std::uint8_t, 7>> recon_last_win;
  // A SAS level claimed with LP 85 is paid when the machine decides: `progressives` stays
  // unjudged for the claim's window and this many more.
  int recon_claim_windows = 0;
  // Exceptions waiting for their follow-up long poll (oldest first).
  std::deque<Followup> followups;
  // Handpay: 1B reads still allowed for the current 0x51, and whether one was reported.
  int handpay_reads = 0;
  bool handpay_reported = false;
  bool handpay_startup_check = false;
};

// The exchange in flight on the bus.
struct Engine::Pending {
  std::size_t egm = 0;
  std::vector<std::uint8_t> frame;
  bool gp = true;
  std::optional<Work> work;      // the long poll, when not a GP
  int sends = 1;                 // 1 + byte-identical resends
  std::int64_t sent_at = 0;
  std::int64_t last_rx = -1;
  bool timed_out = false;        // an attempt timed out: a copy of its answer may still come
};

}  // namespace floorgate::drivers::sas
