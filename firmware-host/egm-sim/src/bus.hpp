#pragma once
// One SAS bus (one pty or TCP stream) with one or more machines on it: escaped-link decoding,
// frame assembly from the per-LP table, CRC checks, the implied ACK/NACK engine, optional sync
// requirement, chirps, power-off periods and per-machine fault injection on the answers.
// Sans-I/O: bytes in through on_bytes(), answers out through the Writer. Loop thread only.

#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "clock.hpp"
#include "egm.hpp"
#include "lp_table.hpp"
#include "sas_codec.hpp"

namespace floorgate::sim {

// How a bus is served and what is on it.
struct BusConfig {
  std::string kind = "pty";            // link kind: "pty", "tcp" (see main's link table)
  std::string target;                  // pty symlink path or HOST:PORT
  bool sync_required = false;          // ignore polls until a poll to another address/broadcast
  bool chirp = true;                   // chirp after 5 s without a valid poll
  std::vector<MachineConfig> machines; // machines on this bus
};

// Fault injection on one machine's answers (`fault ADDR KIND VALUE`).
struct Faults {
  double crc_rate = 0;   // probability an answer's CRC is corrupted
  double drop_rate = 0;  // probability each answer byte is dropped
  double dup_rate = 0;   // probability each answer byte is sent twice
  int delay_ms = 0;      // extra delay before an answer (beyond the host timeout if large)
  int gap_ms = 0;        // gap between answer bytes
  bool silent = false;   // cable pulled: sees nothing, answers nothing, never chirps
  bool busy = false;     // answers long polls with BUSY (addr 00)
};

// Bytes to write after waiting `delay_ms`.
struct Chunk {
  Bytes bytes;       // escaped bytes
  int delay_ms = 0;  // wait before writing this chunk
};

// Counters for tests and the status command.
struct BusStats {
  std::uint64_t polls = 0;        // valid polls seen (any address)
  std::uint64_t bad_crc = 0;      // long polls dropped for a bad CRC
  std::uint64_t unknown = 0;      // frames with an unknown command
  std::uint64_t stray_bytes = 0;  // bytes outside any frame
  std::uint64_t answers = 0;      // answers sent
  std::uint64_t chirps = 0;       // chirps sent
};

// One bus.
class Bus {
 public:
  // Receives the escaped bytes to transmit (in order).
  using Writer = std::function<void(std::vector<Chunk>)>;

  Bus(int index, BusConfig cfg, Ledger& ledger, const Clock& clock, std::mt19937_64& rng);
  // Sets where answers go (the link).
  void set_writer(Writer w) { writer_ = std::move(w); }
  // Bytes received from the host (escaped form, any split).
  void on_bytes(std::span<const std::uint8_t> bytes);
  // Timers: chirps and power-on after an off period. Call every few tens of ms.
  void tick();
  // The machine at `address`, or nullptr.
  Egm* find(std::uint8_t address);
  // Mutable faults of the machine at `address`, or nullptr.
  Faults* faults(std::uint8_t address);
  // Power-cycles a machine; with off_ms > 0 it stays dark that long first.
  bool power_cycle(std::uint8_t address, bool ram_clear, int off_ms);
  // All machines on the bus, in configuration order.
  std::vector<Egm*> machines();
  // Configuration.
  const BusConfig& config() const { return cfg_; }
  // Bus index.
  int index() const { return index_; }
  // Counters.
  const BusStats& stats() const { return stats_; }

 private:
  struct Station {
    std::unique_ptr<Egm> egm;
    Faults faults;
    bool synced = true;
    bool link_down = false;  // 5 s without a valid poll
    std::int64_t last_poll_ms = 0;
    std::int64_t last_chirp_ms = 0;
    Bytes last_answer;
    bool has_last_answer = false;
    bool off = false;
    std::int64_t on_at_ms = 0;
    bool ram_clear_on_power_up = false;
  };
  struct PollKey {
    std::uint8_t address = 0;
    bool gp = false;
    std::uint8_t cmd = 0;
    bool operator==(const PollKey&) const = default;
  };

  void on_wire(WireByte w);
  void frame_complete();
  void handle_poll(PollKey key, std::span<const std::uint8_t> frame);
  void answer(Station& st, PollKey key, std::span<const std::uint8_t> frame);
  // One station's side of a poll to its address: implied ACK/NACK, then its answer (if any).
  void serve(Station& st, PollKey key, std::span<const std::uint8_t> frame);
  void transmit(Station& st, const Bytes& answer);
  Station* station(std::uint8_t address);
  bool chance(double p);

  int index_;
  BusConfig cfg_;
  const Clock& clock_;
  std::mt19937_64& rng_;
  std::vector<Station> stations_;
  // While set, transmit() collects answers here instead of writing them (two machines on one
  // address: their answers collide on the wire).
  std::vector<Bytes>* capture_ = nullptr;
  Writer writer_;
  EscapedDecoder decoder_;
  std::vector<WireByte> wire_;
  Bytes frame_;
  bool in_frame_ = false;
  std::size_t expect_ = 0;
  bool variable_ = false;
  bool has_crc_ = false;
  PollKey last_key_;
  bool have_last_key_ = false;
  int repeat_ = 0;
  BusStats stats_;
};

}  // namespace floorgate::sim
