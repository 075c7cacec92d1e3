// g2s::Host: transport (POST /G2S in, one ordered POST queue per EGM out) and the
// communications class. eventHandler and meters live in host_events.cpp.
#include <boost/asio/post.hpp>

#include "floorgate/drivers/json_writer.hpp"
#include "g2s/commands.hpp"
#include "g2s/host_impl.hpp"
#include "g2s/tls.hpp"
#include "floorgate/core/loop_site.hpp"

namespace floorgate::drivers::g2s {

std::string_view to_string(CommsState s) {
  switch (s) {
    case CommsState::closed: return "closed";
    case CommsState::sync: return "sync";
    case CommsState::online: return "online";
  }
  return "?";
}

EgmLink* Host::Impl::find_egm(std::string_view egm_id) {
  for (auto& e : egms) {
    if (e->cfg.egm_id == egm_id) return e.get();
  }
  return nullptr;
}

std::string Host::Impl::reply_ack(const G2sMessage& m, std::string_view error) {
  if (!error.empty()) ++counters.msx_errors;
  Envelope env{cfg.host_id, m.egm_id, format_date_time(now_ms())};
  return wrap_response(build_ack(env, error));
}

InboundReply Host::Impl::on_http(const InboundPeer& peer, std::string_view method,
                                 std::string_view target, std::string_view body) {
  ++counters.http_requests;
  if (target != "/G2S") {
    ++counters.http_rejected;
    return {404, "not found\n", "text/plain"};
  }
  if (method != "POST") {
    ++counters.http_rejected;
    return {405, "method not allowed\n", "text/plain"};
  }
  SoapMessage soap;
  if (auto ec = parse_soap(body, cfg.max_body_bytes, soap)) {
    ++counters.http_rejected;
    if (ec == CodecErrc::too_large) return {413, "body too large\n", "text/plain"};
    return {400, "not a G2S SOAP request: " + ec.message() + "\n", "text/plain"};
  }
  if (soap.transport_options) return {200, transport_options_response()};
  G2sMessage msg;
  EgmLink* e = find_egm(soap.egm_id);
  // The sender is checked against the envelope's egmId before the message is parsed: a peer
  // that may not speak for that EGM costs the envelope, not a parse of what it sent.
  if (e) {
    if (auto why = peer_problem(*e, peer); !why.empty()) {
      refuse_peer(*e, "request for egmId " + e->cfg.egm_id + " from " + peer.address + " refused: " + why);
      msg.egm_id = soap.egm_id;
      return {200, reply_ack(msg, "G2S_MSX002")};
    }
  }
  if (auto ec = parse_g2s_message(soap.payload, cfg.max_body_bytes, msg)) {
    if (e) ++e->st.rejected;
    msg.egm_id = soap.egm_id;
    return {200, reply_ack(msg, "G2S_MSX004")};
  }
  if (msg.is_ack) return {200, reply_ack(msg, {})};
  if (msg.host_id != cfg.host_id) {
    if (e) ++e->st.rejected;
    return {200, reply_ack(msg, "G2S_MSX001")};
  }
  e = find_egm(msg.egm_id);
  if (!e) return {200, reply_ack(msg, "G2S_MSX002")};
  // Only the EGM itself may speak for its egmId: anything else could forge money events or
  // redirect our channel to it. To the sender it is the wrong egmId (MSX002).
  if (auto why = peer_problem(*e, peer); !why.empty()) {
    refuse_peer(*e, "request for egmId " + e->cfg.egm_id + " from " + peer.address + " refused: " + why);
    return {200, reply_ack(msg, "G2S_MSX002")};
  }
  for (const auto& c : msg.classes) {
    if (c.children.empty() || c.children.front().name != "commsOnLine") continue;
    auto loc = c.children.front().attr_or("egmLocation");
    if (auto why = location_problem(*e, loc); !why.empty()) {
      refuse_peer(*e, "commsOnLine of egmId " + e->cfg.egm_id + " refused: " + why);
      return {200, reply_ack(msg, "G2S_MSX002")};
    }
  }
  std::int64_t now = now_ms();
  e->st.last_seen_ms = now;
  if (auto t = parse_date_time(msg.date_time_sent)) e->st.clock_skew_ms = *t - now;
  e->keepalive_misses = 0;
  e->keepalive_outstanding = false;
  if (!e->handshaken) {
    for (const auto& c : msg.classes) {
      if (c.children.empty() || c.children.front().name != "commsOnLine") {
        ++e->st.rejected;
        return {200, reply_ack(msg, "G2S_MSX003")};
      }
    }
  }
  check_clock_drift(*e);
  std::string raw(soap.payload);
  for (const auto& c : msg.classes) dispatch(*e, c, raw);
  return {200, reply_ack(msg, {})};
}

void Host::Impl::dispatch(EgmLink& e, const Element& cls, const std::string& raw) {
  if (cls.children.empty()) {
    // An application error comes as an empty class element with errorCode (a refused
    // setDateTime or getSupportedEvents, a getCabinetStatus without rights).
    if (cls.name == "cabinet") on_cabinet(e, cls, Element{});
    if (cls.name == "eventHandler") on_event_handler_error(e, cls);
    return;
  }
  const Element& cmd = cls.children.front();
  if (cls.attr_or("sessionType") == "G2S_request") {
    // timeToLive is judged on the EGM's clock (our time plus the skew its dateTimeSent just
    // showed): an EGM whose clock is slow or fast must not have every fresh request rejected
    // (APX011) until its log overwrites the events. Only a request that really waited longer
    // than its timeToLive on the EGM's own clock (a stale resend) is refused.
    std::int64_t ttl = std::atoll(cls.attr_or("timeToLive", "0").c_str());
    auto sent = parse_date_time(cls.attr_or("dateTime"));
    if (ttl > 0 && sent && *sent + ttl < now_ms() + e.st.clock_skew_ms) {
      ++e.st.rejected;
      respond(e, cls, {}, "G2S_APX011");
      return;
    }
  }
  if (cls.name == "communications") return on_comms(e, cls, cmd);
  if (cls.name == "eventHandler") return on_event_handler(e, cls, cmd, raw);
  if (cls.name == "meters") return on_meters(e, cls, cmd);
  if (cls.name == "cabinet") return on_cabinet(e, cls, cmd);
  if (cls.attr_or("sessionType") == "G2S_request") respond(e, cls, {}, "G2S_APX007");
}

void Host::Impl::on_comms(EgmLink& e, const Element& cls, const Element& cmd) {
  const std::string& n = cmd.name;
  if (n == "commsOnLine") {
    ++e.generation;
    restart_reconciliation(e);
    e.client->clear();
    e.next_command_id = 1;
    e.first_live_id = 0;
    e.backfill.clear();
    std::string loc = cmd.attr_or("egmLocation", e.cfg.location);
    e.st.location = loc;
    set_target(e, loc);
    if (e.st.link_up) go_offline(e, "re-handshake", false);
    e.handshaken = true;
    e.st.state = CommsState::sync;
    respond(e, cls, cmd::comms_online_ack(cfg.sync_timer.count()));
    notify(e);
  } else if (n == "commsDisabled") {
    // While online this is a late heartbeat from the sync phase: answer it and enable again
    // (an EGM that really left onLine re-handshakes with commsOnLine first).
    if (e.st.state != CommsState::online) e.st.state = CommsState::sync;
    respond(e, cls, cmd::comms_disabled_ack(cfg.sync_timer.count()));
    send(e, "communications", "G2S_request", cmd::set_comms_state(true));
  } else if (n == "commsStatus") {
    if (cmd.attr_or("commsState") == "G2S_onLine") go_online(e);
  } else if (n == "keepAlive") {
    respond(e, cls, cmd::keep_alive_ack());
  } else if (n == "descriptorList") {
    on_descriptors(e, cmd);
  } else if (n == "commsClosing") {
    respond(e, cls, cmd::comms_closing_ack());
    go_offline(e, "commsClosing", true);
  }
}

std::int64_t Host::Impl::send(EgmLink& e, std::string_view cls, std::string_view session_type,
                              std::string command_xml, std::int64_t session_id,
                              std::string_view device_id) {
  if (stopped) return 0;
  std::string now = format_date_time(now_ms());
  Envelope env{cfg.host_id, e.cfg.egm_id, now};
  const std::int64_t sid = session_id ? session_id : e.next_session_id++;
  ClassHeader h{std::string(cls), device_id.empty() ? cfg.host_id : std::string(device_id), now,
                e.next_command_id++, std::string(session_type), sid,
                session_type == "G2S_request" ? cfg.time_to_live.count() : 0, {}};
  std::string inner = build_body(env, h, command_xml);
  std::weak_ptr<Impl> weak = weak_from_this();
  EgmLink* ep = &e;
  e.client->post(wrap_request(inner, e.cfg.egm_id, cfg.host_id),
                 [weak, ep](std::error_code ec, unsigned status, std::string body) {
                   core::LoopSite site("g2s.answer");
                   auto self = weak.lock();
                   if (!self || self->stopped || ec == std::errc::operation_canceled) return;
                   self->on_post_result(*ep, ec, status);
                   if (ec || status != 200) return;
                   SoapMessage soap;
                   G2sMessage ack;
                   bool ok = !parse_soap(body, self->cfg.max_body_bytes, soap) &&
                             !parse_g2s_message(soap.payload, self->cfg.max_body_bytes, ack) &&
                             ack.is_ack && (ack.error_code.empty() || ack.error_code == "G2S_none");
                   if (!ok) ++ep->st.post_failures;
                 });
  return sid;
}

void Host::Impl::respond(EgmLink& e, const Element& req_cls, std::string command_xml,
                         std::string_view error) {
  if (stopped) return;
  std::string now = format_date_time(now_ms());
  Envelope env{cfg.host_id, e.cfg.egm_id, now};
  ClassHeader h{req_cls.name, cfg.host_id, now, e.next_command_id++, "G2S_response",
                std::atoll(req_cls.attr_or("sessionId", "0").c_str()), 0, std::string(error)};
  if (!error.empty()) ++counters.msx_errors;
  e.client->post(wrap_request(build_body(env, h, command_xml), e.cfg.egm_id, cfg.host_id),
                 [weak = weak_from_this(), ep = &e](std::error_code ec, unsigned status, std::string) {
                   core::LoopSite site("g2s.answer");
                   auto self = weak.lock();
                   if (!self || self->stopped || ec == std::errc::operation_canceled) return;
                   self->on_post_result(*ep, ec, status);
                 });
}

void Host::Impl::check_clock_drift(EgmLink& e) {
  // An alarm (once, until the clock is back within half the bound): events carry the EGM's
  // times, and regulators expect them within a few seconds of the floor's clock.
  const std::int64_t drift = std::llabs(e.st.clock_skew_ms);
  if (!e.drift_alarmed && drift > kClockDriftAlarmMs) {
    e.drift_alarmed = true;
    JsonWriter w;
    w.add("protocol", "g2s").add("egm_id", e.cfg.egm_id).add("skew_ms", e.st.clock_skew_ms);
    emit_own(e, "egm.clock_drift", EventClass::fault, "g2s:comms", std::move(w).finish());
    warn("EGM " + e.cfg.id + ": clock " + std::to_string(e.st.clock_skew_ms / 1000) +
         " s off the gateway's (requests are still accepted; fix the EGM's time)");
  } else if (e.drift_alarmed && drift < kClockDriftAlarmMs / 2) {
    e.drift_alarmed = false;
  }
  maybe_set_clock(e);
}

void Host::Impl::emit_own(EgmLink& e, std::string type, EventClass cls, std::string source,
                          std::string attrs_json) {
  Event ev;
  ev.egm = e.cfg.id;
  ev.type = std::move(type);
  ev.cls = cls;
  ev.ts_gw_ms = now_ms();
  ev.source = std::move(source);
  ev.attrs_json = std::move(attrs_json);
  sink.submit_own(std::move(ev));  // the gateway's own observation: the sink retries it
}

void Host::Impl::emit_link(EgmLink& e, bool up, std::string_view reason) {
  JsonWriter w;
  w.add("protocol", "g2s").add("egm_id", e.cfg.egm_id).add("reason", reason);
  emit_own(e, up ? "link.up" : "link.down", EventClass::operational, "g2s:comms",
           std::move(w).finish());
}

void Host::Impl::go_online(EgmLink& e) {
  if (e.st.state == CommsState::online) return;
  e.st.state = CommsState::online;
  e.st.link_up = true;
  e.keepalive_misses = 0;
  e.keepalive_outstanding = false;
  emit_link(e, true, "commsOnLine");
  arm_keepalive(e);
  subscribe_all(e);
  notify(e);
}

void Host::Impl::go_offline(EgmLink& e, std::string_view reason, bool drop_handshake) {
  bool was_up = e.st.link_up;
  e.st.link_up = false;
  e.st.state = drop_handshake ? CommsState::closed : CommsState::sync;
  if (drop_handshake) {
    e.handshaken = false;
    e.client->clear();
  }
  e.keepalive_timer->cancel();
  e.keepalive_due_ms = 0;
  if (was_up) emit_link(e, false, reason);
  notify(e);
}

void Host::Impl::arm_keepalive(EgmLink& e) {
  arm(e, *e.keepalive_timer, e.keepalive_due_ms, cfg.keepalive, &Impl::on_keepalive_tick);
}

void Host::Impl::arm(EgmLink& e, boost::asio::steady_timer& timer, std::int64_t& due_ms,
                     std::chrono::milliseconds delay, void (Impl::*step)(EgmLink&)) {
  if (!drive.timers) {
    due_ms = clock.steady_ms() + delay.count();
    return;
  }
  timer.expires_after(delay);
  timer.async_wait([weak = weak_from_this(), ep = &e, step](boost::system::error_code ec) {
    core::LoopSite site("g2s.timer");
    auto self = weak.lock();
    if (!self || self->stopped || ec) return;
    ((*self).*step)(*ep);
  });
}

void Host::Impl::on_keepalive_tick(EgmLink& e) {
  if (e.st.state != CommsState::online) return;
  if (e.keepalive_outstanding) ++e.keepalive_misses;
  if (e.keepalive_misses >= cfg.keepalive_misses) {
    go_offline(e, "keepalive", true);
    return;
  }
  e.keepalive_outstanding = true;
  send(e, "communications", "G2S_request", cmd::keep_alive());
  arm_keepalive(e);
}

void Host::Impl::notify(EgmLink& e) {
  if (status_cb) status_cb(e.st);
}

Host::Host(boost::asio::any_io_executor ex, HostConfig config, EventSink& sink,
           std::function<std::int64_t()> now_ms, HostDrive drive)
    : impl_(std::make_shared<Impl>(ex, std::move(config), sink, std::move(now_ms),
                                   std::move(drive))) {}

Host::~Host() { stop(); }

std::error_code Host::start() {
  auto& m = *impl_;
  if (m.cfg.host_id.empty() || m.cfg.keepalive.count() <= 0 || m.cfg.keepalive_misses <= 0) {
    return std::make_error_code(std::errc::invalid_argument);
  }
  if (auto ec = m.setup_tls()) return ec;
  for (const auto& c : m.cfg.egms) {
    if (c.id.empty() || c.egm_id.empty()) return std::make_error_code(std::errc::invalid_argument);
    auto e = std::make_unique<EgmLink>();
    e->cfg = c;
    e->st.id = c.id;
    e->st.egm_id = c.egm_id;
    e->st.location = c.location;
    if (m.drive.post_queue) {
      e->client = m.drive.post_queue(c);
    } else {
      auto client = std::make_unique<HttpClient>(m.ex, m.cfg.request_timeout);
      client->use_tls(m.tls_client);
      e->client = std::move(client);
    }
    if (!c.location.empty()) m.set_target(*e, c.location);
    e->keepalive_timer = std::make_unique<boost::asio::steady_timer>(m.ex);
    e->backfill_timer = std::make_unique<boost::asio::steady_timer>(m.ex);
    if (m.cfg.recent_keys) {
      for (auto& k : m.cfg.recent_keys(c.id)) {
        m.remember(*e, {k.event_id, k.event_dt});
        e->max_event_id = std::max(e->max_event_id, k.event_id);
      }
    }
    m.egms.push_back(std::move(e));
  }
  for (auto& e : m.egms) m.resolve_peer_addresses(*e);
  if (!m.drive.listen) return {};
  std::weak_ptr<Impl> weak = impl_;
  net::HttpLimits limits;
  limits.max_body = m.cfg.max_body_bytes + 64 * 1024;  // the SOAP envelope around the payload
  limits.read_timeout = limits.write_timeout = std::chrono::seconds(60);
  limits.max_connections = 256;
  limits.max_per_address = 8;  // an EGM needs one or two
  net::HttpHandlers h;
  h.request = [weak](net::HttpRequest req, const net::HttpPeer& peer, net::HttpReply reply) {
    auto self = weak.lock();
    InboundReply r{503, "stopping\n", "text/plain"};
    if (self && !self->stopped) {
      r = self->on_http({peer.address, peer.tls, peer.cert_names},
                        std::string_view(req.method_string()), std::string_view(req.target()),
                        std::string_view(req.body()));
    }
    net::HttpResponse res{static_cast<boost::beast::http::status>(r.status), req.version()};
    res.set(boost::beast::http::field::server, "floorgate-g2s");
    res.set(boost::beast::http::field::content_type, r.content_type);
    res.keep_alive(req.keep_alive());
    res.body() = std::move(r.body);
    res.prepare_payload();
    reply.send(std::move(res));
  };
  h.refusal = [weak](unsigned status, std::string_view why, unsigned version) {
    if (auto self = weak.lock()) ++self->counters.http_rejected;
    net::HttpResponse res{static_cast<boost::beast::http::status>(status), version};
    res.set(boost::beast::http::field::server, "floorgate-g2s");
    res.set(boost::beast::http::field::content_type, "text/plain");
    res.body() = std::string(why) + "\n";
    res.prepare_payload();
    return res;
  };
  h.tls_failed = [weak](const net::HttpPeer& peer, const boost::system::error_code& ec, ssl_st* ssl) {
    if (auto self = weak.lock()) self->on_tls_reject(peer.endpoint, tls_failure_text(ec, ssl));
  };
  h.tls_names = [](ssl_st* ssl) { return peer_certificate_names(ssl); };
  m.server = std::make_unique<net::HttpServer>(m.ex, limits, std::move(h));
  if (m.tls_server) m.server->use_tls(m.tls_server);
  return m.server->listen(m.cfg.bind, m.cfg.port);
}

void Host::stop() {
  auto& m = *impl_;
  if (m.stopped) return;
  m.stopped = true;
  if (m.server) m.server->stop();
  if (m.resolver) m.resolver->cancel();
  for (auto& e : m.egms) {
    e->client->stop();
    e->keepalive_timer->cancel();
    e->backfill_timer->cancel();
  }
}

int Host::port() const { return impl_->server ? impl_->server->port() : 0; }

bool Host::tls() const { return impl_->tls_server != nullptr; }

std::vector<EgmStatus> Host::status() const {
  std::vector<EgmStatus> v;
  for (const auto& e : impl_->egms) v.push_back(e->st);
  return v;
}

HostCounters Host::counters() const { return impl_->counters; }

void Host::on_status_change(std::function<void(const EgmStatus&)> cb) {
  impl_->status_cb = std::move(cb);
}

InboundReply Host::handle(const InboundPeer& peer, std::string_view method,
                          std::string_view target, std::string_view body) {
  if (impl_->stopped) return {503, "stopping\n", "text/plain"};
  return impl_->on_http(peer, method, target, body);
}

void Host::poll() {
  auto& m = *impl_;
  if (m.stopped || m.drive.timers) return;
  const std::int64_t now = m.clock.steady_ms();
  for (auto& e : m.egms) {
    if (e->keepalive_due_ms && now >= e->keepalive_due_ms) {
      e->keepalive_due_ms = 0;
      m.on_keepalive_tick(*e);
    }
    if (e->backfill_due_ms && now >= e->backfill_due_ms) {
      e->backfill_due_ms = 0;
      m.run_backfill(*e);
    }
  }
}

}  // namespace floorgate::drivers::g2s
