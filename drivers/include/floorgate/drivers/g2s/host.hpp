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

class Host {
 public:
  // ex: the daemon's event loop; sink: where events go; now_ms: wall clock (UTC ms).
  Host(boost::asio::any_io_executor ex, HostConfig config, EventSink& sink,
       std::function<std::int64_t()> now_ms);
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
