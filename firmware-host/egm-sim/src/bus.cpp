#include "bus.hpp"

namespace floorgate::sim {
namespace {
constexpr std::int64_t kChirpAfterMs = 5000;  // sas.md §5: loop break after 5 s
constexpr std::int64_t kChirpEveryMs = 200;   // sas.md §5: chirp about every 200 ms
}  // namespace

Bus::Bus(int index, BusConfig cfg, Ledger& ledger, const Clock& clock, std::mt19937_64& rng)
    : index_(index), cfg_(std::move(cfg)), clock_(clock), rng_(rng) {
  std::int64_t now = clock_.steady_ms();
  for (const MachineConfig& m : cfg_.machines) {
    Station st;
    st.egm = std::make_unique<Egm>(m, index_, ledger, clock_);
    st.synced = !cfg_.sync_required;
    st.last_poll_ms = now;
    stations_.push_back(std::move(st));
  }
}

Bus::Station* Bus::station(std::uint8_t address) {
  for (Station& st : stations_) {
    if (st.egm->address() == address) return &st;
  }
  return nullptr;
}

Egm* Bus::find(std::uint8_t address) {
  Station* st = station(address);
  return st ? st->egm.get() : nullptr;
}

Faults* Bus::faults(std::uint8_t address) {
  Station* st = station(address);
  return st ? &st->faults : nullptr;
}

std::vector<Egm*> Bus::machines() {
  std::vector<Egm*> out;
  for (Station& st : stations_) out.push_back(st.egm.get());
  return out;
}

bool Bus::chance(double p) {
  if (p <= 0) return false;
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng_) < p;
}

void Bus::on_bytes(std::span<const std::uint8_t> bytes) {
  wire_.clear();
  decoder_.feed(bytes, wire_);
  for (WireByte w : wire_) on_wire(w);
}

void Bus::on_wire(WireByte w) {
  if (w.wakeup) {
    // A wakeup byte always starts a new frame: this is how the bus resynchronises.
    in_frame_ = false;
    frame_.clear();
    if (w.value & 0x80U) {
      ++stats_.polls;
      std::uint8_t gp = w.value;
      handle_poll(PollKey{static_cast<std::uint8_t>(w.value & 0x7FU), true, 0}, {&gp, 1});
      return;
    }
    frame_.push_back(w.value);
    in_frame_ = true;
    expect_ = 0;
    return;
  }
  if (!in_frame_) {
    ++stats_.stray_bytes;
    return;
  }
  frame_.push_back(w.value);
  if (frame_.size() == 2) {
    auto shape = lp_shape(frame_[1]);
    if (!shape) {
      // Unknown command: the frame length is unknowable; wait for the next wakeup byte.
      ++stats_.unknown;
      in_frame_ = false;
      return;
    }
    variable_ = shape->variable;
    has_crc_ = shape->has_crc;
    expect_ = shape->variable ? 0 : shape->length;
  } else if (frame_.size() == 3 && variable_) {
    expect_ = 3U + frame_[2] + 2U;
  }
  if (expect_ != 0 && frame_.size() >= expect_) {
    in_frame_ = false;
    frame_complete();
  }
}

void Bus::frame_complete() {
  if (has_crc_ && !crc_ok(frame_)) {
    ++stats_.bad_crc;  // a bad CRC gets no answer and is not a poll at all
    return;
  }
  ++stats_.polls;
  handle_poll(PollKey{frame_[0], false, frame_[1]}, frame_);
}

void Bus::handle_poll(PollKey key, std::span<const std::uint8_t> frame) {
  bool retry = have_last_key_ && key == last_key_;
  repeat_ = retry ? repeat_ + 1 : 0;  // -1 after a final NACK: the next repeat is fresh
  last_key_ = key;
  have_last_key_ = true;
  for (Station& st : stations_) {
    if (st.egm->address() != key.address && !st.faults.silent) st.synced = true;
  }
  if (key.address == 0) {
    if (!key.gp) {
      for (Station& st : stations_) {
        if (!st.off && !st.faults.silent) st.egm->broadcast(frame);
      }
    }
    return;  // broadcasts are never answered
  }
  std::vector<Station*> here;
  for (Station& st : stations_) {
    if (st.egm->address() == key.address && !st.off && !st.faults.silent && st.synced) {
      here.push_back(&st);
    }
  }
  if (here.size() == 1) return serve(*here.front(), key, frame);
  if (here.empty()) return;
  // Two machines set to one address both answer: on a shared line their bytes collide. The
  // wire carries the OR of the answers (a 1 bit from either transmitter wins), one bad frame.
  std::vector<Bytes> answers;
  capture_ = &answers;
  const int repeat = repeat_;
  for (Station* st : here) {
    repeat_ = repeat;
    serve(*st, key, frame);
  }
  capture_ = nullptr;
  if (answers.empty()) return;
  Bytes wire;
  for (const Bytes& a : answers) {
    if (wire.size() < a.size()) wire.resize(a.size(), 0);
    for (std::size_t i = 0; i < a.size(); ++i) wire[i] |= a[i];
  }
  transmit(*here.front(), wire);
}

void Bus::serve(Station& st, PollKey key, std::span<const std::uint8_t> frame) {
  st.last_poll_ms = clock_.steady_ms();
  st.link_down = false;
  if (repeat_ == 0) {
    st.egm->implied_ack();
    answer(st, key, frame);
    return;
  }
  if (repeat_ == 1) {
    // Implied NACK: resend the last answer byte for byte, without re-executing.
    if (st.has_last_answer) {
      transmit(st, st.last_answer);
    } else {
      answer(st, key, frame);
    }
    return;
  }
  // Final implied NACK: no answer; the item stays queued and the next poll starts afresh.
  st.egm->final_nack();
  st.has_last_answer = false;
  repeat_ = -1;
}

void Bus::answer(Station& st, PollKey key, std::span<const std::uint8_t> frame) {
  st.has_last_answer = false;
  if (!key.gp && st.faults.busy) {
    transmit(st, Bytes{st.egm->address(), 0x00});
    return;
  }
  std::optional<Bytes> ans;
  if (key.gp) {
    ans = st.egm->general_poll();
  } else {
    ans = st.egm->long_poll(frame);
  }
  if (!ans) return;  // unsupported: silence
  st.last_answer = *ans;
  st.has_last_answer = true;
  transmit(st, *ans);
}

void Bus::transmit(Station& st, const Bytes& answer) {
  if (capture_ != nullptr) {
    capture_->push_back(answer);
    return;
  }
  ++stats_.answers;
  Bytes wire = answer;
  if (wire.size() >= 3 && chance(st.faults.crc_rate)) wire.back() ^= 0x5A;
  Bytes out;
  for (std::uint8_t b : wire) {
    if (chance(st.faults.drop_rate)) continue;
    out.push_back(b);
    if (chance(st.faults.dup_rate)) out.push_back(b);
  }
  if (!writer_ || out.empty()) return;
  std::vector<Chunk> chunks;
  if (st.faults.gap_ms > 0) {
    for (std::size_t i = 0; i < out.size(); ++i) {
      Chunk c;
      escape_append(c.bytes, out[i], false);
      c.delay_ms = i == 0 ? st.faults.delay_ms : st.faults.gap_ms;
      chunks.push_back(std::move(c));
    }
  } else {
    chunks.push_back(Chunk{escape_response(out), st.faults.delay_ms});
  }
  writer_(std::move(chunks));
}

bool Bus::power_cycle(std::uint8_t address, bool ram_clear, int off_ms) {
  Station* st = station(address);
  if (st == nullptr) return false;
  st->has_last_answer = false;
  st->synced = !cfg_.sync_required;
  st->last_poll_ms = clock_.steady_ms();
  if (off_ms <= 0) {
    st->egm->power_cycle(ram_clear);
    return true;
  }
  st->off = true;
  st->on_at_ms = clock_.steady_ms() + off_ms;
  st->ram_clear_on_power_up = ram_clear;
  return true;
}

void Bus::tick() {
  std::int64_t now = clock_.steady_ms();
  for (Station& st : stations_) {
    if (st.off && now >= st.on_at_ms) {
      st.off = false;
      st.last_poll_ms = now;
      st.egm->power_cycle(st.ram_clear_on_power_up);
    }
    if (st.off || now - st.last_poll_ms < kChirpAfterMs) continue;
    if (!st.link_down) {
      // Loop break: the host is gone. Whatever the last answer carried was never implied-ACKed
      // and is reported again when polling resumes; with sync required, resync first.
      st.link_down = true;
      st.egm->final_nack();
      st.has_last_answer = false;
      st.synced = !cfg_.sync_required;
    }
    if (!cfg_.chirp || st.faults.silent || now - st.last_chirp_ms < kChirpEveryMs) continue;
    st.last_chirp_ms = now;
    ++stats_.chirps;
    if (writer_) {
      Chunk c;
      escape_append(c.bytes, st.egm->address(), true);
      writer_({std::move(c)});
    }
  }
}

}  // namespace floorgate::sim
