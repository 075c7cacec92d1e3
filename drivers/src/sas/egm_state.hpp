#pragma once
// Per-EGM and per-exchange state of the SAS engine (private to engine*.cpp).

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "floorgate/drivers/sas/engine.hpp"

namespace floorgate::drivers::sas {

// A long poll waiting to be sent to one EGM.
struct Work {
  std::vector<std::uint8_t> frame;
  int attempts = 0;  // exchanges that failed so far (each = 1 send + up to 2 resends)
};

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
  std::map<std::uint8_t, std::uint64_t> snap;
  int snap_outstanding = 0;
  std::string snap_trigger;
  bool reset_pending = false;
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
};

}  // namespace floorgate::drivers::sas
