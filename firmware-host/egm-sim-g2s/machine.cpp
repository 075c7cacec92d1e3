// Simulated G2S EGM: transport and the communications class.
#include "floorgate/core/clock.hpp"
#include "machine.hpp"

#include <boost/asio/post.hpp>

namespace floorgate::egmsim::g2s {

Machine::Machine(boost::asio::io_context& io, MachineConfig cfg)
    : io_(io), cfg_(std::move(cfg)), comms_timer_(io), resend_timer_(io), periodic_timer_(io),
      eod_timer_(io), power_timer_(io) {
  meters_ = {{"G2S_currencyInAmt", 0}, {"G2S_currencyInCnt", 0}, {"G2S_cabinetDoorOpenCnt", 0},
             {"G2S_handPaidGameWonAmt", 0}, {"G2S_wonAmt", 0}, {"G2S_playerCashableAmt", 0}};
}

Machine::~Machine() { stop(); }

std::int64_t Machine::now() const {
  return core::unix_now_ms() + skew_ms_;
}

int Machine::port() const { return server_ ? server_->port() : 0; }

bool Machine::start() {
  load();
  server_ = std::make_unique<SimServer>(
      io_, [this](const std::string& t, const std::string& b) { return on_post(t, b); },
      cfg_.tls ? cfg_.tls->server : nullptr);
  if (!server_->listen(cfg_.port)) return false;
  // host_url: http(s)://HOST:PORT/PATH
  std::string u = cfg_.host_url.substr(cfg_.host_url.find("//") + 2);
  std::string hp = u.substr(0, u.find('/'));
  std::string path = u.find('/') == std::string::npos ? "/" : u.substr(u.find('/'));
  client_ = std::make_unique<SimClient>(io_, hp.substr(0, hp.rfind(':')), hp.substr(hp.rfind(':') + 1),
                                        path, std::chrono::milliseconds(3000),
                                        cfg_.tls ? cfg_.tls->client : nullptr);
  open_comms(true);
  return true;
}

void Machine::stop() {
  if (server_) server_->stop();
  if (client_) client_->stop();
  comms_timer_.cancel();
  resend_timer_.cancel();
  periodic_timer_.cancel();
  eod_timer_.cancel();
  power_timer_.cancel();
}

std::string Machine::device_id_for(const std::string&) const { return cfg_.host_id; }

std::optional<SimServer::Answer> Machine::on_post(const std::string& target, const std::string& body) {
  if (target == "/control") {
    std::string out;
    std::size_t p = 0;
    while (p < body.size()) {
      auto nl = body.find('\n', p);
      std::string line = body.substr(p, nl == std::string::npos ? std::string::npos : nl - p);
      p = nl == std::string::npos ? body.size() : nl + 1;
      if (!line.empty()) out = control(line);
    }
    return SimServer::Answer{200, out.empty() ? "ok" : out};
  }
  if (mute_ || powered_off_) return std::nullopt;
  std::string inner = soap_payload(body);
  HostMessage m;
  std::string sent = iso_ms(now());
  if (inner.empty() || !read_host_message(inner, m)) {
    return SimServer::Answer{200, soap_response(ack_message(cfg_.host_id, cfg_.egm_id, sent, "G2S_MSX004"))};
  }
  if (m.host_id != cfg_.host_id) {
    return SimServer::Answer{200, soap_response(ack_message(m.host_id, cfg_.egm_id, sent, "G2S_MSX001"))};
  }
  if (m.egm_id != cfg_.egm_id) {
    return SimServer::Answer{200, soap_response(ack_message(m.host_id, m.egm_id, sent, "G2S_MSX002"))};
  }
  for (const auto& c : m.commands) {
    // Host commands are processed after the synchronous g2sAck went out.
    boost::asio::post(io_, [this, c] { on_command(c); });
  }
  return SimServer::Answer{200, soap_response(ack_message(cfg_.host_id, cfg_.egm_id, sent, ""))};
}

void Machine::send(const std::string& cls, const std::string& session_type,
                   const std::string& command, std::int64_t session_id,
                   std::function<void(bool)> after, const std::string& error_code) {
  std::string t = iso_ms(now());
  Header h{cfg_.host_id, cfg_.egm_id, t, cls, device_id_for(cls), t, session_type,
           ++command_id_, session_id ? session_id : ++session_id_,
           session_type == "G2S_request" ? 30000 : 0, error_code};
  std::string inner = message(h, command);
  if (malformed_ > 0) {
    --malformed_;
    inner = inner.substr(0, inner.size() / 2) + "<<&";
  }
  if (unreachable_) {
    ++post_fail_;
    if (after) boost::asio::post(io_, [after] { after(false); });
    return;
  }
  client_->post(soap_request(inner, cfg_.egm_id, cfg_.host_id),
                [this, after](bool ok, unsigned status, std::string body) {
                  HostMessage ack;
                  bool good = ok && status == 200 && read_host_message(soap_payload(body), ack) &&
                              ack.ack && (ack.error_code.empty() || ack.error_code == "G2S_none");
                  if (!good) {
                    ++post_fail_;
                    if (ack.ack) {
                      ++msx_;
                      last_error_ = ack.error_code;
                    }
                    if (ack.ack && ack.error_code == "G2S_MSX003" && state_ != SimState::opening) {
                      // The host does not know us (it restarted): handshake again.
                      state_ = SimState::closed;
                      inflight_ = 0;
                      open_comms(false);
                    }
                  }
                  if (after) after(good);
                });
}

void Machine::respond(const HostCommand& req, const std::string& command) {
  send(req.cls, "G2S_response", command, req.session_id);
}

void Machine::open_comms(bool device_reset) {
  if (powered_off_) return;  // power-up opens comms itself
  state_ = SimState::opening;
  subscribed_ = false;
  subs_.clear();
  inflight_ = 0;
  resend_timer_.cancel();
  device_reset_ = device_reset_ || device_reset;
  std::string scheme = cfg_.tls ? "https" : "http";
  std::string msg = cmd::comms_online(scheme + "://127.0.0.1:" + std::to_string(port()) + "/G2S", device_reset_);
  send("communications", "G2S_request", msg, 0, [this](bool ok) {
    if (state_ != SimState::opening) return;
    // Retry after `retry` on failure; after `resend` when the ack never comes.
    comms_timer_.expires_after(ok ? cfg_.resend : cfg_.retry);
    comms_timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec && state_ == SimState::opening) open_comms(false);
    });
  });
}

void Machine::send_comms_disabled() {
  if (state_ != SimState::sync) return;
  send("communications", "G2S_request", cmd::comms_disabled());
  auto period = cfg_.heartbeat.count() > 0 ? cfg_.heartbeat : std::chrono::milliseconds(sync_timer_ms_);
  comms_timer_.expires_after(period);
  comms_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) send_comms_disabled();
  });
}

void Machine::on_command(const HostCommand& c) {
  if (!c.class_error.empty()) {
    ++apx_;
    last_error_ = c.class_error;
    return;  // e.g. G2S_APX011: the pending request is resent by its own timer
  }
  const std::string& n = c.name;
  if (n == "commsOnLineAck") {
    if (state_ != SimState::opening) return;
    comms_timer_.cancel();
    device_reset_ = false;
    sync_timer_ms_ = std::max<std::int64_t>(1000, std::atoll(c.attr("syncTimer", "30000").c_str()));
    state_ = SimState::sync;
    send_comms_disabled();
  } else if (n == "commsDisabledAck") {
  } else if (n == "setCommsState") {
    bool enable = c.attr("enable") == "true";
    if (enable && (state_ == SimState::sync || state_ == SimState::online)) {
      comms_timer_.cancel();
      if (state_ != SimState::online) ++comms_online_;
      state_ = SimState::online;
    } else if (!enable && state_ == SimState::online) {
      state_ = SimState::sync;
      send_comms_disabled();
    }
    respond(c, cmd::comms_status(state_ == SimState::online));
    pump();
  } else if (n == "keepAlive") {
    respond(c, cmd::keep_alive_ack());
  } else if (n == "getSupportedEvents") {
    if (refuse_supported_) return send(c.cls, "G2S_response", "", c.session_id, {}, "G2S_APX012");
    respond(c, cmd::supported_events());
  } else if (n == "setEventSub") {
    subscribed_ = true;
    std::vector<std::map<std::string, std::string>> subs;
    for (const auto& [name, a] : c.children) {
      if (name != "eventHostSubscription") continue;
      subs.push_back(a);
      auto get = [&a](const char* k) {
        auto it = a.find(k);
        return it == a.end() ? std::string() : it->second;
      };
      // Wildcards are expanded against the supported events; classes this host has no
      // rights to are skipped silently (as Monaco does).
      std::set<std::string> classes;
      if (get("deviceClass") == "G2S_all") {
        for (const auto& code : supported_codes()) classes.insert(device_class_of(code));
      } else {
        classes.insert(get("deviceClass"));
      }
      for (const auto& cls : classes) {
        if (no_rights_.count(cls)) continue;
        subs_.push_back({cls, get("eventCode"), get("eventPersist") != "false"});
      }
    }
    respond(c, cmd::event_sub_list(subs));
    pump();
  } else if (n == "getEventSub") {
    std::vector<std::map<std::string, std::string>> held;
    for (const auto& s : subs_) {
      held.push_back({{"deviceClass", s.dev_class}, {"deviceId", "-1"}, {"eventCode", s.code},
                      {"eventPersist", s.persist ? "true" : "false"}});
    }
    respond(c, cmd::event_sub_list(held));
  } else if (n == "getDescriptor") {
    std::set<std::string> classes;
    for (const auto& code : supported_codes()) classes.insert(device_class_of(code));
    std::vector<std::pair<std::string, bool>> devices;
    for (const auto& cls : classes) devices.emplace_back(cls, no_rights_.count(cls) == 0);
    respond(c, cmd::descriptor_list(devices));
  } else if (n == "getCabinetStatus") {
    respond(c, cmd::cabinet_status(doors_open_["main"], doors_open_["logic"], doors_open_["aux"]));
  } else if (n == "setDateTime") {
    if (!clock_settable_) {
      send(c.cls, "G2S_response", "", c.session_id, {}, "G2S_CBX001");
      return;
    }
    if (auto t = parse_iso_ms(c.attr("cabinetDateTime"))) {
      const std::int64_t off = *t - now();
      if (off > 2000 || off < -2000) skew_ms_ += off;  // Monaco ignores 2 s or less
    }
    respond(c, cmd::cabinet_date_time(iso_ms(now())));
  } else if (n == "getEventHandlerLog") {
    respond(c, cmd::event_log_list(log_));
  } else if (n == "eventAck") {
    on_event_ack(std::atoll(c.attr("eventId").c_str()));
  } else if (n == "setMeterSub") {
    std::string type = c.attr("meterSubType");
    if (type == "G2S_onPeriodic") {
      periodic_ms_ = std::max<std::int64_t>(cfg_.min_periodic.count(),
                                            std::atoll(c.attr("periodicInterval", "900000").c_str()));
      arm_periodic();
    }
    respond(c, cmd::meter_sub_list(type, iso_ms(now())));
  } else if (n == "getMeterInfo") {
    respond(c, cmd::meter_info("G2S_onRequest", iso_ms(now()), meters_, extra_meters_));
  } else if (n == "meterInfoAck") {
    if (eod_pending_ && c.attr("meterDateTime") == eod_dt_) {
      eod_pending_ = false;
      ++eod_acked_;
      eod_timer_.cancel();
    }
  }
}

}  // namespace floorgate::egmsim::g2s
