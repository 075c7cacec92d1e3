// Delivery lifecycle: broker link, retained status, health, inbound dispatch, live copy.
// The per-consumer stream logic is in consumer_stream.cpp.
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/json.hpp>
#include <random>

#include "floorgate/core/clock.hpp"
#include "floorgate/gateway/mqtt_codec.hpp"
#include "mqtt/delivery_impl.hpp"
#include "mqtt/mqtt_client.hpp"
#include "floorgate/core/loop_site.hpp"

namespace floorgate::gateway {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
constexpr auto kDeliveryTick = std::chrono::milliseconds(50);

std::string random_boot_id() {
  std::random_device rd;
  std::uint64_t a = (std::uint64_t(rd()) << 32) ^ rd(), b = (std::uint64_t(rd()) << 32) ^ rd();
  char buf[40];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(a),
                static_cast<unsigned long long>(b));
  return buf;
}

}  // namespace

DeliveryImpl::DeliveryImpl(asio::any_io_executor ex, store::Store& store, MqttOptions mqtt,
                           std::vector<ConsumerOptions> consumers, DeliveryDrive drive)
    : ex_(ex), log_(store), cursors_(store), opt_(std::move(mqtt)), boot_id_(random_boot_id()),
      clock_(drive.clock ? *drive.clock : core::system_clock()),
      make_transport_(std::move(drive.transport)), timers_(drive.timers),
      tick_timer_(ex), health_timer_(ex) {
  if (!make_transport_) {
    make_transport_ = [ex](const MqttOptions& o, MqttTransport::Handlers h) {
      return std::make_shared<MqttClient>(ex, o, std::move(h));
    };
  }
  if (opt_.client_id.empty()) opt_.client_id = "floorgate-" + boot_id_.substr(0, 12);
  for (auto& c : consumers) {
    auto s = std::make_shared<ConsumerState>();
    s->opt = std::move(c);
    consumers_.push_back(std::move(s));
  }
}

DeliveryImpl::~DeliveryImpl() {
  if (client_ && !stopped_) client_->stop({}, {}, {});
}

std::int64_t DeliveryImpl::now_ms() const {
  return opt_.now_ms ? opt_.now_ms() : clock_.unix_ms();
}

void DeliveryImpl::start() {
  if (started_) return;
  started_ = true;
  auto st = log_.stats();
  epoch_ = st.epoch;
  live_pos_ = st.last_seq;
  appended_hint_ = std::max(appended_hint_, st.last_seq);
  auto pending = std::move(consumers_);
  consumers_.clear();
  for (auto& c : pending) add_consumer(c->opt);
  std::weak_ptr<DeliveryImpl> weak = shared_from_this();
  MqttTransport::Handlers h;
  h.on_connected = [weak] { if (auto s = weak.lock()) s->on_connected(); };
  h.on_disconnected = [weak](const std::string& why) {
    if (auto s = weak.lock()) s->on_disconnected(why);
  };
  h.on_message = [weak](const std::string& topic, std::string_view payload) {
    if (auto s = weak.lock()) s->on_message(topic, payload);
  };
  h.on_puback = [weak](int mid, int reason) { if (auto s = weak.lock()) s->on_puback(mid, reason); };
  client_ = make_transport_(opt_, std::move(h));
  client_->set_will(opt_.topic_root + "/status", encode_status(false, epoch_, boot_id_, now_ms()));
  client_->set_subscriptions({opt_.topic_root + "/ack/#", opt_.topic_root + "/replay/#",
                              opt_.topic_root + "/consumer/+/status"});
  client_->start();
  last_tick_ = steady_now();
  next_health_ = last_tick_ + opt_.health_period;
  if (timers_) {
    on_tick();
    arm_health();
  } else {
    tick();
  }
}

void DeliveryImpl::poll() {
  if (!started_ || stopped_) return;
  tick();
  if (steady_now() >= next_health_) {
    next_health_ = steady_now() + opt_.health_period;
    publish_health();
  }
}

void DeliveryImpl::arm_health() {
  health_timer_.expires_after(opt_.health_period);
  health_timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    core::LoopSite site("delivery.health");
    if (auto s = weak.lock(); s && !ec && !s->stopped_) {
      s->arm_health();
      s->publish_health();
    }
  });
}

void DeliveryImpl::stop(std::function<void()> done) {
  if (stopped_ || !client_) {
    stopped_ = true;
    if (done) asio::post(ex_, std::move(done));
    return;
  }
  stopped_ = true;
  tick_timer_.cancel();
  health_timer_.cancel();
  refresh_snapshot();
  client_->stop(opt_.topic_root + "/status", encode_status(false, epoch_, boot_id_, now_ms()),
                std::move(done));
}

void DeliveryImpl::on_connected() {
  client_->publish(opt_.topic_root + "/status", encode_status(true, epoch_, boot_id_, now_ms()), 1,
                   true);
  for (auto& [egm, payload] : egm_status_) {
    client_->publish(opt_.topic_root + "/egm/" + topic_segment(egm) + "/status", payload, 1, true);
  }
  if (!chain_head_.empty()) client_->publish(opt_.topic_root + "/chain", chain_head_, 1, true);
  // Whatever the previous connection carried is gone with it: resend from the acked cursor.
  for (auto& c : consumers_) {
    rewind(*c);
    c->replay_outstanding = 0;
  }
  replay_mids_.clear();
  // Redelivered dead letters the old link never had PUBACKed go out again, first, in order.
  std::vector<std::pair<std::shared_ptr<ConsumerState>, store::Record>> unacked;
  for (auto& [mid, d] : dead_mids_) {
    if (auto c = d.first.lock()) unacked.emplace_back(std::move(c), std::move(d.second));
  }
  dead_mids_.clear();
  std::sort(unacked.begin(), unacked.end(),
            [](const auto& a, const auto& b) { return a.second.seq > b.second.seq; });
  for (auto& [c, r] : unacked) c->dead_queue.push_front(std::move(r));
  schedule_pump();
}

void DeliveryImpl::on_disconnected(const std::string& why) {
  spdlog::info("delivery: broker link down ({}); events stay in the store", why);
  refresh_snapshot();
}

void DeliveryImpl::on_puback(int mid, int reason) {
  if (auto d = dead_mids_.find(mid); d != dead_mids_.end()) {
    if (auto c = d->second.first.lock()) {
      c->dead_known.erase(d->second.second.seq);
      if (reason == 0x10 || reason >= 0x80) {
        // MQTT 5: no subscriber (0x10) or refused (0x80 and up): the broker did not pass it
        // on. It stays listed for the consumer's next request (no resend loop meanwhile).
        spdlog::warn("delivery: the broker did not pass dead letter {} on to {} (reason 0x{:02x}); "
                     "it stays listed", d->second.second.seq, c->opt.name, reason);
      } else {
        c->dead_to_clear.push_back(d->second.second.seq);
        clear_dead_letters(c);
      }
    }
    dead_mids_.erase(d);
  }
  auto it = replay_mids_.find(mid);
  if (it == replay_mids_.end()) return;
  if (auto c = it->second.lock(); c && c->replay_outstanding > 0) --c->replay_outstanding;
  replay_mids_.erase(it);
}

void DeliveryImpl::reject(ConsumerState* c, std::uint64_t DeliveryStats::*counter,
                          const std::string& topic, const std::string& why) {
  ++(counters_.*counter);
  ++counters_.rejected_inbound;
  if (c) ++c->counters.rejected;
  constexpr std::uint64_t kRejectLogBurst = 20;
  constexpr auto kRejectLogPeriod = std::chrono::seconds(10);
  auto now = steady_now();
  if (now - reject_log_window_ >= kRejectLogPeriod) {
    if (reject_log_suppressed_ > 0) {
      spdlog::warn("delivery: {} more rejected messages were not logged", reject_log_suppressed_);
    }
    reject_log_window_ = now;
    reject_log_lines_ = 0;
    reject_log_suppressed_ = 0;
  }
  if (++reject_log_lines_ > kRejectLogBurst) {
    ++reject_log_suppressed_;
    ++counters_.log_lines_suppressed;
    return;
  }
  // Topic and reason are peer-controlled: bounded in the log.
  constexpr std::size_t kMaxLogged = 200;
  spdlog::warn("delivery: rejected message on '{}': {}", topic.substr(0, kMaxLogged),
               why.substr(0, kMaxLogged));
}

void DeliveryImpl::on_message(const std::string& topic, std::string_view payload) {
  if (stopped_) return;
  auto t = classify_topic(opt_.topic_root, topic);
  if (!t) {
    reject(nullptr, &DeliveryStats::rejected_topic, topic, "not a topic the gateway owns");
    return;
  }
  auto c = find(t->consumer);
  if (!c && t->kind == InboundTopic::Kind::presence) {
    // A retained status of a consumer this gateway does not serve (another gateway's, or one
    // removed from the configuration): not ours to judge.
    spdlog::debug("delivery: presence of unknown consumer {} ignored", t->consumer);
    return;
  }
  if (!c) {
    reject(nullptr, &DeliveryStats::rejected_unknown_consumer, topic,
           "unknown consumer '" + t->consumer + "'");
    return;
  }
  if (payload.size() > opt_.max_inbound_bytes) {
    reject(c.get(), &DeliveryStats::rejected_oversize, topic,
           "message of " + std::to_string(payload.size()) + " bytes exceeds " +
               std::to_string(opt_.max_inbound_bytes));
    return;
  }
  if (t->kind == InboundTopic::Kind::ack) {
    handle_ack(c, topic, payload);
  } else if (t->kind == InboundTopic::Kind::presence) {
    handle_presence(c, payload);
  } else {
    handle_replay(c, topic, payload);
  }
}

std::shared_ptr<ConsumerState> DeliveryImpl::find(const std::string& name) {
  for (auto& c : consumers_) {
    if (c->opt.name == name) return c;
  }
  return nullptr;
}

void DeliveryImpl::notify_appended(std::uint64_t seq) {
  if (seq > appended_hint_) appended_hint_ = seq;
  schedule_pump();
}

void DeliveryImpl::schedule_pump() {
  if (pump_scheduled_ || stopped_) return;
  pump_scheduled_ = true;
  asio::post(ex_, [weak = weak_from_this()] {
    core::LoopSite site("delivery.pump");
    auto s = weak.lock();
    if (!s) return;
    s->pump_scheduled_ = false;
    if (s->stopped_ || !s->client_ || !s->client_->connected()) return;
    // One burst of durable events goes to every consumer: let the publishes share segments.
    s->client_->hold_writes(true);
    for (auto& c : s->consumers_) s->pump(*c);
    s->pump_live_copy();
    s->client_->hold_writes(false);
  });
}

void DeliveryImpl::pump_live_copy() {
  if (!opt_.live_copy) {
    live_pos_ = std::max(live_pos_, appended_hint_);
    return;
  }
  // The live copy reads only what the store still holds in memory: no database read on the
  // loop. It is QoS 0 and best effort, so rows that left memory before it got to them (a
  // broker outage) are skipped there, never on the consumers' cursors.
  while (live_pos_ < appended_hint_) {
    auto rows = log_.get_recent(live_pos_, 512);
    if (!rows) {
      spdlog::warn("delivery: live copy skips seq {}..{}: no longer in memory", live_pos_ + 1,
                   appended_hint_);
      counters_.live_skipped += appended_hint_ - live_pos_;
      live_pos_ = appended_hint_;
      break;
    }
    if (rows->empty()) break;  // the hint ran ahead of what is committed
    for (auto& r : *rows) {
      live_pos_ = r.seq;
      if (client_->publish(live_topic(opt_.topic_root, r), encode_event(r), 0, false) >= 0)
        ++counters_.live_published;
    }
  }
}

void DeliveryImpl::publish_egm_status(const EgmStatusInfo& info) {
  json::object o;
  o["schema"] = "floorgate.egm_status/1";
  o["egm"] = info.egm;
  o["link"] = info.link_up ? "up" : "down";
  o["protocol"] = info.protocol;
  json::object id;
  id["sas_version"] = info.sas_version;
  id["serial"] = info.serial;
  id["denomination"] = info.denomination;
  id["game_id"] = info.game_id;
  o["identity"] = std::move(id);
  if (info.last_seen_ms) {
    o["last_seen"] = iso8601_ms(*info.last_seen_ms);
    o["last_seen_ms"] = *info.last_seen_ms;
  } else {
    o["last_seen"] = nullptr;
    o["last_seen_ms"] = nullptr;
  }
  o["ts"] = iso8601_ms(now_ms());
  auto& link = links_[info.egm];
  if (link.up && !info.link_up) ++link.downs;
  link.up = info.link_up;
  auto& payload = egm_status_[info.egm];
  payload = json::serialize(o);
  if (client_ && client_->connected()) {
    client_->publish(opt_.topic_root + "/egm/" + topic_segment(info.egm) + "/status", payload, 1,
                     true);
  }
}

void DeliveryImpl::publish_chain_head(std::string payload) {
  chain_head_ = std::move(payload);
  if (client_ && client_->connected()) {
    client_->publish(opt_.topic_root + "/chain", chain_head_, 1, true);
  }
}

void DeliveryImpl::set_consumers(std::vector<ConsumerOptions> consumers) {
  std::vector<std::shared_ptr<ConsumerState>> keep;
  for (auto& o : consumers) {
    if (auto c = find(o.name)) {
      bool route_changed = !(c->opt.route.classes == o.route.classes &&
                             c->opt.route.types == o.route.types &&
                             c->opt.route.egms == o.route.egms) ||
                           c->opt.required != o.required;
      c->opt = o;
      if (route_changed) register_consumer(c, false);  // resumes (rewound) when it answers
      keep.push_back(c);
    } else if (!started_) {
      auto s = std::make_shared<ConsumerState>();
      s->opt = o;
      keep.push_back(std::move(s));
    }
  }
  for (auto& c : consumers_) {
    if (std::find(keep.begin(), keep.end(), c) == keep.end())
      spdlog::info("delivery: consumer {} removed from delivery (its store cursor stays)",
                   c->opt.name);
  }
  consumers_ = std::move(keep);
  if (started_) {
    for (auto& o : consumers) {
      if (!find(o.name)) add_consumer(o);
    }
  }
  schedule_pump();
  refresh_snapshot();
}

void DeliveryImpl::on_tick() {
  arm_tick();
  tick();
}

void DeliveryImpl::arm_tick() {
  tick_timer_.expires_after(kDeliveryTick);
  tick_timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
    core::LoopSite site("delivery.tick");
    if (auto s = weak.lock(); s && !ec && !s->stopped_) s->on_tick();
  });
}

void DeliveryImpl::tick() {
  auto now = steady_now();
  double dt = std::chrono::duration<double>(now - last_tick_).count();
  last_tick_ = now;
  ++counters_.ticks;
  sample_backlogs(now);
  for (auto& c : consumers_) {
    commit_ack(c);          // a failed commit's retry, once its delay is over
    clear_dead_letters(c);  // likewise
  }
  if (client_ && client_->connected()) {
    for (auto& c : consumers_) {
      c->tokens = std::min(c->tokens + dt * c->opt.replay_rate,
                           std::max(1.0, c->opt.replay_rate * 0.1));
      check_ack_timeout(*c, now);
      pump(*c);
      pump_replay(*c);
    }
  }
  refresh_snapshot();
}

void DeliveryImpl::publish_health() {
  if (!client_ || !client_->connected()) return;
  auto st = log_.stats();
  auto now = now_ms();
  double period = static_cast<double>(opt_.health_period.count());
  json::object o;
  o["schema"] = "floorgate.health/1";
  o["ts"] = iso8601_ms(now);
  o["ts_ms"] = now;
  o["boot_id"] = boot_id_;
  o["epoch"] = st.epoch;
  if (opt_.loop_lag_ms) o["loop_lag_ms_max"] = opt_.loop_lag_ms();
  if (opt_.egm_alarms) {
    json::array alarms;
    for (auto& a : opt_.egm_alarms()) alarms.emplace_back(a);
    o["egm_alarms"] = std::move(alarms);
  }
  auto& k = client_->counters();
  o["broker"] = {{"connected", true}, {"connects", k.connects}, {"disconnects", k.disconnects},
                 {"stall_recycles", k.stall_recycles}, {"protocol", k.protocol == 5 ? "5" : "3.1.1"},
                 {"address", k.broker}, {"failovers", k.failovers}};
  o["store"] = {{"rows", st.rows}, {"bytes", st.bytes}, {"first_seq", st.first_seq},
                {"last_seq", st.last_seq}, {"retention_alarm", st.retention_alarm},
                {"retention_alarm_reason", st.retention_alarm_reason},
                {"evicted_total", st.evicted_total}, {"integrity", st.integrity},
                {"disk_full_total", st.disk_full_total},
                {"append_failures_total", st.append_failures_total}};
  json::array down;
  std::uint64_t up = 0, downs = 0;
  for (const auto& [egm, l] : links_) {
    if (l.up) {
      ++up;
    } else {
      down.emplace_back(egm);
    }
    downs += l.downs;
  }
  o["links"] = {{"egms", links_.size()}, {"up", up}, {"down", std::move(down)},
                {"down_transitions", downs}};
  json::array arr;
  for (auto& c : consumers_) {
    json::object e;
    e["name"] = c->opt.name;
    e["required"] = c->opt.required;
    e["acked_upto"] = c->acked;
    e["sent_upto"] = c->sent_upto;
    e["inflight"] = c->inflight();
    e["unacked"] = 0;
    e["oldest_unacked_age_ms"] = nullptr;
    e["dead_letters"] = 0;
    for (auto& sc : st.consumers) {
      if (sc.name != c->opt.name) continue;
      e["unacked"] = sc.unacked;
      e["dead_letters"] = sc.dead_letters;
      if (sc.oldest_unacked_ts_ms) e["oldest_unacked_age_ms"] = now - *sc.oldest_unacked_ts_ms;
    }
    e["publish_rate"] = (c->counters.published - c->last_health_published) / period;
    e["ack_rate"] = (c->counters.acks - c->last_health_acks) / period;
    c->last_health_published = c->counters.published;
    c->last_health_acks = c->counters.acks;
    e["replay_active"] = c->replay_active || !c->dead_queue.empty();
    e["present"] = c->present ? json::value(*c->present) : json::value(nullptr);
    e["rejected"] = c->counters.rejected;
    const auto b = c->backlog.figures();
    e["incoming_per_s"] = b.incoming_per_s;
    e["acked_per_s"] = b.acked_per_s;
    e["backlog_growth_per_min"] = b.backlog_growth_per_min;
    if (b.drain_eta_s) {
      e["drain_eta_s"] = *b.drain_eta_s;
    } else {
      e["drain_eta_s"] = nullptr;
    }
    e["rate_window_s"] = b.window_s;
    arr.push_back(std::move(e));
  }
  o["consumers"] = std::move(arr);
  o["rejected_inbound"] = counters_.rejected_inbound;
  if (client_->publish(opt_.topic_root + "/health", json::serialize(o), 0, false) >= 0)
    ++counters_.health_published;
}

void DeliveryImpl::sample_backlogs(SteadyTime now) {
  if (now - last_backlog_sample_ < std::chrono::seconds(1)) return;
  last_backlog_sample_ = now;
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch());
  const auto st = log_.counters();  // no query, no refresh scan, no stat() calls
  for (auto& c : consumers_) {
    for (const auto& sc : st.consumers) {
      if (sc.name == c->opt.name) c->backlog.sample(ms.count(), sc.routed_total, sc.unacked);
    }
  }
}

void DeliveryImpl::refresh_snapshot() {
  DeliveryStats s = counters_;
  if (client_) {
    auto& k = client_->counters();
    s.connected = client_->connected();
    s.protocol = k.protocol;
    s.broker = k.broker;
    s.failovers = k.failovers;
    s.last_error = k.last_error;
    s.connects = k.connects;
    s.connect_failures = k.connect_failures;
    s.disconnects = k.disconnects;
    s.stall_recycles = k.stall_recycles;
    s.pubacks = k.pubacks;
    s.puback_no_subscribers = k.puback_no_subscribers;
  }
  for (auto& c : consumers_) {
    auto cs = c->counters;
    cs.name = c->opt.name;
    cs.required = c->opt.required;
    cs.acked_upto = c->acked;
    cs.durable_acked = c->durable_acked;
    cs.sent_upto = c->sent_upto;
    cs.inflight = c->inflight();
    cs.replay_active = c->replay_active || !c->dead_queue.empty();
    cs.present = c->present;
    if (c->live) cs.live_from = c->live->from;
    const auto b = c->backlog.figures();
    cs.incoming_per_s = b.incoming_per_s;
    cs.acked_per_s = b.acked_per_s;
    cs.backlog_growth_per_min = b.backlog_growth_per_min;
    cs.drain_eta_s = b.drain_eta_s;
    s.consumers.push_back(std::move(cs));
  }
  std::lock_guard lock(snap_mu_);
  snapshot_ = std::move(s);
}

DeliveryStats DeliveryImpl::stats() const {
  std::lock_guard lock(snap_mu_);
  return snapshot_;
}

// ---- the public facade ----

Delivery::Delivery(asio::any_io_executor ex, store::Store& store, MqttOptions mqtt,
                   std::vector<ConsumerOptions> consumers, DeliveryDrive drive)
    : impl_(std::make_shared<DeliveryImpl>(ex, store, std::move(mqtt), std::move(consumers),
                                           std::move(drive))) {}
void Delivery::poll() { impl_->poll(); }
Delivery::~Delivery() = default;
void Delivery::start() { impl_->start(); }
void Delivery::stop(std::function<void()> done) { impl_->stop(std::move(done)); }
void Delivery::notify_appended(std::uint64_t seq) { impl_->notify_appended(seq); }
void Delivery::publish_egm_status(const EgmStatusInfo& info) { impl_->publish_egm_status(info); }
void Delivery::publish_chain_head(std::string payload) { impl_->publish_chain_head(std::move(payload)); }
void Delivery::set_consumers(std::vector<ConsumerOptions> c) { impl_->set_consumers(std::move(c)); }
void Delivery::reset_consumer(const std::string& name, std::uint64_t to_seq, ResetDone done) {
  impl_->reset_consumer(name, to_seq, std::move(done));
}
DeliveryStats Delivery::stats() const { return impl_->stats(); }
std::string Delivery::boot_id() const { return impl_->boot_id(); }

}  // namespace floorgate::gateway
