// Simulated G2S EGM: event log and persistent queue, meters, persistence, ledger, control.
#include <cstdio>
#include <fstream>
#include <sstream>

#include "machine.hpp"

namespace floorgate::egmsim::g2s {
namespace {

constexpr std::size_t kLogCap = 2500;

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
  send("eventHandler", "G2S_request", cmd::event_report(*e), 0, [this, id](bool ok) {
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

void Machine::send_eod() {
  if (!eod_pending_) return;
  if (state_ == SimState::online) {
    send("meters", "G2S_request", cmd::meter_info("G2S_onEOD", eod_dt_, meters_, extra_meters_));
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
      send("meters", "G2S_notification", cmd::meter_info("G2S_onPeriodic", iso_ms(now()), meters_, extra_meters_));
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
