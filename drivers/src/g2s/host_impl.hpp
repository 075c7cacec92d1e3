#pragma once
// Private state of g2s::Host, shared by host.cpp (transport, communications) and
// host_events.cpp (eventHandler, meters). Everything runs on the one executor.

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <array>
#include <deque>
#include <map>
#include <memory>
#include <set>

#include "floorgate/core/clock.hpp"
#include "floorgate/drivers/g2s/host.hpp"
#include "floorgate/drivers/reconcile.hpp"
#include "g2s/event_map.hpp"
#include "g2s/http_client.hpp"
#include <floorgate/net/http_server.hpp>
#include "g2s/xml_codec.hpp"

namespace boost::asio::ssl {
class context;
}

namespace floorgate::drivers::g2s {

using Key = std::pair<std::int64_t, std::string>;  // (eventId, eventDateTime)

struct PendingEvent {
  std::int64_t session_id = 0;  // latest eventReport sessionId to echo in eventAck
  std::string device_id;        // eventHandler deviceId of that report
  bool ack_wanted = false;      // backfilled entries are not acked
};

struct EgmLink {
  EgmConfig cfg;
  EgmStatus st;
  std::unique_ptr<PostQueue> client;
  std::unique_ptr<boost::asio::steady_timer> keepalive_timer;
  // Without timers (HostDrive::timers false): when keepAlive / backfill are due, in the drive
  // clock's steady ms (0 = not armed).
  std::int64_t keepalive_due_ms = 0, backfill_due_ms = 0;
  bool handshaken = false;       // commsOnLine seen since start / since link loss
  std::uint64_t generation = 0;  // association epoch; stale callbacks compare it
  std::int64_t next_command_id = 1;
  std::int64_t next_session_id = 1;
  int keepalive_misses = 0;
  bool keepalive_outstanding = false;
  std::int64_t max_event_id = 0;
  std::int64_t max_log_sequence = 0;
  std::set<Key> seen;
  std::deque<Key> seen_order;
  std::map<Key, PendingEvent> pending;
  std::int64_t first_live_id = 0;           // first eventReport id of this association
  std::vector<Element> backfill;            // unacked log entries waiting for backfill_delay
  std::unique_ptr<boost::asio::steady_timer> backfill_timer;
  std::string post_error;                   // reason of the last failed POST ("" = working)
  // Plain HTTP: the addresses requests for this egmId may come from (the configured
  // location's host, resolved at start). Unused with mutual TLS or without a location.
  std::set<std::string> peer_addresses;
  bool peer_addresses_ready = false;
  bool drift_alarmed = false;  // egm.clock_drift sent; cleared when back within half the bound
  std::map<std::string, std::string> supported;  // eventCode -> deviceClass (supportedEvents)
  std::int64_t sub_check_session = 0;  // sessionId of our getEventSub (its eventSubList answer)
  std::int64_t supported_session = 0;  // sessionId of our getSupportedEvents until answered
  bool cabinet_status_wanted = false;  // the start-up getCabinetStatus is unanswered
  bool clock_set_sent = false;         // setDateTime in flight (one at a time)
  // Per reconciled category: the window since the last reading of its meters, and which
  // meters that reading summed (a different set starts a new baseline).
  std::array<Reconciler, kReconCategories> recon;
  std::array<std::string, kReconCategories> recon_meters;
  // eventIds the store failed to commit, until their resend commits: a resend may come after
  // later events (not an event log reset; not judged by the reconciliation).
  std::set<std::int64_t> failed_ids;
};

struct Host::Impl : std::enable_shared_from_this<Host::Impl> {
  static constexpr std::size_t kSeenCap = 8192;
  static constexpr std::int64_t kClockDriftAlarmMs = 30000;  // the field's APX011 horizon

  Impl(boost::asio::any_io_executor e, HostConfig c, EventSink& s, std::function<std::int64_t()> n,
       HostDrive d)
      : ex(e), cfg(std::move(c)), sink(s), now_ms(std::move(n)),
        clock(d.clock ? *d.clock : core::system_clock()), drive(std::move(d)) {}

  boost::asio::any_io_executor ex;
  HostConfig cfg;
  EventSink& sink;
  std::function<std::int64_t()> now_ms;
  const core::Clock& clock;
  HostDrive drive;
  std::unique_ptr<net::HttpServer> server;
  std::vector<std::unique_ptr<EgmLink>> egms;
  std::function<void(const EgmStatus&)> status_cb;
  HostCounters counters;
  bool stopped = false;
  std::shared_ptr<boost::asio::ssl::context> tls_server, tls_client;  // both or neither
  std::map<std::string, std::int64_t> tls_reasons_logged;  // reason -> when last logged (ms)
  std::map<std::string, std::int64_t> peer_refusals_logged;  // same, for refused peers
  std::unique_ptr<boost::asio::ip::tcp::resolver> resolver;

  // host.cpp
  InboundReply on_http(const InboundPeer& peer, std::string_view method,
                       std::string_view target, std::string_view body);
  // Is `peer` allowed to speak for `e`? Empty = yes, else the reason (host_tls.cpp).
  std::string peer_problem(const EgmLink& e, const InboundPeer& peer) const;
  // A commsOnLine egmLocation that differs from the configured location: the reason.
  std::string location_problem(const EgmLink& e, const std::string& egm_location) const;
  void resolve_peer_addresses(EgmLink& e);
  void refuse_peer(EgmLink& e, const std::string& why);
  void check_clock_drift(EgmLink& e);
  EgmLink* find_egm(std::string_view egm_id);
  std::string reply_ack(const G2sMessage& m, std::string_view error);
  void dispatch(EgmLink& e, const Element& cls, const std::string& raw);
  void on_comms(EgmLink& e, const Element& cls, const Element& cmd);
  // Returns the sessionId the request went out with.
  // `device_id`: the class element's deviceId ("" = our hostId, for host-oriented classes).
  std::int64_t send(EgmLink& e, std::string_view cls, std::string_view session_type,
                    std::string command_xml, std::int64_t session_id = 0,
                    std::string_view device_id = {});
  void respond(EgmLink& e, const Element& req_cls, std::string command_xml,
               std::string_view error = {});
  void go_online(EgmLink& e);
  void go_offline(EgmLink& e, std::string_view reason, bool drop_handshake);
  void arm_keepalive(EgmLink& e);
  void arm_backfill(EgmLink& e);
  // Runs `step` on `e` after `delay`: an Asio timer, or (HostDrive::timers false) a deadline
  // in `due_ms` that Host::poll() checks on the drive's clock.
  void arm(EgmLink& e, boost::asio::steady_timer& timer, std::int64_t& due_ms,
           std::chrono::milliseconds delay, void (Impl::*step)(EgmLink&));
  void on_keepalive_tick(EgmLink& e);
  void notify(EgmLink& e);
  void emit_link(EgmLink& e, bool up, std::string_view reason);
  // An event the host raises itself (link, alarms, resets): submitted, not acknowledged to
  // anyone, so nothing waits on its durability.
  void emit_own(EgmLink& e, std::string type, EventClass cls, std::string source,
                std::string attrs_json);
  void warn(const std::string& line);
  void on_post_result(EgmLink& e, std::error_code ec, unsigned status);
  void on_tls_reject(const std::string& peer, const std::string& reason);
  void set_target(EgmLink& e, const std::string& url);
  std::error_code setup_tls();

  // host_events.cpp
  void on_event_handler(EgmLink& e, const Element& cls, const Element& cmd, const std::string& raw);
  void on_event_report(EgmLink& e, const Element& cls, const Element& report, const std::string& raw,
                       bool backfill);
  void on_log_list(EgmLink& e, const Element& list);
  void run_backfill(EgmLink& e);
  void backfill_entries(EgmLink& e, const std::vector<Element>& entries,
                        const std::vector<SeenKey>& stored);
  void on_meters(EgmLink& e, const Element& cls, const Element& cmd);
  // A committed live money event: its amount joins its category's window, and the meters it
  // carried (if any) close the window (meters.reconciled, reconciliation.mismatch).
  void reconcile(EgmLink& e, const MoneyReading& m, std::int64_t event_id);
  // One closed window: meters.reconciled, and reconciliation.mismatch with the status counters
  // when it differs.
  void publish_window(EgmLink& e, const ReconResult& res, const ReconLine& l,
                      const std::string& meters, std::int64_t event_id);
  // Every category starts a new baseline: a new association (events may arrive out of order
  // from the log), or around an event that was not committed (the EGM sends it again after
  // later ones): when it fails and when its resend commits.
  void restart_reconciliation(EgmLink& e);
  // An eventReport the store did not commit (`money`: one the reconciliation counts).
  void commit_failed(EgmLink& e, std::int64_t event_id, bool money);
  // supportedEvents -> setEventSub + getEventSub; eventSubList -> the subscription check.
  void on_supported_events(EgmLink& e, const Element& list);
  void check_subscriptions(EgmLink& e, const Element& list);
  void on_event_handler_error(EgmLink& e, const Element& cls);
  // cabinetStatus at start-up -> state events; cabinetDateTime -> the clock after setDateTime.
  void on_cabinet(EgmLink& e, const Element& cls, const Element& cmd);
  void maybe_set_clock(EgmLink& e);
  // descriptorList -> the devices this host has no rights to (status no_rights, one event).
  void on_descriptors(EgmLink& e, const Element& list);
  void remember(EgmLink& e, const Key& k);
  void subscribe_all(EgmLink& e);
  void send_event_ack(EgmLink& e, std::int64_t event_id, std::int64_t session_id);
};

}  // namespace floorgate::drivers::g2s
