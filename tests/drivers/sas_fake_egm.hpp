#pragma once
// An in-test SAS EGM model (Monaco-like implied ACK) and a harness that drives the sans-I/O
// Engine with a manual clock. Test-only.

#include <algorithm>
#include <ctime>
#include <deque>
#include <functional>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "floorgate/drivers/sas/codec.hpp"
#include "floorgate/drivers/sas/engine.hpp"

namespace floorgate::drivers::sas::testing {

using Bytes = std::vector<std::uint8_t>;

struct FakeEgm {
  std::uint8_t addr = 1;
  std::deque<std::uint8_t> queue;             // pending exceptions (FIFO)
  std::deque<Bytes> handpays;                 // LP 1B bodies (20 bytes after addr 1B)
  std::map<std::uint8_t, std::uint64_t> meters{{0x00, 1000}, {0x01, 500}, {0x0C, 42}};
  bool synced = false, require_sync = true, silent = false, rte = false;
  // RTE: queued events go out only as answers to long polls (general polls answer "nothing"):
  // an event that happens while a meter read is on the wire.
  bool rte_events_on_lp_only = false;
  int corrupt_next = 0;                       // corrupt the CRC of the next N data replies
  std::int64_t reply_delay_ms = 2;            // first reply byte this long after the poll
  std::int64_t split_gap_ms = 0;              // > 0: the second half of a reply comes this late
  std::deque<std::int64_t> late;             // delays of the next replies (then reply_delay_ms)
  std::int64_t wall_ms = 0;                   // the host's wall clock (the Harness keeps it)
  std::int64_t clock_offset_ms = 0;           // this EGM's clock minus the host's
  int clock_sets = 0;                         // LP 7F received
  std::string program = "fake-egm 1.0";       // what LP 21 signs
  bool rom_supported = true;                  // false: LP 21 gets no answer
  std::int64_t rom_delay_ms = 300;            // signature computed this long after LP 21
  std::int64_t rom_ready_at = -1;             // wall ms when the signature is ready (-1 none)
  Bytes rom_answer;                           // addr 21 signature CRC, sent on a GP when ready
  int rom_requests = 0;
  std::vector<std::uint8_t> acked;            // exception codes dequeued by an implied ACK
  std::vector<Bytes> handpays_acked;
  std::vector<std::uint8_t> lacks;            // long polls this machine does not answer
  std::map<std::uint8_t, int> busy_lp;        // long polls answered BUSY (addr 00) this many times
  Bytes last_bill;                            // LP 48 body: country, denomination code, count
  std::deque<Bytes> tickets;                  // LP 4D records (31 bytes after addr 4D)
  // Ticket redemptions: LP 71 status records (from the length byte on), answered to a status
  // query; AFT transfers: LP 72 interrogation records (likewise). Both dequeued on the
  // implied ACK of their answer.
  std::deque<Bytes> redemptions, aft_records;
  // Progressive wins: LP 84 bodies (group, level, 5-byte BCD amount in cents), dequeued on the
  // implied ACK of their answer.
  std::deque<Bytes> progressive_wins;
  // Legacy bonuses: LP 90 bodies (multiplier, multiplied win, tax status, bonus), the same 10
  // bytes an RTE 7C carries; dequeued on the implied ACK of the answer (or of the RTE event).
  std::deque<Bytes> bonuses;

  // Implied-ACK state.
  Bytes last_poll, last_resp;
  int repeats = 0;
  enum class Pend { none, exception, handpay, rom, ticket, redemption, aft, progressive, bonus };
  Pend pend = Pend::none;

  std::optional<Bytes> on_poll(const Bytes& f) {
    bool mine = (f[0] & 0x7F) == addr;
    if (pend != Pend::none || !last_poll.empty()) {
      if (mine && same_key(f, last_poll)) {
        if (++repeats == 1) return corrupt(last_resp);  // implied NACK: byte-identical resend
        last_poll.clear();                      // final NACK: silent, item stays queued
        pend = Pend::none;
        return std::nullopt;
      }
      ack();
    }
    if (!mine) {
      synced = true;
      return std::nullopt;
    }
    if ((require_sync && !synced) || silent) return std::nullopt;
    Bytes r = respond(f);
    last_poll = f;
    last_resp = r;
    repeats = 0;
    if (r.empty()) return std::nullopt;
    return corrupt(r);
  }

  static bool same_key(const Bytes& a, const Bytes& b) {
    if (a.size() == 1 || b.size() == 1) return a == b;
    return a[0] == b[0] && a[1] == b[1];
  }

  void ack() {
    if (pend == Pend::exception && !queue.empty()) {
      if (rte && queue.front() == 0x7C && !bonuses.empty()) bonuses.pop_front();
      acked.push_back(queue.front());
      queue.pop_front();
    } else if (pend == Pend::rom) {
      rom_answer.clear();
      rom_ready_at = -1;
    } else if (pend == Pend::handpay && !handpays.empty()) {
      handpays_acked.push_back(handpays.front());
      handpays.pop_front();
    } else if (pend == Pend::ticket && !tickets.empty()) {
      tickets.pop_front();
    } else if (pend == Pend::redemption && !redemptions.empty()) {
      redemptions.pop_front();
    } else if (pend == Pend::aft && !aft_records.empty()) {
      aft_records.pop_front();
    } else if (pend == Pend::progressive && !progressive_wins.empty()) {
      progressive_wins.pop_front();
    } else if (pend == Pend::bonus && !bonuses.empty()) {
      bonuses.pop_front();
    }
    pend = Pend::none;
    last_poll.clear();
  }

  Bytes crc(Bytes b) {
    append_crc(b);
    return b;
  }

  // The answer to a long poll that reads a queue of records: the oldest (dequeued on the implied
  // ACK of this answer, `p`), or `empty_len` zero bytes when there is none.
  Bytes oldest_record(std::uint8_t cmd, const std::deque<Bytes>& records, std::size_t empty_len,
                      Pend p) {
    Bytes b{addr, cmd};
    if (records.empty()) {
      b.resize(2 + empty_len, 0);
    } else {
      b.insert(b.end(), records.front().begin(), records.front().end());
      pend = p;
    }
    return crc(b);
  }

  // Wire corruption of a data reply (the EGM's cached copy for a resend stays intact).
  std::optional<Bytes> corrupt(Bytes b) {
    if (corrupt_next > 0 && b.size() > 2) {
      --corrupt_next;
      b.back() ^= 0x55;
    }
    return b;
  }

  // An event in real-time mode: addr FF code, the code's data (a bill's is its LP 48 record;
  // otherwise zeros: a 0-credit wager, ...).
  Bytes rte_event(std::uint8_t code) {
    Bytes b{addr, 0xFF, code};
    if (code == 0x4F) b.insert(b.end(), last_bill.begin(), last_bill.end());
    if (code == 0x7C && !bonuses.empty()) b.insert(b.end(), bonuses.front().begin(), bonuses.front().end());
    b.resize(3 + rte_data_len(code), 0);
    return crc(b);
  }

  Bytes respond(const Bytes& f) {
    if (f.size() == 1 && !rom_answer.empty() && wall_ms >= rom_ready_at) {
      pend = Pend::rom;  // the deferred LP 21 answer goes ahead of any exception
      return rom_answer;
    }
    if (f.size() == 1) {  // general poll
      std::uint8_t code = queue.empty() || (rte && rte_events_on_lp_only) ? 0 : queue.front();
      if (code) pend = Pend::exception;
      if (rte) return rte_event(code);
      return {code};
    }
    std::uint8_t cmd = f[1];
    if (rte && !queue.empty() && cmd != 0x0E) {  // an event instead of the answer
      pend = Pend::exception;
      return rte_event(queue.front());
    }
    if (auto it = busy_lp.find(cmd); it != busy_lp.end() && it->second > 0) {
      --it->second;
      return Bytes{addr, 0x00};  // BUSY: no CRC, nothing to acknowledge
    }
    switch (cmd) {
      case 0x54: {
        Bytes b{addr, 0x54, 0x09, '6', '0', '2', 'S', 'N', '0', '0', '0', '7'};
        return crc(b);
      }
      case 0x1F: {
        Bytes b{addr, 0x1F, 'A', 'B', '0', '0', '0', 0x02 /* 5 cents */, 0x05, 0x00, 0x00, 0x00};
        b.resize(22, '0');
        return crc(b);
      }
      case 0x1B:
        return oldest_record(0x1B, handpays, 20, Pend::handpay);
      case 0x2F: {
        if (std::find(lacks.begin(), lacks.end(), cmd) != lacks.end()) return {};
        Bytes b{addr, 0x2F, 0x00, 0x00, 0x00};
        for (std::size_t i = 5; i + 2 < f.size(); ++i) {
          auto it = meters.find(f[i]);
          if (it == meters.end()) continue;  // unsupported codes are omitted
          b.push_back(f[i]);
          auto v = encode_bcd(it->second, meter_size_2f(f[i]));
          b.insert(b.end(), v.begin(), v.end());
        }
        b[2] = static_cast<std::uint8_t>(b.size() - 3);
        return crc(b);
      }
      case 0x6F: {  // extended meters: {code(2 LE) size value(size BCD)}
        if (std::find(lacks.begin(), lacks.end(), cmd) != lacks.end()) return {};
        Bytes b{addr, 0x6F, 0x00, 0x00, 0x00};
        for (std::size_t i = 5; i + 3 < f.size(); i += 2) {
          auto it = meters.find(f[i]);
          if (it == meters.end()) continue;
          const std::size_t size = meter_size_2f(f[i]);
          b.push_back(f[i]);
          b.push_back(f[i + 1]);
          b.push_back(static_cast<std::uint8_t>(size));
          auto v = encode_bcd(it->second, size);
          b.insert(b.end(), v.begin(), v.end());
        }
        b[2] = static_cast<std::uint8_t>(b.size() - 3);
        return crc(b);
      }
      case 0x11: case 0x12: case 0x1A: {  // single meters: coin in, coin out, credits
        if (std::find(lacks.begin(), lacks.end(), cmd) != lacks.end()) return {};
        const std::uint8_t code = cmd == 0x11 ? 0x00 : cmd == 0x12 ? 0x01 : 0x0C;
        Bytes b{addr, cmd};
        auto v = encode_bcd(meters.count(code) ? meters.at(code) : 0, 4);
        b.insert(b.end(), v.begin(), v.end());
        return crc(b);
      }
      case 0x4D:  // enhanced validation: the oldest record (dequeued on the implied ACK)
        return oldest_record(0x4D, tickets, 31, Pend::ticket);
      case 0x71: case 0x72: {  // redemption status / AFT interrogation: the oldest record
        auto& records = cmd == 0x71 ? redemptions : aft_records;
        Bytes b{addr, cmd};
        if (records.empty()) {
          // No information: LP 71 status FF; LP 72 position 0, status FF.
          if (cmd == 0x71) b.insert(b.end(), {0x01, 0xFF});
          else b.insert(b.end(), {0x02, 0x00, 0xFF});
        } else {
          b.insert(b.end(), records.front().begin(), records.front().end());
          pend = cmd == 0x71 ? Pend::redemption : Pend::aft;
        }
        return crc(b);
      }
      case 0x84:  // progressive win amount: the oldest win, or group 0 level 0 amount 0
        return oldest_record(0x84, progressive_wins, 7, Pend::progressive);
      case 0x90:  // legacy bonus: the oldest award, or zeros
        return oldest_record(0x90, bonuses, 10, Pend::bonus);
      case 0x48: {  // last bill accepted
        if (last_bill.empty()) return {};
        Bytes b{addr, 0x48};
        b.insert(b.end(), last_bill.begin(), last_bill.end());
        return crc(b);
      }
      case 0x0E:
        rte = f[2] == 0x01;
        return {addr};
      case 0x21: {
        if (!rom_supported) return {};
        ++rom_requests;
        const auto seed = static_cast<std::uint16_t>(f[2] | (f[3] << 8));
        const auto* p = reinterpret_cast<const std::uint8_t*>(program.data());
        const std::uint16_t sig = crc16_kermit(std::span(p, program.size()), seed);
        rom_answer = crc({addr, 0x21, static_cast<std::uint8_t>(sig & 0xFF),
                          static_cast<std::uint8_t>(sig >> 8)});
        rom_ready_at = wall_ms + rom_delay_ms;
        return {addr};
      }
      case 0x7E: {  // local date and time, BCD MMDDYYYY HHMMSS
        std::time_t t = static_cast<std::time_t>((wall_ms + clock_offset_ms) / 1000);
        std::tm tm{};
        localtime_r(&t, &tm);
        Bytes b{addr, 0x7E};
        for (auto [v, n] : {std::pair{tm.tm_mon + 1, 1}, {tm.tm_mday, 1}, {tm.tm_year + 1900, 2},
                            {tm.tm_hour, 1}, {tm.tm_min, 1}, {tm.tm_sec, 1}}) {
          auto x = encode_bcd(static_cast<std::uint64_t>(v), static_cast<std::size_t>(n));
          b.insert(b.end(), x.begin(), x.end());
        }
        return crc(b);
      }
      case 0x7F: {
        std::tm tm{};
        tm.tm_mon = static_cast<int>(*decode_bcd(std::span(f).subspan(2, 1))) - 1;
        tm.tm_mday = static_cast<int>(*decode_bcd(std::span(f).subspan(3, 1)));
        tm.tm_year = static_cast<int>(*decode_bcd(std::span(f).subspan(4, 2))) - 1900;
        tm.tm_hour = static_cast<int>(*decode_bcd(std::span(f).subspan(6, 1)));
        tm.tm_min = static_cast<int>(*decode_bcd(std::span(f).subspan(7, 1)));
        tm.tm_sec = static_cast<int>(*decode_bcd(std::span(f).subspan(8, 1)));
        tm.tm_isdst = -1;
        clock_offset_ms = static_cast<std::int64_t>(std::mktime(&tm)) * 1000 - wall_ms;
        ++clock_sets;
        return {addr};
      }
      default:
        return {};
    }
  }
};

}  // namespace floorgate::drivers::sas::testing

namespace floorgate::drivers::sas::testing {

// Drives one Engine with a manual clock; replies from the fake EGMs arrive 2 ms after a poll.
struct Harness {
  std::int64_t now = 1000;
  std::vector<FakeEgm*> egms;
  std::vector<Bytes> wire;  // every frame the engine wrote, in order
  std::vector<std::int64_t> wire_at;   // when each was written
  std::vector<std::int64_t> rx_at;     // when received bytes were handed to the engine
  struct Sub {
    Event ev;
    DurableHandler h;
  };
  std::vector<Event> events;        // every submit, in order (including re-submits)
  std::deque<Sub> held;             // durable callbacks not yet delivered
  bool auto_durable = true;
  // Also call on_timer() at every millisecond, due or not: the bus shell's timers fire early
  // when the deadline they were armed for went away (Bus: an answer before its timeout).
  bool early_timers = false;
  int mark_in_next_reply = 0;       // that many data replies get a byte with a line error
  std::error_code fail_with;        // delivered instead of success while set
  std::deque<std::pair<std::int64_t, Bytes>> rx;
  std::vector<EgmStatus> status_changes;
  std::unique_ptr<Engine> engine;
  std::uint64_t seq = 0;
  // on_timer calls that wrote nothing and left the engine due again at once: on a real loop
  // the timer fires again immediately, a busy loop until something changes. Always 0.
  std::size_t spins = 0;
  // Called as a harness goes away. The unit tests check there that no engine busy-waited
  // (sas_harness_gtest.hpp); the fuzzer checks for itself.
  static inline std::function<void(const Harness&)> at_end;

  explicit Harness(BusConfig cfg, std::vector<FakeEgm*> fakes) : egms(std::move(fakes)) {
    Engine::Io io;
    io.write = [this](std::span<const std::uint8_t> bytes) {
      const Bytes f(bytes.begin(), bytes.end());
      wire.push_back(f);
      wire_at.push_back(now);
      for (auto* e : egms) {
        e->wall_ms = 1'700'000'000'000 + now;
        if (auto r = e->on_poll(f)) {
          Bytes wire_bytes = encode(*r);
          if (mark_in_next_reply > 0 && wire_bytes.size() > 3) {
            // A framing/parity error on the second byte: PARMRK delivers it as FF 00 X.
            --mark_in_next_reply;
            wire_bytes.insert(wire_bytes.begin() + 1, {0xFF, 0x00});
          }
          std::int64_t delay = e->reply_delay_ms;
          if (!e->late.empty()) {
            delay = e->late.front();
            e->late.pop_front();
          }
          const std::int64_t at = now + delay;
          if (e->split_gap_ms > 0 && wire_bytes.size() > 1) {
            // A USB adapter's latency timer: the reply arrives in two chunks.
            const auto half = static_cast<std::ptrdiff_t>(wire_bytes.size() / 2);
            arrive(at, Bytes(wire_bytes.begin(), wire_bytes.begin() + half));
            arrive(at + e->split_gap_ms, Bytes(wire_bytes.begin() + half, wire_bytes.end()));
          } else {
            arrive(at, std::move(wire_bytes));
          }
        }
      }
    };
    io.submit = [this](Event ev, DurableHandler h) {
      events.push_back(ev);
      held.push_back({std::move(ev), std::move(h)});
    };
    io.status_changed = [this](const EgmStatus& s) { status_changes.push_back(s); };
    io.rearm = [] {};
    io.steady_ms = [this] { return now; };
    io.wall_ms = [this] { return 1'700'000'000'000 + now; };
    engine = std::make_unique<Engine>(std::move(cfg), std::move(io));
  }

  ~Harness() {
    if (at_end) at_end(*this);
  }
  Harness(const Harness&) = delete;
  Harness& operator=(const Harness&) = delete;

  // Queues bytes to reach the engine at `at`, after everything due at or before then.
  void arrive(std::int64_t at, Bytes b) {
    auto it = rx.begin();
    while (it != rx.end() && it->first <= at) ++it;
    rx.insert(it, {at, std::move(b)});
  }

  static Bytes encode(const Bytes& b) {  // EGM -> host bytes in the PARMRK convention
    Bytes out;
    for (auto x : b) {
      out.push_back(x);
      if (x == 0xFF) out.push_back(0xFF);
    }
    return out;
  }

  void deliver_durable() {
    while (auto_durable && !held.empty()) {
      Sub s = std::move(held.front());
      held.pop_front();
      s.h(fail_with, fail_with ? 0 : ++seq);
    }
  }

  void run_for(std::int64_t ms) {
    std::int64_t end = now + ms;
    for (int guard = 0; guard < 1'000'000; ++guard) {
      deliver_durable();
      std::optional<std::int64_t> next = engine->next_deadline();
      if (!rx.empty()) next = next ? std::min(*next, rx.front().first) : rx.front().first;
      if (early_timers) next = next ? std::min(*next, now + 1) : now + 1;
      if (!next || *next > end) break;
      now = std::max(now, *next);
      bool did = false;
      while (!rx.empty() && rx.front().first <= now) {
        Bytes b = std::move(rx.front().second);
        rx.pop_front();
        rx_at.push_back(now);
        engine->on_rx(b);
        did = true;
      }
      auto d = engine->next_deadline();
      if ((d && *d <= now) || early_timers) {
        const std::size_t written = wire.size();
        engine->on_timer();
        const auto again = engine->next_deadline();
        if (again && *again <= now && wire.size() == written) ++spins;
        did = true;
      }
      if (!did) ++now;
    }
    now = end;
  }

  std::vector<std::string> types() const {
    std::vector<std::string> t;
    for (const auto& e : events) t.push_back(e.type);
    return t;
  }
  std::size_t count(const std::string& type) const {
    std::size_t n = 0;
    for (const auto& e : events) n += e.type == type;
    return n;
  }
  // The attributes of the first event of this type ("" if none).
  std::string attrs_of(std::string_view type) const {
    for (const auto& e : events) {
      if (e.type == type) return e.attrs_json;
    }
    return {};
  }
};

// No two consecutive frames on the bus are identical unless the engine counted a retry.
inline std::size_t identical_pairs(const std::vector<Bytes>& wire) {
  std::size_t n = 0;
  for (std::size_t i = 1; i < wire.size(); ++i) n += wire[i] == wire[i - 1];
  return n;
}

inline BusConfig one_egm_bus(std::uint8_t addr = 1) {
  BusConfig c;
  c.link = BusConfig::Link::pty;
  c.port = "/dev/null";
  EgmConfig e;
  e.id = "egm-" + std::to_string(addr);
  e.address = addr;
  // One meter request per snapshot keeps these timelines short (the full accounting set takes
  // three; the money tests use it).
  e.meter_codes = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x0B, 0x0C, 0x24};
  c.egms.push_back(e);
  return c;
}

// An LP 1B record (the 20 bytes after address and command) of a $125.00 handpay.
inline Bytes handpay_body() {
  Bytes body(20, 0);  // progressive group 0, level 0x40, amount 00 00 01 25 00 (BCD), no tax
  body[1] = 0x40;
  body[4] = 0x01;
  body[5] = 0x25;
  return body;
}

// One bus with an EGM ("egm-N") at each of these addresses.
inline BusConfig bus_with(std::initializer_list<std::uint8_t> addrs) {
  BusConfig c = one_egm_bus(*addrs.begin());
  for (auto it = addrs.begin() + 1; it != addrs.end(); ++it) {
    EgmConfig e = c.egms.front();
    e.id = "egm-" + std::to_string(*it);
    e.address = *it;
    c.egms.push_back(e);
  }
  return c;
}

// Two fake EGMs at addresses 1 and 2 on one bus, started and run for 3 s (both links up).
struct TwoEgms {
  TwoEgms() : h(bus_with({1, 2}), {&a, &b}) {
    h.engine->start();
    h.run_for(3000);
  }
  bool both_up() const { return h.engine->status().at(0).link_up && h.engine->status().at(1).link_up; }
  FakeEgm a, b = at_address(2);
  Harness h;

 private:
  static FakeEgm at_address(std::uint8_t addr) {
    FakeEgm e;
    e.addr = addr;
    return e;
  }
};

}  // namespace floorgate::drivers::sas::testing
