#pragma once
// A Bus driven by hand: polls go in as escaped bytes, answers are collected and decoded.
#include <memory>
#include <random>

#include "bus.hpp"
#include "clock.hpp"
#include "ledger.hpp"
#include "sas_codec.hpp"

namespace floorgate::sim::testing {

class BusFixture {
 public:
  explicit BusFixture(std::vector<std::uint8_t> addresses = {1}, bool sync_required = false) {
    BusConfig cfg;
    cfg.target = "test";
    cfg.sync_required = sync_required;
    for (std::uint8_t a : addresses) {
      MachineConfig m;
      m.address = a;
      cfg.machines.push_back(m);
    }
    make(cfg);
  }
  void make(const BusConfig& cfg) {
    bus = std::make_unique<Bus>(0, cfg, ledger, clock, rng);
    bus->set_writer([this](std::vector<Chunk> chunks) {
      for (const Chunk& c : chunks) {
        delays.push_back(c.delay_ms);
        decoder.feed(c.bytes, wire);
      }
    });
  }
  // Sends a general poll and returns the data bytes answered (wakeup bytes go to `chirps`).
  Bytes gp(std::uint8_t addr) {
    Bytes b;
    escape_append(b, static_cast<std::uint8_t>(0x80 | addr), true);
    return send(b);
  }
  // Sends a long poll (`frame` without wakeup marks; CRC added when `crc`).
  Bytes lp(Bytes frame, bool crc = false) {
    if (crc) append_crc(frame);
    Bytes b;
    for (std::size_t i = 0; i < frame.size(); ++i) escape_append(b, frame[i], i == 0);
    return send(b);
  }
  // Feeds raw escaped bytes and returns the data bytes answered.
  Bytes send(const Bytes& escaped) {
    wire.clear();
    bus->on_bytes(escaped);
    return take();
  }
  Bytes take() {
    Bytes out;
    for (WireByte w : wire) {
      if (w.wakeup) {
        chirps.push_back(w.value);
      } else {
        out.push_back(w.value);
      }
    }
    wire.clear();
    return out;
  }
  Egm& egm(std::uint8_t addr = 1) { return *bus->find(addr); }

  ManualClock clock;
  Ledger ledger;
  std::mt19937_64 rng{1};
  std::unique_ptr<Bus> bus;
  EscapedDecoder decoder;
  std::vector<WireByte> wire;
  Bytes chirps;
  std::vector<int> delays;
};

}  // namespace floorgate::sim::testing
