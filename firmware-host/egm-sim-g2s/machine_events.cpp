// Simulated G2S EGM: event log and persistent queue, meters, persistence, ledger, control.
#include <cstdio>
#include <fstream>
#include <sstream>

#include "machine.hpp"

namespace floorgate::egmsim::g2s {
namespace {

constexpr std::size_t kLogCap = 2500;

std::string device_class_of(const std::string& code) {
  if (code.rfind("G2S_NA", 0) == 0) return "G2S_noteAcceptor";
  if (code.rfind("G2S_JP", 0) == 0) return "G2S_handpay";
  if (code.rfind("G2S_PT", 0) == 0) return "G2S_printer";
  if (code.rfind("G2S_GP", 0) == 0) return "G2S_gamePlay";
  if (code.rfind("G2S_CM", 0) == 0) return "G2S_communications";
  return "G2S_cabinet";
}

std::string hex(const std::string& s) {
  static const char* d = "0123456789abcdef";
  std::string o;
  for (unsigned char c : s) {
    o += d[c >> 4];
    o += d[c & 15];
  }
  return o;
}

std::string unhex(const std::string& h) {
  std::string o;
  for (std::size_t i = 0; i + 1 < h.size(); i += 2) {
    o += static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16));
  }
  return o;
}

const char* kSupported[] = {"G2S_CBE301", "G2S_CBE302", "G2S_CBE303", "G2S_CBE304", "G2S_CBE305",
                            "G2S_CBE306", "G2S_CBE307", "G2S_CBE308", "G2S_CBE309", "G2S_CBE310",
                            "G2S_CBE311", "G2S_CBE313", "G2S_CBE324", "G2S_CBE325", "G2S_NAE105",
                            "G2S_NAE106", "G2S_NAE112", "G2S_NAE113", "G2S_NAE114", "G2S_NAE116",
                            "G2S_JPE101", "G2S_JPE104", "G2S_PTE205", "G2S_PTE207", "G2S_GPE103"};

}  // namespace

void Machine::raise(const std::string& code, std::string extra, bool queued) {
  LogEntry e;
  e.log_seq = next_log_seq_++;
  e.event_id = next_event_id_++;
  e.dt = iso_ms(now());
  e.code = code;
  e.dev_class = device_class_of(code);
  e.dev_id = "1";
  e.extra = std::move(extra);
  persist("E\t" + std::to_string(e.log_seq) + "\t" + std::to_string(e.event_id) + "\t" + e.dt +
          "\t" + e.code + "\t" + e.dev_class + "\t" + e.dev_id + "\t" + (queued ? "1" : "0") +
          "\t" + hex(e.extra));
  ledger(e);
  if (queued) queue_.push_back(e.event_id);
  else e.acked = false;
  log_.push_back(std::move(e));
  if (log_.size() > kLogCap) log_.erase(log_.begin());
  pump();
}

std::string Machine::event_report_xml(const LogEntry& e) const {
  return "<g2s:eventReport deviceClass=\"" + e.dev_class + "\" deviceId=\"" + e.dev_id +
         "\" eventCode=\"" + e.code + "\" eventText=\"simulated " + e.code + "\" eventId=\"" +
         std::to_string(e.event_id) + "\" eventDateTime=\"" + e.dt + "\" transactionId=\"0\">" +
         e.extra + "</g2s:eventReport>";
}

void Machine::pump() {
  if (state_ != SimState::online || !subscribed_ || inflight_ != 0 || queue_.empty()) return;
  std::int64_t id = queue_.front();
  const LogEntry* e = nullptr;
  for (const auto& l : log_) {
    if (l.event_id == id) e = &l;
  }
  if (!e) {  // overwritten in the log: drop from the queue
    queue_.pop_front();
    return pump();
  }
  inflight_ = id;
  ++sent_reports_;
  send("eventHandler", "G2S_request", event_report_xml(*e), 0, [this, id](bool ok) {
    if (inflight_ != id) return;
    resend_timer_.expires_after(ok ? cfg_.resend : cfg_.retry);
    resend_timer_.async_wait([this, id](boost::system::error_code ec) {
      if (ec || inflight_ != id) return;
      inflight_ = 0;
      pump();
    });
  });
}

void Machine::on_event_ack(std::int64_t event_id) {
  for (auto& l : log_) {
    if (l.event_id == event_id) l.acked = true;
  }
  if (event_id != inflight_) return;
  ++acks_;
  persist("A\t" + std::to_string(event_id));
  if (!queue_.empty() && queue_.front() == event_id) queue_.pop_front();
  inflight_ = 0;
  resend_timer_.cancel();
  pump();
}

std::string Machine::meter_info_xml(const std::string& type, const std::string& dt) const {
  std::string x = "<g2s:meterInfo meterDateTime=\"" + dt + "\" meterInfoType=\"" + type + "\">";
  x += "<g2s:currencyMeters currencyId=\"USD\">";
  for (const char* n : {"currencyInAmt", "currencyInCnt"}) {
    x += "<g2s:simpleMeter meterName=\"" + std::string(n) + "\" meterValue=\"" +
         std::to_string(meters_.at(n)) + "\"/>";
  }
  x += "</g2s:currencyMeters><g2s:deviceMeters deviceClass=\"G2S_cabinet\" deviceId=\"1\">";
  for (const auto& [n, v] : meters_) {
    if (n.rfind("currencyIn", 0) == 0) continue;
    x += "<g2s:simpleMeter meterName=\"" + n + "\" meterValue=\"" + std::to_string(v) + "\"/>";
  }
  for (int i = 0; i < extra_meters_; ++i) {
    x += "<g2s:simpleMeter meterName=\"SIM_extraMeter" + std::to_string(i) + "Amt\" meterValue=\"" +
         std::to_string(100000LL * i + 1) + "\"/>";
  }
  return x + "</g2s:deviceMeters></g2s:meterInfo>";
}

std::string Machine::supported_events_xml() const {
  std::string x = "<g2s:supportedEvents>";
  for (const char* c : kSupported) {
    x += "<g2s:supportedEvent deviceClass=\"" + device_class_of(c) + "\" deviceId=\"1\" eventCode=\"" +
         c + "\" eventText=\"" + c + "\"/>";
  }
  return x + "</g2s:supportedEvents>";
}

std::string Machine::log_list_xml() const {
  std::string x = "<g2s:eventHandlerLogList>";
  for (auto it = log_.rbegin(); it != log_.rend(); ++it) {
    x += "<g2s:eventHandlerLog logSequence=\"" + std::to_string(it->log_seq) + "\" deviceClass=\"" +
         it->dev_class + "\" deviceId=\"" + it->dev_id + "\" eventCode=\"" + it->code +
         "\" eventId=\"" + std::to_string(it->event_id) + "\" eventDateTime=\"" + it->dt +
         "\" eventText=\"simulated " + it->code + "\" eventAck=\"" + (it->acked ? "true" : "false") +
         "\" transactionId=\"0\"/>";
  }
  return x + "</g2s:eventHandlerLogList>";
}

void Machine::send_eod() {
  if (!eod_pending_) return;
  if (state_ == SimState::online) {
    send("meters", "G2S_request", meter_info_xml("G2S_onEOD", eod_dt_));
  }
  eod_timer_.expires_after(cfg_.resend);
  eod_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) send_eod();
  });
}

void Machine::arm_periodic() {
  periodic_timer_.expires_after(std::chrono::milliseconds(periodic_ms_));
  periodic_timer_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    if (state_ == SimState::online) {
      ++periodic_sent_;
      send("meters", "G2S_notification", meter_info_xml("G2S_onPeriodic", iso_ms(now())));
    }
    arm_periodic();
  });
}

void Machine::persist(const std::string& line) {
  if (cfg_.state_dir.empty()) return;
  std::ofstream f(cfg_.state_dir / (cfg_.egm_id + ".state"), std::ios::app);
  f << line << '\n';
}

void Machine::ledger(const LogEntry& e) {
  if (cfg_.state_dir.empty()) return;
  std::ofstream f(cfg_.state_dir / (cfg_.egm_id + ".ledger.jsonl"), std::ios::app);
  f << "{\"egm_id\":\"" << cfg_.egm_id << "\",\"event_id\":" << e.event_id << ",\"event_dt\":\""
    << e.dt << "\",\"code\":\"" << e.code << "\"}\n";
}

void Machine::load() {
  if (cfg_.state_dir.empty()) return;
  std::ifstream f(cfg_.state_dir / (cfg_.egm_id + ".state"));
  std::string line;
  while (std::getline(f, line)) {
    std::vector<std::string> p;
    std::stringstream ss(line);
    std::string tok;
    while (std::getline(ss, tok, '\t')) p.push_back(tok);
    if (p.size() >= 8 && p[0] == "E") {
      LogEntry e{std::stoll(p[1]), std::stoll(p[2]), p[3], p[4], p[5], p[6], p.size() > 8 ? unhex(p[8]) : "", false};
      next_log_seq_ = e.log_seq + 1;
      next_event_id_ = e.event_id + 1;
      if (p[7] == "1") queue_.push_back(e.event_id);
      log_.push_back(std::move(e));
      if (log_.size() > kLogCap) log_.erase(log_.begin());
    } else if (p.size() >= 2 && p[0] == "A") {
      std::int64_t id = std::stoll(p[1]);
      for (auto& l : log_) {
        if (l.event_id == id) l.acked = true;
      }
      if (!queue_.empty() && queue_.front() == id) queue_.pop_front();
    } else if (p.size() >= 3 && p[0] == "M") {
      meters_[p[1]] = std::stoll(p[2]);
    } else if (p.size() == 1 && p[0] == "R") {
      log_.clear();
      queue_.clear();
      next_event_id_ = next_log_seq_ = 1;
    }
  }
}

void Machine::ram_clear() {
  log_.clear();
  queue_.clear();
  inflight_ = 0;
  resend_timer_.cancel();
  next_event_id_ = next_log_seq_ = 1;
  persist("R");
}

}  // namespace floorgate::egmsim::g2s
