// ROM signature verification (LP 21) of the SAS engine.
//
// The host sends `addr 21 seed CRC`; the EGM ACKs at once, computes a 16-bit signature over its
// program memory in the background and sends `addr 21 signature CRC` as its answer to a later
// general poll (or, if it is quick, straight away). Seed and signature travel low byte first;
// the byte order has no second source (../shared/reference/sas-money.md §10), so both are
// reported as sent. The last signature per (address, seed) is kept in BusConfig::rom_file so a
// program changed while the gateway was down is still reported as a mismatch.
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "floorgate/drivers/json_writer.hpp"
#include "floorgate/drivers/sas/engine.hpp"
#include "sas/egm_state.hpp"

namespace floorgate::drivers::sas {
namespace {

std::string hex16(std::uint16_t v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%04x", static_cast<unsigned>(v));
  return buf;
}

}  // namespace

std::string Engine::request_rom_check(const std::string& egm_id) {
  for (std::size_t i = 0; i < egms_.size(); ++i) {
    auto& e = *egms_[i];
    if (e.cfg.id != egm_id) continue;
    if (!e.st.link_up) return "the link to " + egm_id + " is down";
    if (!queue_rom_check(i, "request")) return "a ROM signature check of " + egm_id + " is already running";
    pump();
    if (io_.rearm) io_.rearm();
    return {};
  }
  return "no SAS machine " + egm_id + " on this bus";
}

bool Engine::queue_rom_check(std::size_t idx, const char* trigger) {
  auto& e = *egms_[idx];
  if (e.rom_sent_at > 0) return false;
  for (const auto& w : e.work) {
    if (w.frame.size() > 1 && w.frame[1] == 0x21) return false;
  }
  const std::uint8_t seed[2] = {static_cast<std::uint8_t>(e.cfg.rom_seed & 0xFF),
                                static_cast<std::uint8_t>(e.cfg.rom_seed >> 8)};
  e.work.push_back({build_lp(e.cfg.address, 0x21, std::span(seed)), 0});
  e.rom_trigger = trigger;
  return true;
}

void Engine::rom_received(std::size_t idx, std::span<const std::uint8_t> f) {
  auto& e = *egms_[idx];
  if (f.size() < 6) return;
  const auto sig = static_cast<std::uint16_t>(f[2] | (f[3] << 8));
  const bool solicited = e.rom_sent_at > 0;
  JsonWriter w;
  w.add("seed", hex16(e.cfg.rom_seed)).add("signature", hex16(sig));
  if (solicited) {
    w.add("duration_ms", io_.steady_ms() - e.rom_sent_at).add("trigger", e.rom_trigger);
  } else {
    // Asked by an earlier run (or another host): the seed it used is not known for certain.
    w.add("unsolicited", true);
  }
  e.rom_sent_at = 0;
  e.st.rom_check_running = false;
  e.st.rom_signature = sig;
  notify_status(idx);
  const auto key = std::make_pair(e.cfg.address, e.cfg.rom_seed);
  auto known = rom_known_.find(key);
  const char* type = "egm.rom_signature";
  if (solicited && known != rom_known_.end() && known->second != sig) {
    type = "egm.rom_signature_mismatch";  // the program changed since the last check
    w.add("expected", hex16(known->second));
  } else {
    w.add("first", solicited && known == rom_known_.end());
  }
  // Blocks the bus: the next poll ACKs this answer, so it must be stored first.
  emit(idx, make_event(idx, type, EventClass::security, "sas:lp21", std::move(w).finish(), f), true);
  if (solicited && (known == rom_known_.end() || known->second != sig)) {
    rom_known_[key] = sig;
    save_rom_file();
  }
}

void Engine::rom_failed(std::size_t idx, const char* reason) {
  auto& e = *egms_[idx];
  JsonWriter w;
  w.add("seed", hex16(e.cfg.rom_seed)).add("reason", reason).add("trigger", e.rom_trigger);
  e.rom_sent_at = 0;
  e.st.rom_check_running = false;
  notify_status(idx);
  emit(idx, make_event(idx, "egm.rom_signature_failed", EventClass::fault, "sas:lp21",
                       std::move(w).finish(), {}),
       false);
}

void Engine::load_rom_file() {
  if (cfg_.rom_file.empty()) return;
  std::ifstream in(cfg_.rom_file);
  unsigned addr = 0, seed = 0, sig = 0;
  std::string line;
  while (std::getline(in, line)) {
    if (std::sscanf(line.c_str(), "%u %x %x", &addr, &seed, &sig) != 3 || addr > 127 ||
        seed > 0xFFFF || sig > 0xFFFF) {
      continue;  // a damaged line only costs that machine its previous value
    }
    rom_known_[{static_cast<std::uint8_t>(addr), static_cast<std::uint16_t>(seed)}] =
        static_cast<std::uint16_t>(sig);
  }
}

// Written whole to a temporary file and renamed over the old one (no fsync: a power cut may
// lose the newest value, after which the next check is reported as a first one, not a false
// mismatch). Runs once per check, at most a few times a day.
void Engine::save_rom_file() const {
  if (cfg_.rom_file.empty()) return;
  const std::string tmp = cfg_.rom_file + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    for (const auto& [k, sig] : rom_known_) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%u %04x %04x\n", static_cast<unsigned>(k.first),
                    static_cast<unsigned>(k.second), static_cast<unsigned>(sig));
      out << buf;
    }
    if (!out) return;
  }
  std::error_code ec;
  std::filesystem::rename(tmp, cfg_.rom_file, ec);
}

}  // namespace floorgate::drivers::sas
