#pragma once
// The seam between the technician web server and the appliance: the daemon implements
// Backend; the web server only calls it (always on the io_context thread that runs the
// server). JSON shapes are documented in docs/web-api.md.

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "floorgate/core/result.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <string_view>
#include <vector>

namespace floorgate::gateway::web {

// A local account. `role` is "viewer" (read only) or "technician" (may change configuration).
// `password_hash` is the `pbkdf2-sha256$<iterations>$<salt-b64>$<hash-b64>` text from
// hash_password().
struct User {
  std::string name;
  std::string role;
  std::string password_hash;
};

// One change to the web accounts (Backend::change_user).
struct UserChange {
  enum class Action { add, set_password, set_role, remove };
  Action action = Action::set_password;
  std::string account;
  std::string role;           // add, set_role: "viewer" | "technician"
  std::string password_hash;  // add, set_password
};

// Filter for the event browser; empty strings / nullopt mean "any". Times are UTC ms since
// the epoch (ts_gw). Results are newest first (descending seq), at most `limit` rows, and
// only rows with seq < before_seq when set (paging).
struct EventQuery {
  std::string egm;
  std::string type;    // exact type, or a prefix ending in '.' / '*' ("door." / "door.*")
  std::string cls;     // event class: financial|security|fault|operational|telemetry
  std::optional<std::int64_t> since_ms;
  std::optional<std::int64_t> until_ms;
  std::optional<std::uint64_t> before_seq;
  std::size_t limit = 200;  // the server clamps to [1, 5000]
};

// One configuration problem. `path` is a field path such as `buses[0].egms[2].address`
// (empty when unknown); line/column are 1-based positions in the YAML text (0 = unknown).
struct ConfigError {
  std::string path;
  int line = 0;
  int column = 0;
  std::string message;
};

// Outcome of validate/apply/rollback. `ok` false means nothing changed; `message` is a plain
// sentence for the page ("Applied; 9 EGMs configured", "Rolled back to the previous file").
struct ConfigResult {
  bool ok = false;
  std::vector<ConfigError> errors;
  std::string message;
};

// A candidate configuration after parsing and validation (Backend::check_config). `result`
// says whether it may be applied; a backend derives from it to keep what it parsed.
struct CheckedConfig {
  virtual ~CheckedConfig() = default;
  ConfigResult result;
};

// What the web server needs from the appliance. Every call happens on the web server's
// executor (the daemon's single io_context thread) and must not block for long, except
// check_config (see there).
class Backend {
 public:
  virtual ~Backend() = default;
  // Gateway identity, uptime, broker link, consumers' lag, rates, store, alarms.
  virtual boost::json::object dashboard() = 0;
  // One object per configured EGM (summary row).
  virtual boost::json::array egms() = 0;
  // What the periodic live push sends: the dashboard and the EGM rows. A backend that can take
  // both from one look at its EGMs overrides this (the push runs on the event loop).
  virtual std::pair<boost::json::object, boost::json::array> live_snapshot() {
    return {dashboard(), egms()};
  }
  // Detail for one EGM (identity, meters); nullopt when the id is unknown. No store read: the
  // server adds its recent events with events().
  virtual std::optional<boost::json::object> egm(std::string_view id) = 0;
  // Stored rows, answered through `done` on the executor, later: the store reads them off the
  // loop (a filter may scan the whole file). An error (store busy, closed, a failed read) is
  // an error, never fewer rows. `done` is called exactly once, on the executor (the appliance
  // answers later; a test backend may answer at once).
  using RowsHandler = std::function<void(core::Result<boost::json::array>)>;
  // Stored events matching the query, newest first.
  virtual void events(const EventQuery& query, RowsHandler done) = 0;
  // The current configuration file, verbatim.
  virtual std::string config_yaml() = 0;
  // The current configuration as a JSON tree (same keys as the YAML) for the forms.
  virtual boost::json::object config_document() = 0;
  // The JSON Schema of the configuration file (every key with its type, range, default and
  // help); the page renders its forms from it. Constant while the program runs.
  virtual const boost::json::value& config_schema() = 0;
  // Parses and validates a candidate YAML document with the daemon's own validator. The one
  // call NOT on the executor: the web server runs it on its worker thread, because its cost
  // depends on what a client sent. It must touch no state that the executor changes.
  virtual std::shared_ptr<const CheckedConfig> check_config(std::string yaml) const = 0;
  // Configuration changes answer through `done` on the executor, later: the files are written
  // (tmp + fsync + rename, the previous file kept) off the event loop, then the change is
  // applied on it and recorded as a `config.changed` audit event. One at a time: a change
  // asked for while another is being written is refused with a sentence saying so.
  using ConfigHandler = std::function<void(ConfigResult)>;
  // Installs a configuration that check_config accepted, by `user`.
  virtual void apply_config(std::shared_ptr<const CheckedConfig> checked, const std::string& user,
                            ConfigHandler done) = 0;
  // Restores the previous configuration file.
  virtual void rollback_config(const std::string& user, ConfigHandler done) = 0;
  // Adds, re-keys, re-roles or removes web account `change.account` in the configuration file
  // (password hashes are made by the server; a clear password never gets past the request),
  // by `by`. At least one technician always remains.
  virtual void change_user(const UserChange& change, const std::string& by,
                           ConfigHandler done) = 0;
  // Starts a ROM signature check (SAS LP 21) of EGM `id` for `user`; the result arrives later
  // as an event (egm.rom_signature, egm.rom_signature_mismatch or egm.rom_signature_failed).
  // Returns an empty string, or why not.
  virtual std::string request_rom_check(std::string_view id, const std::string& user) {
    (void)id;
    (void)user;
    return "ROM signature checks are not available here";
  }
  // The last hour, one point per minute (events/s, consumers' unacked and oldest age):
  // {"step_s":60,"points":[...]} as History::to_json (floorgate/gateway/history.hpp).
  virtual boost::json::object history() { return {{"step_s", 60}, {"points", boost::json::array{}}}; }
  // Configuration audit records, newest first (the same answer as events()).
  virtual void audit(RowsHandler done) = 0;
  // Prometheus text exposition format (version 0.0.4), complete with HELP/TYPE lines.
  virtual std::string metrics_text() = 0;
  // Probes for monitoring stacks (no login): liveness = the event loop makes progress;
  // readiness = store open, broker connected, every bus started. `detail` says what failed.
  struct Probe {
    bool ok = true;
    boost::json::object detail;
  };
  virtual Probe liveness() { return {}; }
  virtual Probe readiness() { return {}; }
  // Registers the one callback the server uses for live updates: the backend calls it (on
  // the server's executor) with {"kind": "event"|"egm"|"dashboard"|..., ...} objects. While
  // listening() is false (no live stream open) the backend need not build them at all.
  virtual void subscribe_live(std::function<void(const boost::json::object&)> on_live,
                              std::function<bool()> listening) = 0;
};

}  // namespace floorgate::gateway::web
