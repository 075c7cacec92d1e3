// Per-consumer streams: windowed live delivery from the store, acks (committed through
// Store::ack_async, results posted back to the loop), ack-timeout resend, replay, dead letters.
// The stream owns its positions (pos, sent_upto, acked); the store keeps the durable cursor
// and serves reads by seq range. Every store call that writes is *_async, answered on the
// loop: the loop never waits for the store's writer thread.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <limits>

#include "floorgate/core/check.hpp"
#include "floorgate/gateway/mqtt_codec.hpp"
#include "mqtt/delivery_impl.hpp"
#include "floorgate/core/loop_site.hpp"

namespace floorgate::gateway {
namespace {

constexpr std::size_t kReadBatch = 256;
// A lane's read limit when nothing beyond it belongs to another lane.
constexpr auto kNoLimit = std::numeric_limits<std::uint64_t>::max();
// A "since" more than this far ahead of the gateway clock is rejected as "in the future".
constexpr std::int64_t kFutureSlackMs = 60'000;

// Ack timeouts in a row at the configured ack_timeout before the wait doubles, and the most
// ack_timeouts one wait may be (check_ack_timeout).
constexpr std::uint64_t kSteadyResends = 3;
constexpr std::int64_t kMaxBackoff = 8;
// A failed ack commit is tried again after 100 ms, then 200, ... up to 5 s.
constexpr std::chrono::milliseconds kAckRetryFirst{100};
constexpr std::chrono::milliseconds kAckRetryMax{5000};
// How many ack_timeouts to wait after `silent` timeouts in a row: 1, 1, 1, 2, 4, 8, 8, ...
std::int64_t resend_backoff(std::uint64_t silent) {
  if (silent < kSteadyResends) return 1;
  const auto doublings = std::min<std::uint64_t>(silent - kSteadyResends + 1, 62);
  return std::min(kMaxBackoff, std::int64_t{1} << doublings);
}

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
  cursors_.register_consumer_async(
      {o.name, o.route, o.required},
      [weak, wc, ex, first, generation](std::error_code ec, std::uint64_t acked) {
        boost::asio::post(ex, [weak, wc, first, generation, ec, acked] {
          core::LoopSite site("delivery.registered");
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
  c.main.inflight.clear();
  // The stream owns its position: the next read starts after the cursor (the last event the
  // consumer acked, so it is also the next event's "after").
  c.main.pos = c.main.after = c.acked;
  c.live.reset();  // a live lane starts again at the next pump when still far behind
}

const DeliveryImpl::Encoded& DeliveryImpl::encoded(const store::Record& r,
                                                   const StreamMarks& marks) {
  Encoded& e = encoded_[r.seq % encoded_.size()];
  if (e.valid && e.seq == r.seq && e.epoch == r.epoch && e.hash == r.hash && e.marks == marks) {
    return e;
  }
  e.valid = true;
  e.seq = r.seq;
  e.epoch = r.epoch;
  e.hash = r.hash;
  e.marks = marks;
  encode_event(e.payload, r, marks);
  // Assigned in place: the strings keep their buffers from one event to the next.
  e.props.resize(5);
  e.props[0].first = "schema";
  e.props[0].second = kEventSchema;
  e.props[1].first = "seq";
  e.props[1].second = std::to_string(r.seq);
  e.props[2].first = "epoch";
  e.props[2].second = std::to_string(r.epoch);
  e.props[3].first = "egm";
  e.props[3].second = r.egm;
  e.props[4].first = "egm_seq";
  e.props[4].second = std::to_string(r.egm_seq);
  if (marks.replay) e.props.emplace_back("replay", "true");
  return e;
}

int DeliveryImpl::publish_event(ConsumerState& c, const store::Record& r,
                                const StreamMarks& marks) {
  const bool replay = marks.replay;
  const Encoded& e = encoded(r, marks);
  int mid =
      client_->publish(event_topic(opt_.topic_root, c.opt.name, r), e.payload, 1, false, &e.props);
  if (mid < 0) return mid;
  if (replay) {
    replay_mids_[mid] = find(c.opt.name);
    ++c.replay_outstanding;
  }
  return mid;
}

namespace {
// A token bucket: one token more per `every` since the last refill, at most `burst`.
void refill(double& tokens, SteadyTime& last, SteadyTime now, double burst,
            std::chrono::milliseconds every) {
  if (last == SteadyTime{}) last = now;
  tokens = std::min(burst, tokens + std::chrono::duration<double>(now - last) /
                                        std::chrono::duration<double>(every));
  last = now;
}
}  // namespace

void DeliveryImpl::pump(ConsumerState& c) {
  if (!c.ready || c.present == false) return;
  if (c.resume_at != SteadyTime{}) {  // a flapping presence: held (the tick resumes it)
    if (steady_now() < c.resume_at) return;
    c.resume_at = {};
  }
  // live_first: more than a window behind the newest event, the events from here on go out at
  // once on a live lane while the backlog (up to `from`) drains beside them. Behind is counted
  // from where the stream has read to (the cursor after a rewind): rows a route skips are
  // not backlog, and a cursor waiting at the last event of a sparse route is not behind.
  if (c.opt.live_first && !c.live && appended_hint_ > c.main.pos + c.opt.window) {
    auto& l = c.live.emplace();
    l.from = l.pos = l.after = l.acked = appended_hint_;
    spdlog::info("delivery: consumer {} is {} events behind; events after seq {} go out live "
                 "while its backlog drains beside them",
                 c.opt.name, appended_hint_ - c.acked, l.from);
  }
  if (c.live && !pump_lane(c, *c.live, kNoLimit, c.live->from, c.opt.window)) return;
  // Beside a live lane the backlog keeps a quarter of the window in flight: a live event then
  // never waits behind more than that in the broker's and the consumer's queues.
  const std::size_t backlog_window = c.live ? std::max<std::size_t>(1, c.opt.window / 4) : c.opt.window;
  if (!pump_lane(c, c.main, c.live ? c.live->from : kNoLimit, std::nullopt, backlog_window)) return;
  // The backlog lane has published and had acked everything up to `from`: one lane again.
  if (c.live && c.main.pos >= c.live->from && c.main.inflight.empty()) merge_live_lane(c);
}

bool DeliveryImpl::pump_lane(ConsumerState& c, ConsumerState::Lane& lane, std::uint64_t limit,
                             std::optional<std::uint64_t> live_from, std::size_t window) {
  while (!lane.reading && client_->connected() && lane.inflight.size() < window &&
         lane.pos < limit) {
    std::size_t n = std::min(kReadBatch, window - lane.inflight.size());
    std::error_code ec;
    std::uint64_t covered = lane.pos;
    auto batch = cursors_.read_recent(c.opt.name, lane.pos, n, ec, &covered);
    if (!batch) {
      read_lane_async(c, lane, n);  // on disk only: the store's backlog reader answers later
      return true;
    }
    switch (take_batch(c, lane, *batch, ec, covered, n, limit, live_from)) {
      case LaneStep::more: break;
      case LaneStep::idle: return true;
      case LaneStep::stop: return false;
    }
  }
  return true;
}

DeliveryImpl::LaneStep DeliveryImpl::take_batch(ConsumerState& c, ConsumerState::Lane& lane,
                                                const std::vector<store::Record>& batch,
                                                std::error_code ec, std::uint64_t covered,
                                                std::size_t n, std::uint64_t limit,
                                                std::optional<std::uint64_t> live_from) {
  if (ec) {
    spdlog::error("delivery: reading for consumer {} failed: {}", c.opt.name, ec.message());
    return LaneStep::stop;
  }
  const auto now = steady_now();
  for (const auto& r : batch) {
    if (r.seq > limit) {
      lane.pos = limit;  // the rest belongs to the live lane
      return LaneStep::idle;
    }
    if (publish_event(c, r, {.after = lane.after, .live_from = live_from}) < 0) {
      rewind(c);  // the link just went down; resend from the cursor after reconnecting
      return LaneStep::stop;
    }
    FG_CHECK(r.seq > lane.pos, "the store returned a row at or before the read position");
    lane.inflight.push_back({r.seq, now});
    lane.pos = lane.after = r.seq;
    c.sent_upto = std::max(c.sent_upto, r.seq);
    ++c.counters.published;
  }
  // Every matching row up to `covered` was returned; a sparse route may have scanned its
  // budget and found fewer (or none). A short batch is the end for now: go on from there at
  // the next notify or tick, so one call stays bounded and no empty read follows.
  lane.pos = std::max(lane.pos, std::min(covered, limit));
  return batch.size() < n ? LaneStep::idle : LaneStep::more;
}

void DeliveryImpl::read_async(ConsumerState& c, std::uint64_t after, std::size_t n,
                              ReadAnswer then) {
  std::weak_ptr<DeliveryImpl> weak = weak_from_this();
  std::weak_ptr<ConsumerState> wc = find(c.opt.name);
  auto ex = ex_;
  // The answer comes on the store's backlog reader thread: only post back to the loop there.
  cursors_.read_after_async(
      c.opt.name, after, n,
      [weak, wc, ex, then = std::move(then)](std::error_code ec, std::vector<store::Record> rows,
                                             std::uint64_t covered) {
        boost::asio::post(ex, [weak, wc, then, ec, rows = std::move(rows), covered] {
          core::LoopSite site("delivery.backlog_rows");
          auto self = weak.lock();
          auto cs = wc.lock();
          if (!self || !cs || self->stopped_) return;
          then(*self, *cs, ec, rows, covered);
        });
      });
}

void DeliveryImpl::read_lane_async(ConsumerState& c, ConsumerState::Lane& lane, std::size_t n) {
  const bool live = c.live && &lane == &*c.live;
  const std::uint64_t id = lane.reading = ++read_ids_;
  const std::uint64_t after = lane.pos;
  read_async(c, after, n,
             [live, id, after, n](DeliveryImpl& self, ConsumerState& cs, std::error_code ec,
                                  const std::vector<store::Record>& rows, std::uint64_t covered) {
               self.on_lane_read(cs, live, id, after, n, ec, rows, covered);
             });
}

void DeliveryImpl::on_lane_read(ConsumerState& c, bool live, std::uint64_t id,
                                std::uint64_t after, std::size_t n, std::error_code ec,
                                const std::vector<store::Record>& rows, std::uint64_t covered) {
  ConsumerState::Lane* lane = live ? (c.live ? &*c.live : nullptr) : &c.main;
  if (!lane || lane->reading != id) return;  // its lane was merged or replaced meanwhile
  lane->reading = 0;
  // A rewind, a reset or an ack that moved the lane meanwhile makes the answer stale: read
  // again from where the lane is now.
  if (lane->pos == after && c.ready && c.present != false && client_ &&
      client_->connected()) {
    const std::uint64_t limit = live || !c.live ? kNoLimit : c.live->from;
    std::optional<std::uint64_t> live_from;
    if (live) live_from = c.live->from;
    if (take_batch(c, *lane, rows, ec, covered, n, limit, live_from) == LaneStep::stop) return;
  }
  pump(c);
}

void DeliveryImpl::merge_live_lane(ConsumerState& c) {
  auto& l = *c.live;
  // Only what the consumer acked: the lane starts with acked == from, and the event at
  // `from` may be one its route never selected (never sent: the store refuses an ack beyond
  // what it sent, and a resend would carry an `after` the consumer does not have). Until a
  // live ack, the cursor waits at the last backlog event acked.
  if (l.acked > l.from) {
    c.nacked.erase(c.nacked.upper_bound(c.acked), c.nacked.upper_bound(l.acked));
    c.acked = std::max(c.acked, l.acked);
  }
  c.main.pos = std::max(c.main.pos, l.pos);
  // The next event's "after" is the last one published to the consumer: the live lane's
  // last, if it published any; otherwise the backlog's (its scan past `from` found none).
  if (l.after > l.from) c.main.after = std::max(c.main.after, l.after);
  c.main.inflight = std::move(l.inflight);
  c.live.reset();
  spdlog::info("delivery: consumer {} caught up with its backlog; one ordered stream from seq {}",
               c.opt.name, c.acked);
  commit_ack(find(c.opt.name));
}

void DeliveryImpl::pump_replay(ConsumerState& c) {
  if (!c.ready || c.present == false) return;
  while (client_->connected() && c.tokens >= 1 && c.replay_outstanding < c.opt.window) {
    if (!c.dead_queue.empty()) {
      const int mid = publish_event(c, c.dead_queue.front(), {.replay = true, .dead_letter = true});
      if (mid < 0) return;  // stays first in the queue
      store::Record r = std::move(c.dead_queue.front());
      c.dead_queue.pop_front();
      c.redelivered.insert(r.seq);
      c.nacked.erase(r.seq);  // a nack of this copy is recorded again
      dead_mids_[mid] = {find(c.opt.name), std::move(r)};
      ++c.counters.replayed;
      c.tokens -= 1;
      continue;
    }
    if (!c.replay_active || c.replay_reading) return;
    std::size_t n = std::min<std::size_t>({kReadBatch, static_cast<std::size_t>(c.tokens),
                                           c.opt.window - c.replay_outstanding});
    std::error_code ec;
    std::uint64_t covered = c.replay_pos;
    auto batch = cursors_.read_recent(c.opt.name, c.replay_pos, n, ec, &covered);
    if (!batch) {
      read_replay_async(c, n);  // a replay reads old rows: the store's backlog reader answers
      return;
    }
    if (!take_replay_batch(c, *batch, ec, covered)) return;
  }
}

bool DeliveryImpl::take_replay_batch(ConsumerState& c, const std::vector<store::Record>& batch,
                                     std::error_code ec, std::uint64_t covered) {
  if (!ec && batch.empty() && covered > c.replay_pos && covered < c.replay_end) {
    c.replay_pos = covered;  // a sparse route: nothing in this stretch, go on next tick
    return false;
  }
  if (ec || batch.empty()) {
    c.replay_active = false;
    if (ec) spdlog::error("delivery: replay read for {} failed: {}", c.opt.name, ec.message());
    return false;
  }
  for (const auto& r : batch) {
    if (r.seq > c.replay_end) {
      c.replay_active = false;
      spdlog::info("delivery: replay for {} done at seq {}", c.opt.name, c.replay_end);
      return false;
    }
    if (publish_event(c, r, {.replay = true, .after = c.replay_pos}) < 0) return false;
    ++c.counters.replayed;
    c.tokens -= 1;
    c.replay_pos = r.seq;
  }
  if (c.replay_pos >= c.replay_end) {
    c.replay_active = false;
    spdlog::info("delivery: replay for {} done at seq {}", c.opt.name, c.replay_end);
    return false;
  }
  return true;
}

void DeliveryImpl::read_replay_async(ConsumerState& c, std::size_t n) {
  const std::uint64_t id = c.replay_reading = ++read_ids_;
  const std::uint64_t after = c.replay_pos;
  read_async(c, after, n,
             [id, after](DeliveryImpl& self, ConsumerState& cs, std::error_code ec,
                         const std::vector<store::Record>& rows, std::uint64_t covered) {
               if (cs.replay_reading != id) return;
               cs.replay_reading = 0;
               // A new replay request or a finished one meanwhile makes the answer stale.
               if (!cs.replay_active || cs.replay_pos != after || !cs.ready ||
                   cs.present == false || !self.client_ || !self.client_->connected())
                 return self.pump_replay(cs);
               if (self.take_replay_batch(cs, rows, ec, covered)) self.pump_replay(cs);
             });
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
    // A redelivered dead letter may be refused again, below the cursor: it goes back on the
    // list (its removal, if not sent to the store yet, is dropped).
    const bool redelivered = c->redelivered.count(nack->seq) > 0;
    if (redelivered) {
      std::erase(c->dead_to_clear, nack->seq);
      if (c->dead_clearing) c->renacked.insert(nack->seq);  // a failed clear must not retry it
    }
    if (!redelivered && (nack->seq > c->sent_upto || nack->seq <= c->acked)) {
      reject(c.get(), &DeliveryStats::rejected_ack_beyond, topic,
             "nack " + std::to_string(nack->seq) + " is not an unacked event of " + c->opt.name);
      return;
    }
    if (!c->nacked.insert(nack->seq).second) return;  // recorded already
    dead_letter(c, nack->seq, nack->reason);
    return;
  }
  const auto& ack = std::get<AckMsg>(*parsed.value);
  auto upto = ack.upto;
  bool live_progress = false;
  if (ack.live && c->live && ack.live->from == c->live->from) {
    auto& l = *c->live;
    if (ack.live->upto > l.after) {
      reject(c.get(), &DeliveryStats::rejected_ack_beyond, topic,
             "live_upto " + std::to_string(ack.live->upto) + " beyond the highest live seq " +
                 std::to_string(l.after));
      return;
    }
    if (ack.live->upto > l.acked) {
      l.acked = ack.live->upto;
      l.progress = steady_now();
      while (!l.inflight.empty() && l.inflight.front().seq <= l.acked) l.inflight.pop_front();
      live_progress = true;
    }
  }
  // A live part for a lane that is gone (rewound or merged) says nothing: those events come
  // again on the current lanes, or the merge already counted them.
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
  if (upto == c->acked && !live_progress) return;  // a repeated ack: nothing to do
  if (c->silent_timeouts > 1) {
    spdlog::info("delivery: consumer {} acks again (after {} ack timeouts in a row)", c->opt.name,
                 c->silent_timeouts);
  }
  c->silent_timeouts = 0;
  auto& main = c->main;
  if (upto > c->acked) main.progress = steady_now();
  c->nacked.erase(c->nacked.upper_bound(c->acked), c->nacked.upper_bound(upto));
  c->acked = upto;
  ++c->counters.acks;
  while (!main.inflight.empty() && main.inflight.front().seq <= upto) main.inflight.pop_front();
  // Acked beyond what was re-sent so far (after a rewind): go on from there.
  const std::uint64_t limit = c->live ? c->live->from : upto;
  if (main.pos < std::min(upto, limit)) main.pos = main.after = std::min(upto, limit);
  if (c->live && upto > c->live->from) {  // the consumer's cumulative ack covers live events
    auto& l = *c->live;
    if (std::min(upto, l.after) > l.acked) l.progress = steady_now();
    l.acked = std::max(l.acked, std::min(upto, l.after));
    while (!l.inflight.empty() && l.inflight.front().seq <= l.acked) l.inflight.pop_front();
  }
  commit_ack(c);
  pump(*c);
}

void DeliveryImpl::commit_ack(const std::shared_ptr<ConsumerState>& c) {
  if (c->ack_committing || c->resetting || c->acked <= c->durable_acked) return;
  if (c->ack_retry_delay.count() > 0 && steady_now() < c->ack_retry_at) return;  // tick retries
  c->ack_committing = true;
  std::uint64_t target = c->acked;
  std::weak_ptr<DeliveryImpl> weak = weak_from_this();
  std::weak_ptr<ConsumerState> wc = c;
  auto ex = ex_;
  // The callback runs on the store's writer thread: only post back to the loop from there.
  cursors_.ack_async(c->opt.name, target, [weak, wc, target, ex](std::error_code ec) {
    boost::asio::post(ex, [weak, wc, target, ec] {
      core::LoopSite site("delivery.acked");
      auto self = weak.lock();
      auto cs = wc.lock();
      if (!self || !cs) return;
      cs->ack_committing = false;
      if (ec) {
        ++self->counters_.ack_commit_errors;
        cs->ack_retry_delay = std::min(std::max(2 * cs->ack_retry_delay, kAckRetryFirst),
                                       kAckRetryMax);
        cs->ack_retry_at = self->steady_now() + cs->ack_retry_delay;
        spdlog::error("delivery: committing ack {} for {} failed: {}; trying again in {} ms",
                      target, cs->opt.name, ec.message(), cs->ack_retry_delay.count());
      } else {
        cs->ack_retry_delay = std::chrono::milliseconds(0);
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
  cursors_.reset_consumer_async(name, to_seq, [weak, wc, ex, to_seq, done](std::error_code ec,
                                                                          std::uint64_t previous) {
    boost::asio::post(ex, [weak, wc, to_seq, done, ec, previous] {
      core::LoopSite site("delivery.rewound");
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
        cs->nacked.clear();
        cs->redelivered.clear();
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
  cursors_.dead_letter_async(c->opt.name, seq, reason, [wc, ex, seq, reason](std::error_code ec) {
    boost::asio::post(ex, [wc, seq, reason, ec] {
      auto cs = wc.lock();
      if (!cs) return;
      if (ec) {
        spdlog::error("delivery: dead letter {} for {} failed: {}", seq, cs->opt.name,
                      ec.message());
        cs->nacked.erase(seq);  // the consumer's next nack of it is written
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
  cursors_.dead_letter_events_async(
      c->opt.name, [weak, wc, ex](std::error_code ec, std::vector<store::Record> rows) {
        boost::asio::post(ex, [weak, wc, ec, rows = std::move(rows)]() mutable {
          core::LoopSite site("delivery.replay_rows");
          auto self = weak.lock();
          auto cs = wc.lock();
          if (!self || !cs) return;
          if (ec) {
            spdlog::error("delivery: taking the dead letters of {} failed: {}", cs->opt.name,
                          ec.message());
            return;
          }
          std::size_t added = 0;
          for (auto& r : rows) {
            if (!cs->dead_known.insert(r.seq).second) continue;  // on its way already
            cs->dead_queue.push_back(std::move(r));
            ++added;
          }
          spdlog::info("delivery: redelivering {} dead letters to {}", added, cs->opt.name);
          self->pump_replay(*cs);
        });
      });
}

// Removes PUBACKed dead letters from the store's list, one batch at a time; a failure keeps
// them for a try a second later (from the tick).
void DeliveryImpl::clear_dead_letters(const std::shared_ptr<ConsumerState>& c) {
  if (c->dead_clearing || c->dead_to_clear.empty() || steady_now() < c->dead_clear_retry_at) return;
  c->dead_clearing = true;
  std::vector<std::uint64_t> seqs = std::move(c->dead_to_clear);
  c->dead_to_clear.clear();
  std::weak_ptr<DeliveryImpl> weak = weak_from_this();
  std::weak_ptr<ConsumerState> wc = c;
  auto ex = ex_;
  cursors_.clear_dead_letters_async(
      c->opt.name, seqs, [weak, wc, ex, seqs](std::error_code ec) {
        boost::asio::post(ex, [weak, wc, seqs, ec] {
          core::LoopSite site("delivery.dead_cleared");
          auto self = weak.lock();
          auto cs = wc.lock();
          if (!self || !cs) return;
          cs->dead_clearing = false;
          auto renacked = std::move(cs->renacked);
          cs->renacked.clear();
          if (ec) {
            spdlog::error("delivery: removing {} redelivered dead letters of {} from the list "
                          "failed: {}; trying again", seqs.size(), cs->opt.name, ec.message());
            for (std::uint64_t seq : seqs) {
              if (!renacked.count(seq)) cs->dead_to_clear.push_back(seq);  // not listed anew
            }
            cs->dead_clear_retry_at = self->steady_now() + std::chrono::seconds(1);
            return;
          }
          if (!self->stopped_) self->clear_dead_letters(cs);
        });
      });
}

void DeliveryImpl::check_ack_timeout(ConsumerState& c, SteadyTime now) {
  if (!c.ready || c.present == false) return;
  // A lane is late when its oldest unacked event was sent ack_timeout ago and no ack has moved
  // the lane for as long (the config's "seconds without an ack"): a consumer that acks, however
  // slowly, is working through what it has. Counted from the oldest send alone, a consumer
  // slower than one window per ack_timeout was sent the window again behind the copy still
  // queued for it, then again, and fell further behind with every copy (the fleet run on a
  // sanitizer build: 11.8 copies per event, never drained). Per lane, so that live acks do not
  // hide a backlog lane that stopped.
  //
  // A consumer that stays silent is sent its window less often: the first kSteadyResends in a
  // row every ack_timeout (a consumer that restarts picks its stream up as before), then every
  // 2, 4 and at most kMaxBackoff ack_timeouts, until an ack (or presence, or an operator reset)
  // starts the count again. Gone for good without presence, it was sent a window every
  // ack_timeout by every gateway: copies a broker queued until its memory alarm stopped every
  // publisher (docs/scale.md).
  const auto wait = c.opt.ack_timeout * resend_backoff(c.silent_timeouts);
  auto late = [&](const ConsumerState::Lane& lane) -> const ConsumerState::Inflight* {
    if (lane.inflight.empty()) return nullptr;
    const auto& oldest = lane.inflight.front();
    return now - std::max(oldest.sent, lane.progress) >= wait ? &oldest : nullptr;
  };
  const ConsumerState::Inflight* overdue = late(c.main);
  if (!overdue && c.live) overdue = late(*c.live);
  if (!overdue) return;
  const std::uint64_t late_seq = overdue->seq;
  ++c.counters.resends;
  // A consumer that is gone (or not deployed yet) keeps timing out: warn on the first timeout,
  // then once every kTimeoutsPerReminder in a row, until it acks again.
  constexpr std::uint64_t kTimeoutsPerReminder = 20;
  if (c.silent_timeouts++ % kTimeoutsPerReminder == 0) {
    spdlog::warn("delivery: consumer {} did not ack seq {} within {} ms; resending from {}{}",
                 c.opt.name, late_seq, wait.count(), c.acked + 1,
                 c.silent_timeouts > 1
                     ? fmt::format(" ({} timeouts in a row, the next after {} ms without an ack; "
                                   "next reminder after {} more)",
                                   c.silent_timeouts,
                                   (c.opt.ack_timeout * resend_backoff(c.silent_timeouts)).count(),
                                   kTimeoutsPerReminder)
                     : std::string(" (repeats are logged at debug level until it acks)"));
  } else {
    spdlog::debug("delivery: consumer {} did not ack seq {}; resending from {}", c.opt.name,
                  late_seq, c.acked + 1);
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
  c->silent_timeouts = 0;
  rewind(*c);
  // A burst of kPresenceBurst returns, then one every kPresenceEvery; past that the stream is
  // held, longer the more it has flapped (at most kPresenceBurst periods). Replays and
  // dead-letter redelivery are not held.
  constexpr double kPresenceBurst = 3;
  constexpr auto kPresenceEvery = std::chrono::milliseconds(2000);
  const auto now = steady_now();
  refill(c->presence_tokens, c->presence_refill, now, kPresenceBurst, kPresenceEvery);
  c->presence_tokens = std::max(-kPresenceBurst, c->presence_tokens - 1);
  if (c->presence_tokens < 0) {
    // A hold under way is not extended: a consumer that keeps flapping is still sent its
    // window once per hold, never starved.
    if (c->resume_at != SteadyTime{} && now < c->resume_at) return;
    ++c->counters.presence_holds;
    const auto hold = std::chrono::duration_cast<SteadyTime::duration>(
        -c->presence_tokens * std::chrono::duration<double>(kPresenceEvery));
    c->resume_at = now + hold;
    spdlog::warn("delivery: consumer {} changes its presence too often; its stream resumes from "
                 "seq {} in {} ms",
                 c->opt.name, c->acked + 1,
                 std::chrono::duration_cast<std::chrono::milliseconds>(hold).count());
    return;
  }
  spdlog::info("delivery: consumer {} is {}; sending from seq {}", c->opt.name,
               next ? "online" : "no longer announcing presence", c->acked + 1);
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
  auto now = steady_now();
  refill(c->request_tokens, c->request_refill, now, kReplayRequestBurst, kReplayRequestEvery);
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
  auto st = log_.stats();
  if (auto* f = std::get_if<ReplayFromSeq>(&*parsed.value)) {
    const std::uint64_t from = std::max<std::uint64_t>(f->from_seq, 1);
    if (from > st.last_seq + 1) {
      reject(c.get(), &DeliveryStats::rejected_replay_range, topic,
             "from_seq " + std::to_string(from) + " is beyond the newest seq " +
                 std::to_string(st.last_seq));
      return;
    }
    start_replay(c, topic, from, st.evicted_total > 0 && from < st.first_seq, st.first_seq);
    return;
  }
  auto since = std::get<ReplaySince>(*parsed.value).since_ms;
  if (since > now_ms() + kFutureSlackMs) {
    reject(c.get(), &DeliveryStats::rejected_replay_range, topic, "since is in the future");
    return;
  }
  // The seq stamped at that time is a search of the log: on the store's query thread.
  std::weak_ptr<DeliveryImpl> weak = weak_from_this();
  std::weak_ptr<ConsumerState> wc = c;
  log_.seq_at_time_async(since, [weak, wc, ex = ex_, topic](
                                    core::Result<std::optional<std::uint64_t>> found) {
    boost::asio::post(ex, [weak, wc, topic, found = std::move(found)] {
      core::LoopSite site("delivery.lookup_rows");
      auto self = weak.lock();
      auto cs = wc.lock();
      if (!self || !cs || !cs->ready) return;
      if (!found) {
        self->reject(cs.get(), &DeliveryStats::rejected_replay_range, topic,
                     "the store could not find that time: " + found.error().message());
        return;
      }
      if (!*found) return;  // nothing that new: an empty replay
      const std::uint64_t from = **found;
      const auto kept = self->log_.counters();
      self->start_replay(cs, topic, from, kept.evicted_total > 0 && from <= kept.first_seq,
                         kept.first_seq);
    });
  });
}

void DeliveryImpl::start_replay(const std::shared_ptr<ConsumerState>& c, const std::string& topic,
                                std::uint64_t from, bool past_retention, std::uint64_t first_kept) {
  if (past_retention) {
    reject(c.get(), &DeliveryStats::rejected_replay_range, topic,
           "replay start is past retention (oldest kept seq " + std::to_string(first_kept) + ")");
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
