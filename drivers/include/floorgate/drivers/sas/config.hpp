#pragma once
// Configuration and status types of the SAS host driver (one Bus = one serial line or one TCP
// stream to a serial device server, with one or more EGMs on it).

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace floorgate::drivers::sas {

// How one machine is talked to on the wire. A zero duration takes the bus's value (and that
// the link's default). Named presets: timing_preset(); where each number comes from:
// drivers/src/sas/README.md.
struct Timing {
  std::chrono::milliseconds reply_timeout{0};  // first reply byte after our last byte
  std::chrono::milliseconds inter_byte{0};     // largest gap inside one reply
  std::chrono::milliseconds poll_gap{0};       // quiet line before each poll to this EGM
  // Between two identical polls (which would be an implied NACK) and for a resync: a general
  // poll to address 0 (`80`), or one to an address no machine on this bus uses.
  enum class Filler : std::uint8_t { sync, unused_address };
  Filler filler = Filler::sync;
  bool operator==(const Timing&) const = default;
};

// The named timing presets ("default", "slow", "usb-serial", "device-server", "interblock");
// nullopt for an unknown name.
std::optional<Timing> timing_preset(std::string_view name);
// Their names, in documentation order.
std::vector<std::string_view> timing_preset_names();

// One EGM on a bus. Plain data; validated by validate() below.
struct EgmConfig {
  std::string id;                                      // configured EGM id, e.g. "bank3-07"
  std::uint8_t address = 1;                            // SAS address 1..127
  std::chrono::milliseconds poll_period{200};          // min period between polls, 40..200 ms
  std::chrono::seconds meter_period{300};              // periodic meter snapshot (0 = off)
  std::vector<std::uint8_t> meter_codes;               // LP 2F meter codes; empty = defaults
  bool real_time_events = false;                       // enable RTE (LP 0E) after identification
  // EGM clock: read with LP 7E at link-up and every clock_period; when set_clock and it is
  // more than 2 s off the gateway's local time, set it with LP 7F (and read it back).
  bool set_clock = true;
  std::chrono::seconds clock_period{3600};
  // ROM signature (LP 21 with rom_seed): checked at link-up and then every rom_check_period
  // when that is > 0, and on request (Bus::request_rom_check). The EGM ACKs at once and sends
  // `addr 21 signature CRC` later, as its answer to a general poll; no answer within
  // rom_timeout is reported as a failed check.
  std::chrono::seconds rom_check_period{0};
  std::uint16_t rom_seed = 0;
  std::chrono::seconds rom_timeout{600};
  // Reconciliation (docs/reconciliation.md): a meter delta and the sum of the money events in
  // the same window may differ by this much (cents) before reconciliation.mismatch is raised.
  std::uint64_t reconcile_tolerance_cents = 0;
  Timing timing;                                       // zero fields: the bus's values
};

// One physical (or TCP) line.
struct BusConfig {
  enum class Link { uart, pty, tcp };
  Link link = Link::pty;
  std::string port;                                    // device path, or host:port for tcp
  std::vector<EgmConfig> egms;
  int link_down_after = 30;                            // consecutive failed polls -> link.down
  std::chrono::milliseconds reply_timeout{0};          // first byte; 0 = per-link default
  std::chrono::milliseconds inter_byte_timeout{0};     // gap inside a frame; 0 = per-link default
  // UART only: extra wait between the wakeup byte leaving the kernel (tcdrain) and the switch
  // to space parity. A USB-serial adapter reports the byte sent while it still sits in the
  // adapter's FIFO; switching parity then can strip the wakeup bit. 0 = none.
  std::chrono::microseconds wakeup_delay{0};
  // UART only: ask the driver for low latency (ASYNC_LOW_LATENCY; ftdi_sio then uses a 1 ms
  // latency timer instead of 16 ms, so replies are not split into late chunks).
  bool low_latency = false;
  std::chrono::milliseconds submit_retry{500};         // re-submit after the sink reported an error
  // Crash safety across restarts: the bus keeps the address of its last general poll here; a
  // restarted driver's first poll is the same general poll, which the EGM takes as an implied
  // NACK and re-sends its answer (an event a killed gateway may never have stored), instead of
  // taking a sync poll as the implied ACK. Empty = off (start with a sync poll).
  std::string resume_file;
  // Last known ROM signature per (address, seed), one "ADDR SEED SIGNATURE" line each (hex),
  // so a signature that changed while the gateway was down is still reported as a mismatch.
  // Empty = kept in memory only.
  std::string rom_file;
  // The next poll of a quiet machine (its last general poll answered "no activity", no long
  // poll waiting) waits for the next multiple of this many ms on the steady clock, which every
  // bus of the gateway shares: the buses wake together, and the polls that fall due in between
  // go out back to back, each as soon as the answer before it is in, without a wake-up of
  // their own. A poll is never earlier than its period allows and at most wake_grid - 1 ms
  // later. A machine reporting events, reply and inter-byte timeouts and resubmits keep their
  // own times. 0 or 1 = no grid.
  std::chrono::milliseconds wake_grid{5};
};

// Snapshot of one EGM for status pages and the MQTT status topic. Counters are cumulative.
struct EgmStatus {
  std::string id;
  std::uint8_t address = 0;
  bool link_up = false;
  std::string sas_version;                             // from LP 54, e.g. "602"
  std::string serial;                                  // from LP 54
  std::optional<std::uint32_t> denomination_cents;     // accounting denomination from LP 1F
  bool real_time_events = false;                       // RTE currently enabled on the EGM
  bool real_time_events_confirmed = false;             // the EGM ACKed our 0E since link-up
  std::uint64_t polls = 0, answers = 0, crc_errors = 0, timeouts = 0, retries = 0,
                nack_resends = 0, link_transitions = 0, events = 0, chirps = 0, busy = 0,
                rte_resyncs = 0,  // RTE-format answers while RTE was believed off
                line_errors = 0;  // parity/framing errors and BREAKs that were not chirps
  std::optional<std::int64_t> last_poll_ms;            // wall clock, UTC ms
  std::optional<std::int64_t> last_event_ms;           // wall clock, UTC ms
  std::optional<std::int64_t> clock_drift_ms;          // EGM clock (LP 7E) - gateway, last read
  std::map<std::string, std::uint64_t> meters;         // last snapshot: meter name -> raw value
  std::map<std::string, std::string> meter_units;      // meter name -> credits|cents|count|...
  std::optional<std::uint16_t> rom_signature;          // last LP 21 result (rom_seed)
  bool rom_check_running = false;                      // LP 21 ACKed, signature not yet in
  // Meters: the long poll the last snapshot was read with ("6f", "2f", "single"; empty before
  // the first), and whether no meter poll this machine answers is left (meters.unreadable).
  std::string meter_poll;
  bool meters_unreadable = false;
  std::uint64_t reconciliations = 0;           // windows compared (meters.reconciled)
  std::uint64_t reconciliation_mismatches = 0;  // reconciliation.mismatch events
  std::string last_mismatch;                    // e.g. "bills_in: meters 2000, events 0 (cents)"
};

// Checks a bus configuration; returns an empty string or a plain-sentence error.
std::string validate(const BusConfig& cfg);

// Parses "uart" | "pty" | "tcp"; nullopt otherwise.
std::optional<BusConfig::Link> parse_link(const std::string& s);

}  // namespace floorgate::drivers::sas
