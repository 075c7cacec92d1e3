// Scheduling, exchanges, retries and link state of the SAS engine. Events, identification and
// meters live in engine_events.cpp.
#include <algorithm>
#include <atomic>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "floorgate/core/limits.hpp"
#include "floorgate/drivers/sas/engine.hpp"
#include "sas/egm_state.hpp"

namespace floorgate::drivers::sas {
namespace {
constexpr std::int64_t kFillerGuardMs = 2;    // after a filler, before the next wakeup byte
constexpr std::int64_t kDownPollMs = 1000;    // poll period while the link is down
constexpr int kDownFastPolls = 30;            // ... for this many polls past link_down_after
constexpr std::int64_t kAbsentPollMs = 5000;  // then (switched off, unplugged, misaddressed)
constexpr int kMaxSends = 3;                  // 1 send + 2 byte-identical retries
constexpr int kMaxWorkAttempts = 3;           // exchanges per long poll before giving up
constexpr std::int64_t kIdentRetryMs = 5000;  // re-identify while LP 54 keeps failing

// Long polls that set something on the EGM (7F its clock, 21 a ROM check with a seed, 0E the
// RTE mode): never re-sent from a resume mark, which may be hours old.
bool changes_egm_state(unsigned cmd) { return cmd == 0x7F || cmd == 0x21 || cmd == 0x0E; }

// What an EGM compares to detect a repeated poll (implied NACK): the GP byte, or address and
// command of a long poll (Monaco, and the simulator, ignore the data bytes).
bool same_poll(std::span<const std::uint8_t> a, std::span<const std::uint8_t> b) {
  if (a.empty() || b.empty() || a.size() == 1 || b.size() == 1) {
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
  }
  return a[0] == b[0] && a[1] == b[1];
}
}  // namespace

std::int64_t Engine::default_reply_timeout(BusConfig::Link link) {
  return link == BusConfig::Link::uart ? 50 : 150;
}
std::int64_t Engine::default_inter_byte(BusConfig::Link link) {
  return link == BusConfig::Link::uart ? 5 : 25;
}

Engine::Engine(BusConfig cfg, Io io) : cfg_(std::move(cfg)), io_(std::move(io)) {
  const std::int64_t bus_reply = cfg_.reply_timeout.count() > 0 ? cfg_.reply_timeout.count()
                                                                 : default_reply_timeout(cfg_.link);
  const std::int64_t bus_gap = cfg_.inter_byte_timeout.count() > 0
                                   ? cfg_.inter_byte_timeout.count()
                                   : default_inter_byte(cfg_.link);
  // The lowest address no machine on this bus uses, for EGMs whose filler must not be `80`.
  std::uint8_t unused = 0;
  for (std::uint8_t a = 1; a <= 127 && unused == 0; ++a) {
    bool used = false;
    for (const auto& ec : cfg_.egms) used = used || ec.address == a;
    if (!used) unused = a;
  }
  for (const auto& ec : cfg_.egms) {
    auto e = std::make_unique<EgmState>();
    e->cfg = ec;
    e->reply_timeout = ec.timing.reply_timeout.count() > 0 ? ec.timing.reply_timeout.count() : bus_reply;
    e->inter_byte = ec.timing.inter_byte.count() > 0 ? ec.timing.inter_byte.count() : bus_gap;
    e->poll_gap = ec.timing.poll_gap.count();
    if (ec.timing.filler == Timing::Filler::unused_address && unused != 0) {
      e->filler = static_cast<std::uint8_t>(0x80 | unused);
    }
    e->st.id = ec.id;
    e->st.address = ec.address;
    e->meter_codes = ec.meter_codes;
    e->rte = ec.real_time_events;  // the EGM may still be in RTE mode from a previous run
    if (e->meter_codes.empty()) e->meter_codes.assign(core::limits::kSasDefaultMeterCodes.begin(),
                                                  core::limits::kSasDefaultMeterCodes.end());
    e->recon = Reconciler(ec.reconcile_tolerance_cents);
    egms_.push_back(std::move(e));
  }
  load_rom_file();
}

Engine::~Engine() {
  if (resume_map_) ::munmap(resume_map_, kResumeMarkSize);
}

void Engine::start() {
  running_ = true;
  std::int64_t now = io_.steady_ms();
  for (auto& e : egms_) {
    e->need_sync = true;
    e->next_due = now;
  }
  resume_from_file(now);
  pump();
}

// A gateway killed while an EGM's answer to a general poll awaited durability (or was still on
// the wire) left that EGM waiting for the implied ACK. Starting with a sync poll (a poll to
// another address) would ACK it and lose the event; the same general poll again is the NACK
// that makes the EGM re-send it. So the last poll is kept in resume_file: a general poll's
// address; LP 1B, whose answer is a handpay record (and whose sending already ACKed the 0x51
// that announced it), and the money follow-ups, re-sent as such; and any other long poll's
// frame, which an EGM in RTE mode may have answered with an event (re-sent for that alone).
void Engine::resume_from_file(std::int64_t now) {
  if (cfg_.resume_file.empty()) return;
  std::FILE* f = std::fopen(cfg_.resume_file.c_str(), "r");
  if (!f) return;
  char line[kResumeMarkSize + 1] = {};
  const bool read = std::fgets(line, sizeof line, f) != nullptr;
  std::fclose(f);
  if (!read) return;
  unsigned address = 0, command = 0;
  int used = 0;
  int n = std::sscanf(line, "%u %x%n", &address, &command, &used);
  if (n < 1) return;
  // A long poll's frame follows on the same line (an older gateway's mark has none).
  std::vector<std::uint8_t> frame;
  auto nibble = [](char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
  };
  if (n == 2 && line[used] == ' ') {
    for (const char* p = line + used + 1; nibble(p[0]) >= 0 && nibble(p[1]) >= 0; p += 2) {
      frame.push_back(static_cast<std::uint8_t>(nibble(p[0]) << 4 | nibble(p[1])));
    }
  }
  // The frame, if it is whole: the address and command of the mark, its CRC when it has one.
  const bool frame_ok = frame.size() >= 2 && frame[0] == address && frame[1] == command &&
                        (frame.size() == 2 || crc_ok(frame));
  for (std::size_t i = 0; i < egms_.size(); ++i) {
    auto& e = egms_[i];
    if (e->cfg.address != address) continue;
    for (auto& x : egms_) x->need_sync = false;
    e->next_due = now - 1;  // served first
    if (n == 2 && (command == 0x1B || is_followup_lp(static_cast<std::uint8_t>(command)))) {
      // LP 1B or a money follow-up: its answer (a record the EGM keeps until it is ACKed)
      // may never have been stored; the same poll again makes the EGM send it again.
      const auto cmd = static_cast<std::uint8_t>(command);
      e->work.push_front({cmd == 0x1B ? build_lp(e->cfg.address, 0x1B)
                                      : followup_frame_for_lp(e->cfg.address, cmd),
                          0});
      e->lp_last = false;   // with that long poll
    } else if (n == 2 && command != 0 && frame_ok && !changes_egm_state(command)) {
      // Any other long poll: an EGM in RTE mode (or left in it) may have answered it with an
      // event instead, which the same frame again makes it send again. Its data answer is
      // dropped (Work::resume_only). Not a poll that sets something on the EGM: an old 7F
      // would set its clock back by the downtime, an old 21 start a check with an old seed.
      e->work.push_front({std::move(frame), 0, true});
      e->lp_last = false;
    } else {
      e->lp_last = true;    // with a general poll
    }
    resume_idx_ = i;
  }
}

void Engine::remember_polled(std::uint8_t address, std::uint8_t command,
                             std::span<const std::uint8_t> frame) {
  if (cfg_.resume_file.empty()) return;
  if (!resume_map_) {
    // The mark is written for every poll: through a shared mapping of the file it is
    // a store to the page cache, not a system call per poll. Like the pwrite it replaces, it
    // survives a kill of the process (the page cache keeps it), not a power cut of the
    // gateway alone; no fsync.
    int fd = ::open(cfg_.resume_file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return;
    void* m = MAP_FAILED;
    if (::ftruncate(fd, static_cast<off_t>(kResumeMarkSize)) == 0) {
      m = ::mmap(nullptr, kResumeMarkSize, PROT_WRITE, MAP_SHARED, fd, 0);
    }
    ::close(fd);  // the mapping keeps the file
    if (m == MAP_FAILED) return;
    resume_map_ = static_cast<char*>(m);
  }
  // "aaa cc" (printf's "%3u %02X", written out: this runs for every poll), then for a long
  // poll " FRAME" in hex, then a newline; the reader takes the first line. The frame goes in
  // first and the 6-byte head last, so a mark cut short by a kill is the old head (a general
  // poll's ignores what follows it) or a head whose frame does not match it: the reader checks
  // the frame's address, command and CRC and falls back to a general poll to that address.
  // That fallback is the old behaviour, not a safe one: it ACKs what that poll was answered.
  static constexpr char kHex[] = "0123456789ABCDEF";
  const char head[6] = {
      address >= 100 ? static_cast<char>('0' + address / 100) : ' ',
      address >= 10 ? static_cast<char>('0' + address / 10 % 10) : ' ',
      static_cast<char>('0' + address % 10),
      ' ',
      kHex[command >> 4],
      kHex[command & 0x0F]};
  if (command != 0 && !frame.empty() && frame.size() <= kResumeFrameMax) {
    char tail[kResumeMarkSize - 6];
    std::size_t n = 0;
    tail[n++] = ' ';
    for (std::uint8_t b : frame) {
      tail[n++] = kHex[b >> 4];
      tail[n++] = kHex[b & 0x0F];
    }
    tail[n++] = '\n';
    std::memcpy(resume_map_ + 6, tail, n);
  } else {
    resume_map_[6] = '\n';
  }
  // The frame before the head, in the order a kill can cut them (a kill is a signal to us).
  std::atomic_signal_fence(std::memory_order_seq_cst);
  std::memcpy(resume_map_, head, sizeof head);
}

void Engine::stop() {
  running_ = false;
  pending_.reset();
  alive_ = std::make_shared<int>(0);  // orphan every outstanding durable callback
}

std::vector<EgmStatus> Engine::status() const {
  std::vector<EgmStatus> out;
  for (const auto& e : egms_) out.push_back(e->st);
  return out;
}

void Engine::visit_status(const std::function<void(const EgmStatus&)>& f) const {
  for (const auto& e : egms_) f(e->st);
}

std::int64_t Engine::pending_deadline() const {
  const auto& e = *egms_[pending_->egm];
  return pending_->last_rx >= 0 ? pending_->last_rx + e.inter_byte : pending_->sent_at + e.reply_timeout;
}

Engine::Deadlines Engine::next_deadlines() const {
  Deadlines d;
  if (!running_) return d;
  auto earliest = [](std::optional<std::int64_t>& at, std::int64_t t) {
    at = at ? std::min(*at, t) : t;
  };
  for (const auto& r : resubmits_) earliest(d.schedule, r.at);
  if (pending_) {
    d.exchange = pending_deadline();
    return d;
  }
  if (blocked_ > 0) return d;
  if (followup_hold_) {
    // Only the held machine is polled until its follow-up is answered (pump). The others' due
    // polls would wake the loop for nothing, again at once each time, until it is due.
    earliest(d.schedule, std::max(egms_[*followup_hold_]->next_due, bus_ready_at_));
    return d;
  }
  // A machine with nothing to tell (its last general poll answered "no activity", no long poll
  // waiting) is polled on the wake grid; one that is reporting events, at its time, so the
  // grid never slows the draining of an exception queue.
  std::optional<std::int64_t> busy, quiet;
  for (const auto& e : egms_) {
    std::int64_t due = e->next_due;
    if (e->st.link_up && e->cfg.meter_period.count() > 0) due = std::min(due, e->next_meter);
    earliest((e->last_gp_quiet || !e->st.link_up) && e->work.empty() ? quiet : busy, due);
  }
  if (busy) earliest(d.schedule, std::max(*busy, bus_ready_at_));
  const std::int64_t grid = cfg_.wake_grid.count();
  if (quiet) {
    std::int64_t t = std::max(*quiet, bus_ready_at_);
    if (grid > 1) {
      // Up to the next grid point (floor division: a test clock may start below zero).
      const std::int64_t floor = t >= 0 ? t / grid * grid : -((grid - 1 - t) / grid) * grid;
      t = floor == t ? t : floor + grid;
    }
    earliest(d.schedule, t);
  }
  return d;
}

std::optional<std::int64_t> Engine::next_deadline() const {
  const Deadlines d = next_deadlines();
  if (d.exchange && d.schedule) return std::min(*d.exchange, *d.schedule);
  return d.exchange ? d.exchange : d.schedule;
}

void Engine::on_rx(std::span<const std::uint8_t> raw) {
  if (!running_) return;
  std::int64_t now = io_.steady_ms();
  for (std::uint8_t b : raw) {
    auto sym = decoder_.push(b);
    if (!sym) continue;
    if (sym->wakeup) {
      // A byte with a parity (9th bit) or framing error. Between frames, carrying a configured
      // address, it is a chirp: the EGM is alive but thinks nobody polls it. A BREAK (00), an
      // unknown address or a marked byte inside a reply is line trouble: counted, and inside a
      // reply kept as data so the frame fails its CRC and is retried (not a timeout).
      const bool in_reply = pending_ && !rx_.empty();
      bool chirp = false;
      if (!in_reply && sym->byte != 0) {
        for (std::size_t i = 0; i < egms_.size(); ++i) {
          if (egms_[i]->cfg.address == (sym->byte & 0x7F)) {
            egms_[i]->st.chirps++;
            egms_[i]->need_sync = true;
            chirp = true;
          }
        }
      }
      if (chirp) continue;
      if (pending_) egms_[pending_->egm]->st.line_errors++;
      if (!in_reply) continue;
      rx_corrupt_ = true;  // the byte's value cannot be trusted: the frame fails as a CRC error
    }
    if (!pending_) continue;  // line noise between frames
    rx_.push_back(sym->byte);
    pending_->last_rx = now;
    Expectation exp = expectation();
    ParseResult r = parse_response(exp, rx_);
    // Garbage before the reply: drop leading bytes that cannot start it.
    while (r.status == ParseStatus::error && r.error == ParseError::bad_address && !rx_.empty()) {
      rx_.erase(rx_.begin());
      r = parse_response(exp, rx_);
    }
    if (r.status == ParseStatus::complete && rx_corrupt_) {
      exchange_failed(false, true);
    } else if (r.status == ParseStatus::complete) {
      handle_frame(r);
    } else if (r.status == ParseStatus::error) {
      exchange_failed(false, r.error == ParseError::bad_crc);
    }
  }
  pump();
  if (io_.rearm) io_.rearm();
}

Expectation Engine::expectation() const {
  Expectation exp;
  const auto& e = *egms_[pending_->egm];
  exp.address = e.cfg.address;
  exp.general_poll = pending_->gp;
  exp.cmd = pending_->gp ? 0 : pending_->frame[1];
  exp.rte = e.rte;
  return exp;
}

void Engine::on_timer() {
  if (!running_) return;
  std::int64_t now = io_.steady_ms();
  for (std::size_t i = 0; i < resubmits_.size();) {
    if (resubmits_[i].at <= now) {
      Resubmit r = std::move(resubmits_[i]);
      resubmits_.erase(resubmits_.begin() + static_cast<std::ptrdiff_t>(i));
      submit(r.egm, std::move(r.event), r.blocks);
    } else {
      ++i;
    }
  }
  if (pending_) {
    if (now >= pending_deadline()) {
      if (rx_.empty()) {
        exchange_failed(true, false);
      } else {
        ParseResult r = parse_response(expectation(), rx_, true);
        if (r.status == ParseStatus::complete && rx_corrupt_) exchange_failed(false, true);
        else if (r.status == ParseStatus::complete) handle_frame(r);
        // An incomplete frame (bytes lost) counts as a timeout.
        else exchange_failed(r.status == ParseStatus::need_more, r.error == ParseError::bad_crc);
      }
    }
  }
  pump();
  if (io_.rearm) io_.rearm();
}

void Engine::pump() {
  if (!running_ || pending_ || blocked_ > 0) return;
  std::int64_t now = io_.steady_ms();
  if (now < bus_ready_at_) return;
  for (std::size_t i = 0; i < egms_.size(); ++i) {
    auto& e = *egms_[i];
    if (e.st.link_up && e.cfg.meter_period.count() > 0 && now >= e.next_meter) {
      queue_meters(i, "periodic", false);
    }
    if (e.st.link_up && e.cfg.clock_period.count() > 0 && e.next_clock > 0 && now >= e.next_clock) {
      e.next_clock = now + e.cfg.clock_period.count() * 1000;
      e.work.push_back({build_lp(e.cfg.address, 0x7E), 0});
    }
    if (e.st.link_up && e.cfg.rom_check_period.count() > 0 && e.next_rom > 0 &&
        now >= e.next_rom) {
      e.next_rom = now + e.cfg.rom_check_period.count() * 1000;
      queue_rom_check(i, "periodic");
    }
    if (e.rom_sent_at > 0 && now - e.rom_sent_at >= e.cfg.rom_timeout.count() * 1000) {
      rom_failed(i, "no signature within rom_timeout");
    }
    if (e.st.link_up && e.st.serial.empty() && e.work.empty() && now >= e.next_ident) {
      // Identification was abandoned (BUSY, no answer): try again, slowly.
      e.next_ident = now + kIdentRetryMs;
      e.work.push_back({build_lp(e.cfg.address, 0x54), 0});
      e.work.push_back({build_lp(e.cfg.address, 0x1F), 0});
    }
  }
  // The EGM whose poll is most overdue, starting after the last one served (fairness).
  std::optional<std::size_t> best;
  if (followup_hold_) {
    if (egms_[*followup_hold_]->next_due > now) return;
    best = followup_hold_;
  }
  for (std::size_t k = 0; !followup_hold_ && k < egms_.size(); ++k) {
    std::size_t i = (rr_ + 1 + k) % egms_.size();
    if (egms_[i]->next_due > now) continue;
    if (!best || egms_[i]->next_due < egms_[*best]->next_due) best = i;
  }
  if (!best) return;
  auto& e = *egms_[*best];
  if (e.poll_gap > 0 && now < last_end_ + e.poll_gap) {
    bus_ready_at_ = last_end_ + e.poll_gap;  // this machine wants a quiet line first
    return;
  }
  if (e.need_sync) {
    send_filler(now, e.filler);
    for (auto& x : egms_) x->need_sync = false;
    return;
  }
  bool gp = e.work.empty() || e.lp_last;
  const bool quiet_wait = !gp && snapshot_waits_for_quiet_poll(e, now);
  if (quiet_wait) gp = true;
  const std::uint8_t gp_frame[1] = {static_cast<std::uint8_t>(0x80 | e.cfg.address)};
  const std::span<const std::uint8_t> frame = gp ? std::span<const std::uint8_t>(gp_frame)
                                                 : std::span<const std::uint8_t>(e.work.front().frame);
  if (same_poll(frame, last_frame_)) {
    // The same poll twice in a row would be an implied NACK: put a filler between them, at
    // half the poll period (the "other address" spacing).
    std::int64_t at = last_end_ + e.cfg.poll_period.count() / 2;
    if (now < at) {
      bus_ready_at_ = at;
      return;
    }
    send_filler(now, e.filler);
    return;
  }
  start_exchange(*best, gp, frame);
  if (quiet_wait && !e.snap_wait_since) e.snap_wait_since = now;  // the wait's first general poll
  if (!gp) {
    pending_->work = std::move(e.work.front());
    e.work.pop_front();
  }
  rr_ = *best;
  e.lp_last = !gp;
  const std::vector<std::uint8_t>& sent = pending_->frame;  // `frame` pointed into the moved work
  if (!gp && sent.size() > 1 && sent[1] == 0x21) {
    e.rom_sent_at = now;
    e.st.rom_check_running = true;
  }
  if (gp) remember_polled(e.cfg.address, 0);
  else if (sent.size() > 1) remember_polled(e.cfg.address, sent[1], sent);
  if (!gp && sent.size() > 1 && is_meter_lp(sent[1]) && e.snap_outstanding > 0 && !e.snap_started) {
    // The snapshot's first meter poll: settled only if the general poll before it was quiet.
    e.snap_started = true;
    e.snap_quiet = e.last_gp_quiet;
  }
  send_pending(false);
}

void Engine::send_filler(std::int64_t now, std::uint8_t filler) {
  last_frame_.assign(1, filler);
  bus_ready_at_ = now + kFillerGuardMs;
  last_end_ = now;
  io_.write(last_frame_);
}

void Engine::start_exchange(std::size_t egm, bool gp, std::span<const std::uint8_t> frame) {
  // The exchange record and its frame buffer are reused from poll to poll: starting an
  // exchange allocates nothing (docs/performance.md, "Six allocations and most clock reads").
  std::unique_ptr<Pending> p = spare_pending_ ? std::move(spare_pending_) : std::make_unique<Pending>();
  std::vector<std::uint8_t> buf = std::move(p->frame);
  *p = Pending{};
  buf.assign(frame.begin(), frame.end());
  p->frame = std::move(buf);
  p->egm = egm;
  p->gp = gp;
  pending_ = std::move(p);
}

void Engine::send_pending(bool retry) {
  auto& e = *egms_[pending_->egm];
  rx_.clear();
  rx_corrupt_ = false;
  pending_->sent_at = io_.steady_ms();
  pending_->last_rx = -1;
  e.st.polls++;
  if (retry) e.st.retries++;
  e.st.last_poll_ms = io_.wall_ms();
  last_frame_ = pending_->frame;
  io_.write(pending_->frame);
}

void Engine::end_exchange(std::int64_t next_due) {
  std::int64_t now = io_.steady_ms();
  auto& e = *egms_[pending_->egm];
  // A machine whose link is down is polled once a second at first, then, once it has stayed
  // silent for kDownFastPolls more polls (about half a minute), every 5 s: each of its polls
  // takes the bus for two reply windows (below), so absent machines must not poll often.
  const std::int64_t down_ms =
      e.fails >= cfg_.link_down_after + kDownFastPolls ? kAbsentPollMs : kDownPollMs;
  e.next_due = next_due > 0 ? next_due : now + (e.st.link_up ? e.cfg.poll_period.count()
                                                             : down_ms);
  last_end_ = now;
  // An attempt that timed out may still be answered (a slow machine, one just powering up),
  // and its retry may have been answered too (a byte-identical copy): whichever came last is
  // still on its way. Read as the answer to the next poll it would be taken for that
  // machine's event (a general poll's answer has no address) while that machine's own is
  // implied-ACKed: a wrong event and a lost one. So the line stays quiet for this machine's
  // reply window; what arrives meanwhile is dropped. That holds for a machine whose link is
  // down too: its one poll's late answer is the same danger.
  bus_ready_at_ = pending_->timed_out ? now + e.reply_timeout : now;
  spare_pending_ = std::move(pending_);
  rx_.clear();
  rx_corrupt_ = false;
}

void Engine::exchange_failed(bool timeout, bool crc) {
  auto& e = *egms_[pending_->egm];
  if (timeout) {
    e.st.timeouts++;
    pending_->timed_out = true;
  }
  if (crc) e.st.crc_errors++;
  std::size_t idx = pending_->egm;
  note_failure(idx);
  // A general poll to a machine whose link is down is not retried (it is usually absent),
  // except the resume poll after a restart: that machine may hold an answer a killed gateway
  // never stored, and only byte-identical retries (implied NACKs) keep it from being ACKed.
  const bool resume = resume_idx_ && *resume_idx_ == idx;
  if (pending_->sends < kMaxSends && (e.st.link_up || !pending_->gp || resume)) {
    pending_->sends++;
    send_pending(true);
    return;
  }
  // Third failure: the EGM keeps its item (final implied NACK); resync before the next poll.
  if (resume) resume_idx_.reset();
  e.need_sync = true;
  if (pending_->work) give_up_or_requeue(idx, std::move(*pending_->work), resume);
  end_exchange(0);
}

void Engine::give_up_or_requeue(std::size_t idx, Work w, bool resume) {
  auto& e = *egms_[idx];
  if (++w.attempts < kMaxWorkAttempts && (e.st.link_up || resume)) {
    // The resume LP 1B of a machine that wants a sync first (it lost the link while we were
    // down and dropped its unACKed answer, keeping the record): after the sync it goes first,
    // ahead of any general poll, so the handpay is reported before what followed it.
    if (resume) e.lp_last = false;
    e.work.push_front(std::move(w));
    return;
  }
  work_abandoned(idx, w.frame);
}

void Engine::handle_frame(const ParseResult& r) {
  std::size_t idx = pending_->egm;
  if (resume_idx_ && *resume_idx_ == idx) resume_idx_.reset();  // the resume poll was answered
  auto& e = *egms_[idx];
  // The answer outlives rx_ (end_exchange clears it); answer_ keeps its capacity.
  answer_.assign(rx_.begin(), rx_.begin() + static_cast<std::ptrdiff_t>(r.length));
  const std::span<const std::uint8_t> frame = answer_;
  bool retry = pending_->sends > 1;
  note_answer(idx);
  switch (r.kind) {
    case FrameKind::nack:
      e.st.nack_resends++;
      if (pending_->sends < kMaxSends) {
        pending_->sends++;
        send_pending(true);
        return;
      }
      if (pending_->work) give_up_or_requeue(idx, std::move(*pending_->work));
      end_exchange(0);
      return;
    case FrameKind::busy:
      // A valid answer: the poll is retried later (after other polls), without using up tries.
      // A money follow-up or LP 1B answered BUSY gives up its hold on the bus: BUSY carries
      // nothing a poll to another address could ACK, and the record stays in the EGM until
      // the answer that reads it. An EGM that stays BUSY would otherwise keep every other
      // machine on the bus unpolled, and their events queued until they overflow.
      e.st.busy++;
      if (pending_->work) e.work.push_back(std::move(*pending_->work));
      if (followup_hold_ == idx) followup_hold_.reset();
      end_exchange(0);
      return;
    case FrameKind::rte_event: {
      const bool was_gp = pending_->gp;
      // An event instead of the LP's answer: ACK it with a different poll, then reissue the LP
      // (not a restart's re-sent poll: it was sent again only to fetch this event).
      if (pending_->work && !pending_->work->resume_only) {
        e.work.push_front(std::move(*pending_->work));
      }
      end_exchange(0);
      if (!e.rte) {
        // The EGM is in RTE mode and we believed it was not: read its answers as RTE frames
        // from now on and set the configured mode again (confirmed by the EGM's ACK).
        e.rte = true;
        e.st.real_time_events = false;
        e.st.rte_resyncs++;
        queue_rte_mode(idx, true);
        notify_status(idx);
      }
      std::uint8_t code = frame[2];
      if (code != 0) {
        handle_exception_code(idx, code, std::span(frame).subspan(3, frame.size() - 5), frame,
                              true, retry);
      } else if (was_gp) {
        general_poll_answered(idx, true);
      }
      return;
    }
    case FrameKind::exception:
      end_exchange(0);
      if (frame[0] != 0) handle_exception_code(idx, frame[0], {}, frame, false, retry);
      else general_poll_answered(idx, true);
      return;
    case FrameKind::ack: {
      std::vector<std::uint8_t> sent = pending_->frame;
      end_exchange(0);
      // LP 21 ACKed: the signature comes later, as the answer to a general poll.
      if (sent.size() >= 2 && sent[1] == 0x21) notify_status(idx);
      if (sent.size() >= 3 && sent[1] == 0x0E) {
        e.rte = sent[2] == 0x01;
        e.st.real_time_events = e.rte;
        e.st.real_time_events_confirmed = true;
        notify_status(idx);
      }
      return;
    }
    case FrameKind::data: {
      const bool resume_only = pending_->work && pending_->work->resume_only;
      end_exchange(0);
      if (!resume_only) handle_lp_data(idx, frame);
      return;
    }
  }
}

void Engine::note_answer(std::size_t idx) {
  auto& e = *egms_[idx];
  e.st.answers++;
  e.fails = 0;
  if (!e.st.link_up) {
    e.st.link_up = true;
    e.st.link_transitions++;
    JsonWriter w;
    w.add("address", static_cast<unsigned>(e.cfg.address));
    emit(idx, make_event(idx, "link.up", EventClass::operational, "sas:link", std::move(w).finish(), {}),
         false);
    queue_identification(idx);
    notify_status(idx);
  }
}

void Engine::note_failure(std::size_t idx) {
  auto& e = *egms_[idx];
  ++e.fails;
  if (e.st.link_up && e.fails >= cfg_.link_down_after) {
    e.st.link_up = false;
    e.st.link_transitions++;
    e.need_sync = true;
    e.rte = e.cfg.real_time_events;
    e.st.real_time_events = false;
    e.st.real_time_events_confirmed = false;
    e.work.clear();
    e.snap_outstanding = 0;
    e.recon_wait_gp = false;
    // Money exceptions whose record was not read yet: reported without it (the EGM may raise
    // them again; a duplicate is better than a loss). Not the follow-up on the wire now: the
    // failed exchange decides it (exchange_failed), with its amounts if a retry is answered,
    // so it is not reported twice, once without its amounts and once with them.
    std::optional<std::uint8_t> in_flight;
    if (pending_ && pending_->egm == idx && pending_->work && pending_->work->frame.size() >= 2 &&
        is_followup_lp(pending_->work->frame[1])) {
      in_flight = pending_->work->frame[1];
    }
    std::vector<std::uint8_t> unread;
    for (const auto& f : e.followups) {
      if (in_flight && f.lp == *in_flight) in_flight.reset();  // skipped once
      else unread.push_back(f.lp);
    }
    for (std::uint8_t lp : unread) followup_failed(idx, lp, "link_down");
    if (followup_hold_ == idx) followup_hold_.reset();
    JsonWriter w;
    w.add("address", static_cast<unsigned>(e.cfg.address));
    w.add("consecutive_failures", e.fails);
    emit(idx, make_event(idx, "link.down", EventClass::operational, "sas:link",
                         std::move(w).finish(), {}),
         false);
    if (e.rom_sent_at > 0) rom_failed(idx, "link down");
    notify_status(idx);
  }
}

void Engine::notify_status(std::size_t idx) {
  if (io_.status_changed) io_.status_changed(egms_[idx]->st);
}

}  // namespace floorgate::drivers::sas
