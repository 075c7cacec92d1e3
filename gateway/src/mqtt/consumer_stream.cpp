// Per-consumer streams: windowed live delivery from the store, acks (committed through
// Store::ack_async, results posted back to the loop), ack-timeout resend, replay, dead letters.
// The stream owns its positions (pos, sent_upto, acked); the store keeps the durable cursor
// and serves reads by seq range. Every store call that writes is *_async, answered on the
// loop: the loop never waits for the store's writer thread.
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include "floorgate/core/check.hpp"
#include "floorgate/gateway/mqtt_codec.hpp"
#include "mqtt/delivery_impl.hpp"

namespace floorgate::gateway {
namespace {

constexpr std::size_t kReadBatch = 256;
// A "since" more than this far ahead of the gateway clock is rejected as "in the future".
constexpr std::int64_t kFutureSlackMs = 60'000;

}  // namespace

void DeliveryImpl::add_consumer(const ConsumerOptions& o) {
  auto c = std::make_shared<ConsumerState>();
  c->opt = o;
  if (c->opt.window == 0) c->opt.window = 1;
  consumers_.push_back(c);
  register_consumer(c, true);
}

void DeliveryImpl::register_consumer(const std::shared_ptr<ConsumerState>& c, bool first) {
  c->ready = false;  // nothing is sent or accepted until the store answers with the cursor
  const auto generation = ++c->registration;
  std::weak_ptr<DeliveryImpl> weak = weak_from_this();
  std::weak_ptr<ConsumerState> wc = c;
  auto ex = ex_;
  const auto& o = c->opt;
  // The answer comes on the store's writer thread: only post back to the loop from there.
  store_.register_consumer_async(
      {o.name, o.route, o.required},
      [weak, wc, ex, first, generation](std::error_code ec, std::uint64_t acked) {
        boost::asio::post(ex, [weak, wc, first, generation, ec, acked] {
          auto self = weak.lock();
          auto cs = wc.lock();
          if (!self || !cs || self->stopped_ || cs->registration != generation) return;
          self->on_registered(*cs, ec, acked, first);
        });
      });
}

void DeliveryImpl::on_registered(ConsumerState& c, std::error_code ec, std::uint64_t acked,
                                 bool first) {
  if (ec) {
    spdlog::error("delivery: registering consumer {} failed: {}", c.opt.name, ec.message());
    return;  // stays not ready: nothing is sent from an unknown cursor
  }
  if (first) {
    c.acked = c.durable_acked = c.sent_upto = acked;
    spdlog::info("delivery: consumer {} resumes after seq {}", c.opt.name, c.acked);
  }
  FG_CHECK(c.durable_acked <= c.acked && c.acked <= c.sent_upto, "consumer cursors out of order");
  c.ready = true;
  rewind(c);
  pump(c);
}

void DeliveryImpl::rewind(ConsumerState& c) {
  c.inflight.clear();
  c.pos = c.acked;  // the stream owns its position: the next read starts after the cursor
}

bool DeliveryImpl::publish_event(ConsumerState& c, const store::Record& r, bool replay,
                                 bool dead) {
  UserProps props{{"schema", std::string(kEventSchema)},
                  {"seq", std::to_string(r.seq)},
                  {"epoch", std::to_string(r.epoch)},
                  {"egm", r.egm},
                  {"egm_seq", std::to_string(r.egm_seq)}};
  if (replay) props.emplace_back("replay", "true");
  int mid = client_->publish(event_topic(opt_.topic_root, c.opt.name, r),
                             encode_event(r, replay, dead), 1, false, &props);
  if (mid < 0) return false;
  if (replay) {
    replay_mids_[mid] = find(c.opt.name);
    ++c.replay_outstanding;
  }
  return true;
}

void DeliveryImpl::pump(ConsumerState& c) {
  if (!c.ready || c.present == false) return;
  auto now = std::chrono::steady_clock::now();
  while (client_->connected() && c.inflight.size() < c.opt.window) {
    std::size_t n = std::min(kReadBatch, c.opt.window - c.inflight.size());
    std::error_code ec;
    std::uint64_t covered = c.pos;
    auto batch = store_.read_after(c.opt.name, c.pos, n, ec, &covered);
    if (ec) {
      spdlog::error("delivery: reading for consumer {} failed: {}", c.opt.name, ec.message());
      return;
    }
    for (auto& r : batch) {
      if (!publish_event(c, r, false, false)) {
        rewind(c);  // the link just went down; resend from the cursor after reconnecting
        return;
      }
      FG_CHECK(r.seq > c.pos, "the store returned a row at or before the read position");
      c.inflight.push_back({r.seq, now});
      c.pos = r.seq;
      c.sent_upto = std::max(c.sent_upto, r.seq);
      ++c.counters.published;
    }
    // Every matching row up to `covered` was returned; a sparse route may have scanned its
    // budget and found fewer (or none). A short batch is the end for now: go on from there at
    // the next notify or tick, so one call stays bounded and no empty read follows.
    c.pos = std::max(c.pos, covered);
    if (batch.size() < n) return;
  }
}

void DeliveryImpl::pump_replay(ConsumerState& c) {
  if (!c.ready || c.present == false) return;
  while (client_->connected() && c.tokens >= 1 && c.replay_outstanding < c.opt.window) {
    std::vector<store::Record> batch;
    bool dead = !c.dead_queue.empty();
    if (dead) {
      batch.push_back(std::move(c.dead_queue.front()));
      c.dead_queue.pop_front();
    } else if (c.replay_active) {
      std::size_t n = std::min<std::size_t>({kReadBatch, static_cast<std::size_t>(c.tokens),
                                             c.opt.window - c.replay_outstanding});
      std::error_code ec;
      std::uint64_t covered = c.replay_pos;
      batch = store_.read_after(c.opt.name, c.replay_pos, n, ec, &covered);
      if (!ec && batch.empty() && covered > c.replay_pos && covered < c.replay_end) {
        c.replay_pos = covered;  // a sparse route: nothing in this stretch, go on next tick
        return;
      }
      if (ec || batch.empty()) {
        c.replay_active = false;
        if (ec) spdlog::error("delivery: replay read for {} failed: {}", c.opt.name, ec.message());
        return;
      }
    } else {
      return;
    }
    for (auto& r : batch) {
      if (!dead && r.seq > c.replay_end) {
        c.replay_active = false;
        spdlog::info("delivery: replay for {} done at seq {}", c.opt.name, c.replay_end);
        return;
      }
      if (!publish_event(c, r, true, dead)) return;
      ++c.counters.replayed;
      c.tokens -= 1;
      if (!dead) c.replay_pos = r.seq;
    }
    if (!dead && c.replay_pos >= c.replay_end) {
      c.replay_active = false;
      spdlog::info("delivery: replay for {} done at seq {}", c.opt.name, c.replay_end);
    }
  }
}

void DeliveryImpl::handle_ack(const std::shared_ptr<ConsumerState>& c, const std::string& topic,
                              std::string_view payload) {
  if (!c->ready) return;  // registering: nothing of this run was sent to it yet
  auto parsed = parse_ack(payload);
  if (!parsed.value) {
    reject(c.get(), &DeliveryStats::rejected_malformed, topic, parsed.error);
    return;
  }
  if (auto* nack = std::get_if<NackMsg>(&*parsed.value)) {
    if (nack->seq > c->sent_upto || nack->seq <= c->acked) {
      reject(c.get(), &DeliveryStats::rejected_ack_beyond, topic,
             "nack " + std::to_string(nack->seq) + " is not an unacked event of " + c->opt.name);
      return;
    }
    dead_letter(c, nack->seq, nack->reason);
    return;
  }
  auto upto = std::get<AckMsg>(*parsed.value).upto;
  if (upto > c->sent_upto) {
    reject(c.get(), &DeliveryStats::rejected_ack_beyond, topic,
           "ack " + std::to_string(upto) + " beyond the highest sent seq " +
               std::to_string(c->sent_upto));
    return;
  }
  if (upto < c->acked) {
    reject(c.get(), &DeliveryStats::rejected_ack_backwards, topic,
           "ack " + std::to_string(upto) + " behind the acked cursor " + std::to_string(c->acked));
    return;
  }
  if (upto == c->acked) return;  // a repeated ack (e.g. after a resend): nothing to do
  if (c->silent_timeouts > 1) {
    spdlog::info("delivery: consumer {} acks again (after {} ack timeouts in a row)", c->opt.name,
                 c->silent_timeouts);
  }
  c->silent_timeouts = 0;
  c->acked = upto;
  ++c->counters.acks;
  while (!c->inflight.empty() && c->inflight.front().seq <= upto) c->inflight.pop_front();
  if (c->pos < upto) c->pos = upto;  // acked beyond what was re-sent so far (after a rewind)
  commit_ack(c);
  pump(*c);
}

void DeliveryImpl::commit_ack(const std::shared_ptr<ConsumerState>& c) {
  if (c->ack_committing || c->resetting || c->acked <= c->durable_acked) return;
  c->ack_committing = true;
  std::uint64_t target = c->acked;
  std::weak_ptr<DeliveryImpl> weak = weak_from_this();
  std::weak_ptr<ConsumerState> wc = c;
  auto ex = ex_;
  // The callback runs on the store's writer thread: only post back to the loop from there.
  store_.ack_async(c->opt.name, target, [weak, wc, target, ex](std::error_code ec) {
    boost::asio::post(ex, [weak, wc, target, ec] {
      auto self = weak.lock();
      auto cs = wc.lock();
      if (!self || !cs) return;
      cs->ack_committing = false;
      if (ec) {
        ++self->counters_.ack_commit_errors;
        spdlog::error("delivery: committing ack {} for {} failed: {}", target, cs->opt.name,
                      ec.message());
      } else {
        cs->durable_acked = std::max(cs->durable_acked, target);
        FG_CHECK(cs->durable_acked <= cs->acked, "a durable ack beyond the accepted one");
      }
      if (!self->stopped_) self->commit_ack(cs);
    });
  });
}

void DeliveryImpl::reset_consumer(const std::string& name, std::uint64_t to_seq,
                                  Delivery::ResetDone done) {
  auto c = find(name);
  if (!c || c->resetting) {
    done(c ? std::make_error_code(std::errc::operation_in_progress)
           : make_error_code(store::Errc::unknown_consumer),
         0);
    return;
  }
  // No ack commit may start until the store has moved the cursor: one queued behind the reset
  // would carry the old position forward again.
  c->resetting = true;
  std::weak_ptr<DeliveryImpl> weak = weak_from_this();
  std::weak_ptr<ConsumerState> wc = c;
  auto ex = ex_;
  store_.reset_consumer_async(name, to_seq, [weak, wc, ex, to_seq, done](std::error_code ec,
                                                                          std::uint64_t previous) {
    boost::asio::post(ex, [weak, wc, to_seq, done, ec, previous] {
      auto self = weak.lock();
      auto cs = wc.lock();
      if (cs) cs->resetting = false;
      if (!self || !cs) {
        done(make_error_code(store::Errc::closed), previous);
        return;
      }
      if (ec) {
        self->commit_ack(cs);  // acks that arrived meanwhile
      } else {
        spdlog::warn("delivery: consumer {} reset from seq {} to {} by the operator",
                     cs->opt.name, previous, to_seq);
        cs->acked = cs->durable_acked = to_seq;
        cs->sent_upto = std::max(cs->sent_upto, to_seq);
        cs->silent_timeouts = 0;
        self->rewind(*cs);
        if (!self->stopped_) self->pump(*cs);
      }
      done(ec, previous);
    });
  });
}

void DeliveryImpl::dead_letter(const std::shared_ptr<ConsumerState>& c, std::uint64_t seq,
                               const std::string& reason) {
  std::weak_ptr<ConsumerState> wc = c;
  auto ex = ex_;
  store_.dead_letter_async(c->opt.name, seq, reason, [wc, ex, seq, reason](std::error_code ec) {
    boost::asio::post(ex, [wc, seq, reason, ec] {
      auto cs = wc.lock();
      if (!cs) return;
      if (ec) {
        spdlog::error("delivery: dead letter {} for {} failed: {}", seq, cs->opt.name,
                      ec.message());
        return;
      }
      ++cs->counters.nacks;
      spdlog::warn("delivery: consumer {} dead-lettered seq {}: {}", cs->opt.name, seq, reason);
    });
  });
}

void DeliveryImpl::redeliver_dead_letters(const std::shared_ptr<ConsumerState>& c) {
  std::weak_ptr<DeliveryImpl> weak = weak_from_this();
  std::weak_ptr<ConsumerState> wc = c;
  auto ex = ex_;
  store_.take_dead_letters_async(
      c->opt.name, [weak, wc, ex](std::error_code ec, std::vector<store::Record> rows) {
        boost::asio::post(ex, [weak, wc, ec, rows = std::move(rows)]() mutable {
          auto self = weak.lock();
          auto cs = wc.lock();
          if (!self || !cs) return;
          if (ec) {
            spdlog::error("delivery: taking the dead letters of {} failed: {}", cs->opt.name,
                          ec.message());
            return;
          }
          spdlog::info("delivery: redelivering {} dead letters to {}", rows.size(), cs->opt.name);
          for (auto& r : rows) cs->dead_queue.push_back(std::move(r));
          self->pump_replay(*cs);
        });
      });
}

void DeliveryImpl::check_ack_timeout(ConsumerState& c, SteadyTime now) {
  if (!c.ready || c.present == false || c.inflight.empty() ||
      now - c.inflight.front().sent < c.opt.ack_timeout) {
    return;
  }
  ++c.counters.resends;
  // A consumer that is gone (or not deployed yet) times out every ack_timeout: warn on the
  // first timeout, then once every kTimeoutsPerReminder in a row, until it acks again.
  constexpr std::uint64_t kTimeoutsPerReminder = 20;
  if (c.silent_timeouts++ % kTimeoutsPerReminder == 0) {
    spdlog::warn("delivery: consumer {} did not ack seq {} within {} ms; resending from {}{}",
                 c.opt.name, c.inflight.front().seq, c.opt.ack_timeout.count(), c.acked + 1,
                 c.silent_timeouts > 1
                     ? fmt::format(" ({} timeouts in a row; next reminder after {} more)",
                                   c.silent_timeouts, kTimeoutsPerReminder)
                     : std::string(" (repeats are logged at debug level until it acks)"));
  } else {
    spdlog::debug("delivery: consumer {} did not ack seq {}; resending from {}", c.opt.name,
                  c.inflight.front().seq, c.acked + 1);
  }
  rewind(c);
  pump(c);
}

void DeliveryImpl::handle_presence(const std::shared_ptr<ConsumerState>& c,
                                   std::string_view payload) {
  std::optional<bool> next;
  if (!payload.empty()) {
    auto state = parse_presence(payload);
    if (!state) {
      reject(c.get(), &DeliveryStats::rejected_malformed,
             opt_.topic_root + "/consumer/" + c->opt.name + "/status",
             "presence is not {\"state\":\"online\"|\"offline\"}");
      return;
    }
    next = *state;
  }
  if (next == c->present) return;
  const bool was_offline = c->present == false;
  c->present = next;
  if (next == false) {
    // What was in flight stays unacked in the store; nothing more goes out until it is back.
    spdlog::info("delivery: consumer {} is offline; its stream waits at seq {}", c->opt.name,
                 c->acked);
    rewind(*c);
    return;
  }
  if (!next && !was_offline) return;  // online -> cleared: it keeps being sent to
  spdlog::info("delivery: consumer {} is {}; sending from seq {}", c->opt.name,
               next ? "online" : "no longer announcing presence", c->acked + 1);
  c->silent_timeouts = 0;
  rewind(*c);
  pump(*c);
  pump_replay(*c);
}

void DeliveryImpl::handle_replay(const std::shared_ptr<ConsumerState>& c,
                                 const std::string& topic, std::string_view payload) {
  if (!c->ready) return;  // registering: the cursor is not known yet
  auto parsed = parse_replay(payload);
  if (!parsed.value) {
    reject(c.get(), &DeliveryStats::rejected_malformed, topic, parsed.error);
    return;
  }
  // Each accepted request may restart a replay of everything: at most a burst of 3, then one
  // every 2 s per consumer. The one being served is replaced, never stacked.
  constexpr double kReplayRequestBurst = 3;
  constexpr auto kReplayRequestEvery = std::chrono::milliseconds(2000);
  auto now = std::chrono::steady_clock::now();
  if (c->request_refill == SteadyTime{}) c->request_refill = now;
  c->request_tokens = std::min(
      kReplayRequestBurst,
      c->request_tokens + std::chrono::duration<double>(now - c->request_refill) /
                              std::chrono::duration<double>(kReplayRequestEvery));
  c->request_refill = now;
  if (c->request_tokens < 1) {
    reject(c.get(), &DeliveryStats::rejected_replay_rate, topic,
           "replay requests too frequent (at most one every 2 s)");
    return;
  }
  c->request_tokens -= 1;
  if (std::holds_alternative<RedeliverDead>(*parsed.value)) {
    redeliver_dead_letters(c);
    return;
  }
  auto st = store_.stats();
  std::uint64_t from = 0;
  bool evicted_before = false;  // rows the request asks for may have been evicted
  if (auto* f = std::get_if<ReplayFromSeq>(&*parsed.value)) {
    from = std::max<std::uint64_t>(f->from_seq, 1);
    if (from > st.last_seq + 1) {
      reject(c.get(), &DeliveryStats::rejected_replay_range, topic,
             "from_seq " + std::to_string(from) + " is beyond the newest seq " +
                 std::to_string(st.last_seq));
      return;
    }
    evicted_before = from < st.first_seq;
  } else {
    auto since = std::get<ReplaySince>(*parsed.value).since_ms;
    if (since > now_ms() + kFutureSlackMs) {
      reject(c.get(), &DeliveryStats::rejected_replay_range, topic, "since is in the future");
      return;
    }
    auto s = store_.seq_at_time(since);
    if (!s) return;  // nothing that new: an empty replay
    from = *s;
    evicted_before = from <= st.first_seq;
  }
  if (st.evicted_total > 0 && evicted_before) {
    reject(c.get(), &DeliveryStats::rejected_replay_range, topic,
           "replay start is past retention (oldest kept seq " + std::to_string(st.first_seq) +
               ")");
    return;
  }
  if (from > c->sent_upto) return;  // live delivery covers it
  c->replay_active = true;
  c->replay_pos = from - 1;
  c->replay_end = c->sent_upto;
  spdlog::info("delivery: replay for {} of seq {}..{} at {} ev/s", c->opt.name, from,
               c->replay_end, c->opt.replay_rate);
  pump_replay(*c);
}

}  // namespace floorgate::gateway
