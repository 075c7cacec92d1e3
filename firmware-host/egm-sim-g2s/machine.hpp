#pragma once
// One simulated G2S EGM: HTTP server on loopback (its egmLocation), HTTP client to the host,
// communications start-up with retry, commsDisabled heartbeat until enabled, keepAlive
// answers, supported events, subscriptions, a persistent outbound event queue sent one at a
// time and retried until eventAck, an event log, meters (periodic and end-of-day), a ledger
// and fault injection. Single-threaded: everything runs on the io_context it is given.

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <set>
#include <deque>
#include <filesystem>
#include <map>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sim_commands.hpp"
#include "sim_http.hpp"
#include "sim_xml.hpp"

namespace floorgate::egmsim::g2s {

struct MachineConfig {
  std::string egm_id;                 // G2S egmId, e.g. "SIM_0001"
  int port = 0;                       // loopback port of its egmLocation (0 = any)
  std::string host_url = "http://127.0.0.1:18081/G2S";  // where the host listens
  std::string host_id = "1";
  std::filesystem::path state_dir;    // persistent queue, log, meters, ledger ("" = RAM only)
  std::chrono::milliseconds resend{2000};  // eventReport / EOD resend without app ack
  std::chrono::milliseconds retry{1000};   // commsOnLine retry, back-off after failures
  std::chrono::milliseconds heartbeat{0};  // commsDisabled period (0 = host's syncTimer)
  std::chrono::milliseconds min_periodic{60000};  // floor for periodicInterval
  // Mutual TLS: set -> the egmLocation is https:// (a host certificate is required) and
  // host_url must be https:// too.
  std::optional<SimTls> tls;
};

enum class SimState { closed, opening, sync, online };


class Machine {
 public:
  Machine(boost::asio::io_context& io, MachineConfig cfg);
  ~Machine();
  // Loads persisted state, listens, starts commsOnLine. False when the port is taken.
  bool start();
  void stop();
  int port() const;
  // Runs one text command (see docs/g2s.md "Simulator control"); returns "ok", a JSON
  // status, or "error: ...".
  std::string control(const std::string& line);
  std::string status_json() const;

 private:
  // transport and communications (machine.cpp)
  std::optional<SimServer::Answer> on_post(const std::string& target, const std::string& body);
  void on_command(const HostCommand& c);
  void send(const std::string& cls, const std::string& session_type, const std::string& command,
            std::int64_t session_id = 0, std::function<void(bool)> after = {},
            const std::string& error_code = {});
  void respond(const HostCommand& req, const std::string& command);
  void open_comms(bool device_reset);
  void send_comms_disabled();
  std::int64_t now() const;
  std::string device_id_for(const std::string& cls) const;

  // events, meters, persistence, control (machine_events.cpp)
  void raise(const std::string& code, std::string extra = {}, bool queued = true);
  void pump();
  void on_event_ack(std::int64_t event_id);
  void send_eod();
  void arm_periodic();
  void persist(const std::string& line);
  void load();
  void ram_clear();
  void ledger(const LogEntry& e);
  std::string run(const std::vector<std::string>& args);

  boost::asio::io_context& io_;
  MachineConfig cfg_;
  std::unique_ptr<SimServer> server_;
  std::unique_ptr<SimClient> client_;
  boost::asio::steady_timer comms_timer_, resend_timer_, periodic_timer_, eod_timer_, power_timer_;
  SimState state_ = SimState::closed;
  bool powered_off_ = false;  // between power-cycle's power.lost and power-up: silent
  bool subscribed_ = false;
  // Subscriptions the host holds after rights filtering (deviceClass, eventCode, persist).
  struct Sub {
    std::string dev_class, code;
    bool persist = true;
  };
  std::vector<Sub> subs_;
  std::set<std::string> no_rights_;        // device classes this host may not subscribe to
  std::map<std::string, bool> doors_open_; // main | logic | aux
  bool clock_settable_ = true;             // false: setDateTime answered with G2S_CBX001
  bool refuse_supported_ = false;          // getSupportedEvents answered with G2S_APX012
  bool device_reset_ = false;
  std::int64_t command_id_ = 0, session_id_ = 0, sync_timer_ms_ = 30000;
  std::int64_t next_event_id_ = 1, next_log_seq_ = 1, periodic_ms_ = 0;
  std::int64_t inflight_ = 0;  // eventId awaiting eventAck (0 = none)
  std::vector<LogEntry> log_;
  std::deque<std::int64_t> queue_;
  std::map<std::string, std::int64_t> meters_;
  std::int64_t handpay_mc_ = 0;
  std::int64_t vouchers_ = 0, bonuses_ = 0;  // running numbers for voucher ids and bonus ids
  bool eod_pending_ = false;
  std::string eod_dt_;
  // faults
  int malformed_ = 0;
  std::int64_t skew_ms_ = 0;
  bool unreachable_ = false, mute_ = false;
  int extra_meters_ = 0;
  // counters
  std::uint64_t sent_reports_ = 0, acks_ = 0, msx_ = 0, apx_ = 0, post_fail_ = 0,
                comms_online_ = 0, eod_acked_ = 0, periodic_sent_ = 0;
  std::string last_error_;
};

}  // namespace floorgate::egmsim::g2s
