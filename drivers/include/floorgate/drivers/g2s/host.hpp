#pragma once
// The G2S host driver: the gateway joins network EGMs as a (guest) G2S host over SOAP 1.1 /
// HTTP, subscribes to their events with persist-until-ack and turns them into the same
// normalized Events the SAS driver produces. eventAck / meterInfoAck go out only after the
// EventSink reported the event durable. See docs/g2s.md.
//
// Threading: construct, call and destroy on the executor passed in (the daemon's event loop,
// one thread). Nothing blocks; every request has a deadline.

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "floorgate/drivers/event.hpp"

namespace floorgate::core {
class Clock;
}

namespace floorgate::drivers::g2s {

// One network EGM the gateway talks to.
struct EgmConfig {
  std::string id;        // gateway EGM id (Event::egm), e.g. "bank3-07"
  std::string egm_id;    // the EGM's G2S egmId, e.g. "IGT_00012E492815"
  std::string location;  // fallback egmLocation, e.g. "http://127.0.0.1:18080/G2S"; the
                         // commsOnLine's egmLocation wins when the EGM sends one
};

// The (event id, event time) pair G2S events are deduplicated on, per EGM.
struct SeenKey {
  std::int64_t event_id = 0;
  std::string event_dt;  // eventDateTime exactly as the EGM sent it
  bool operator==(const SeenKey&) const = default;
};

struct HostConfig {
  std::string host_id = "1";      // our G2S hostId as registered on the EGMs
  std::string bind = "127.0.0.1"; // listen address of the POST /G2S server
  int port = 0;                   // listen port; 0 = pick a free one (see Host::port())
  std::chrono::seconds keepalive{10};         // host keepAlive period per online EGM
  int keepalive_misses = 3;                   // consecutive misses before link.down
  std::chrono::milliseconds request_timeout{5000};  // per outbound POST (connect+write+read)
  std::chrono::milliseconds time_to_live{30000};    // timeToLive we put on our requests
  std::chrono::milliseconds sync_timer{30000};      // commsOnLineAck/commsDisabledAck syncTimer
  std::size_t max_body_bytes = 4 * 1024 * 1024;     // larger HTTP bodies get 413
  // Meters: device classes for getMeterInfo/setMeterSub getDeviceMeters ("G2S_all" = every
  // device); currency meters are always requested.
  std::vector<std::string> meter_classes = {"G2S_cabinet", "G2S_noteAcceptor"};
  std::chrono::milliseconds meter_period{900000};   // periodic meter push (>= 60000)
  // true: after getSupportedEvents, one wildcard subscription per device class the EGM lists
  // (G2S_gamePlay without persistence); if getSupportedEvents is refused, one G2S_all
  // wildcard instead. false: the v1 code list (game play not persisted).
  // Either way getEventSub then checks that every supported event the gateway maps is
  // subscribed; a missing one (a guest host without rights to that device) is a
  // g2s.subscription_missing fault event and `subscriptions: "missing"` in the status.
  bool subscribe_all_events = true;
  // cabinet setDateTime (owner only; an NTP-disciplined EGM refuses it) at link-up and when
  // the EGM's clock is more than clock_set_threshold off ours.
  bool set_egm_clock = true;
  std::chrono::milliseconds clock_set_threshold{5000};
  // Wait after the eventHandlerLog arrives before backfilling, so that events still in the
  // EGM's persistent queue arrive live (with their details) rather than from the log.
  std::chrono::milliseconds backfill_delay{3000};  // G2S_all/-1/G2S_all, else the v1 code list
  std::vector<EgmConfig> egms;
  // Optional: keys of G2S events already committed for one EGM (gateway id), newest last.
  // Called once per EGM from start(); lets dedupe survive a gateway restart. The daemon
  // answers it from the store with SeenKeys over recent g2s events.
  std::function<std::vector<SeenKey>(const std::string& egm)> recent_keys;
  // Optional: which of `keys` are stored for one EGM (gateway id), looking at events stored
  // since `since_ms` (gateway time). Asked before the backfill stores log entries the host
  // holds no key of: a log entry gets no eventAck, so the EGM lists it unacknowledged after it
  // was stored, and a gateway restart that forgot its key would store it again. `done` is
  // called on the executor with the keys found. Without it such entries are stored (a
  // duplicate rather than a loss).
  std::function<void(const std::string& egm, std::vector<SeenKey> keys, std::int64_t since_ms,
                     std::function<void(std::vector<SeenKey> found)> done)>
      stored_keys;
  // Mutual TLS (PEM files). All three set: POST /G2S is HTTPS and requires an EGM client
  // certificate that chains to tls_ca_file; outbound POSTs go to https:// egmLocations only,
  // present tls_cert_file and verify the EGM's certificate (chain and the URL's host). All
  // empty: plain HTTP. Anything in between, or an unloadable file, makes start() fail.
  std::string tls_cert_file, tls_key_file, tls_ca_file;
  // Optional: one-line warnings for the daemon's log (refused TLS handshakes, outbound POST
  // failures when their reason changes, unusable egmLocations, TLS set-up errors). Called on
  // the executor.
  std::function<void(const std::string&)> log;
};

// Host-side view of one EGM's communications state.
enum class CommsState : std::uint8_t { closed, sync, online };
std::string_view to_string(CommsState s);

// Snapshot of one EGM for status topics and the technician page.
struct EgmStatus {
  std::string id;                   // gateway EGM id
  std::string egm_id;               // G2S egmId
  std::string location;             // current egmLocation
  CommsState state = CommsState::closed;
  bool link_up = false;
  std::int64_t last_seen_ms = 0;    // wall time of the last message from the EGM (0 = never)
  std::uint64_t events_received = 0;   // eventReports accepted (incl. duplicates)
  std::uint64_t events_committed = 0;  // submitted and reported durable
  std::uint64_t duplicates = 0;        // deduped resends / backfill entries
  std::uint64_t acks_sent = 0;         // eventAck + meterInfoAck posted
  std::uint64_t post_failures = 0;     // outbound POSTs that failed or got a g2sAck error
  std::uint64_t rejected = 0;          // inbound messages answered with an error
  std::int64_t clock_skew_ms = 0;      // EGM dateTimeSent - gateway time, last message
  std::string subscriptions = "unknown";  // ok | missing | unknown (getEventSub not answered)
  std::string missing_events;             // supported, mapped, not subscribed (first 50, commas)
  std::string no_rights;                  // "class/id" devices neither owned nor guested by us
  std::string clock_set_error;            // errorCode of a refused setDateTime ("" = none)
  std::uint64_t clock_sets = 0;           // setDateTime answered with the EGM's new time
  // Money events checked against the meters their eventReport carried (docs/reconciliation.md).
  std::uint64_t reconciliations = 0;           // windows compared (meters.reconciled)
  std::uint64_t reconciliation_mismatches = 0;  // reconciliation.mismatch events
  std::string last_mismatch;  // e.g. "bills_in: meters 2000000, events 0 (millicents)"
};

// Counters for hostile or broken input that never got as far as an EGM.
struct HostCounters {
  std::uint64_t http_requests = 0;
  std::uint64_t http_rejected = 0;  // 4xx answers (bad method/path, body too large, bad SOAP)
  std::uint64_t msx_errors = 0;     // g2sAck answers carrying an error code
  std::uint64_t tls_rejected = 0;   // inbound TLS handshakes refused (no or untrusted certificate)
  std::uint64_t peer_rejected = 0;  // requests refused: sender is not the EGM of that egmId
                                    // (address, certificate name) or moved its egmLocation
};

// The host's outbound channel to one EGM: an ordered queue of SOAP POSTs to its egmLocation,
// one in flight. The product's is Boost.Beast (g2s/http_client.hpp); unit tests give the host
// a fake (HostDrive) and answer the posts by hand.
class PostQueue {
 public:
  // ec empty and status 200: `body` is the EGM's reply. Runs on the host's executor.
  using Done = std::function<void(std::error_code ec, unsigned status, std::string body)>;
  virtual ~PostQueue() = default;
  // "http(s)://host:port/path"; false when unusable (posts then fail; see target_problem()).
  virtual bool set_target(const std::string& url) = 0;
  virtual const std::string& target_problem() const = 0;
  // Queues one POST; FIFO.
  virtual void post(std::string body, Done done) = 0;
  // Drops queued (not yet sent) requests; their callbacks get operation_canceled.
  virtual void clear() = 0;
  virtual std::size_t queued() const = 0;
  // Detail of the last failed request; "" after a success.
  virtual const std::string& last_error() const = 0;
  // Closes the connection, drops everything. Idempotent.
  virtual void stop() = 0;
};

// An inbound POST /G2S as the host sees it (from its HTTP server, or from a test).
struct InboundPeer {
  std::string address;                  // the client's IP address
  bool tls = false;                     // came over HTTPS with a verified client certificate
  std::vector<std::string> cert_names;  // CN, SAN DNS names and URIs of that certificate
};
struct InboundReply {
  unsigned status = 200;
  std::string body;
  std::string content_type = "text/xml; charset=utf-8";
};

// How a Host meets the world. The defaults are the product's: an HTTP(S) server on
// HostConfig::bind/port, Beast POST queues, Asio timers on the system clock. A unit test sets
// listen and timers to false, supplies the post queues and a core::ManualClock, hands requests
// to Host::handle() and moves time with Host::poll().
struct HostDrive {
  const core::Clock* clock = nullptr;  // steady time of the keepAlive/backfill deadlines
  std::function<std::unique_ptr<PostQueue>(const EgmConfig&)> post_queue;  // empty: Beast
  bool listen = true;  // false: no server; requests arrive through handle()
  bool timers = true;  // false: keepAlive and backfill run from poll() when due on `clock`
};

class Host {
 public:
  // ex: the daemon's event loop; sink: where events go; now_ms: wall clock (UTC ms).
  Host(boost::asio::any_io_executor ex, HostConfig config, EventSink& sink,
       std::function<std::int64_t()> now_ms, HostDrive drive = {});
  ~Host();
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  // Binds and starts listening; fails with the bind error or invalid_argument (bad config,
  // unusable TLS files: the reason goes to HostConfig::log).
  std::error_code start();
  // Cancels timers, closes sockets; in-flight sink callbacks become no-ops. Idempotent.
  void stop();
  // The bound port (after start()).
  int port() const;
  // True when start() set up mutual TLS (POST /G2S is HTTPS).
  bool tls() const;
  // One entry per configured EGM, in config order.
  std::vector<EgmStatus> status() const;
  HostCounters counters() const;
  // Called on the executor whenever an EGM's state or link changes.
  void on_status_change(std::function<void(const EgmStatus&)> cb);
  // One inbound POST, answered as the HTTP server would (the server calls the same code).
  InboundReply handle(const InboundPeer& peer, std::string_view method, std::string_view target,
                      std::string_view body);
  // With HostDrive::timers false: runs the keepAlive and backfill steps that are due on the
  // drive's clock.
  void poll();

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// Extracts the dedupe key from the attrs_json of an eventReport this driver produced (attrs
// "event_id" and "event_dt"); nullopt for other events. Pure, any thread.
std::optional<SeenKey> seen_key_from_attrs(std::string_view attrs_json);

// Builds HostConfig::recent_keys from stored events of one EGM, fed oldest first: the
// eventReport keys (seen_key_from_attrs), then {-1, "G2S_onEOD@<meterDateTime>"} for each
// end-of-day meterInfo whose every part (meters.snapshot part 1..parts) was fed, so a meterInfo
// the EGM re-sends after a gateway restart is acked, not stored again. A push with a part
// missing (a failed commit) yields no key: the resend is stored (a duplicate, never a loss).
class SeenKeys {
 public:
  void add(std::string_view attrs_json);
  std::vector<SeenKey> keys() const;

 private:
  struct Eod {
    std::int64_t parts = 0;  // -1: parts disagree
    std::set<std::int64_t> seen;
  };
  std::vector<SeenKey> events_;
  std::map<std::string, Eod> eod_;
};

}  // namespace floorgate::drivers::g2s
