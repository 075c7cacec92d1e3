#pragma once
// The web page's view of the running appliance (web::Backend) and the Prometheus text.

#include <boost/asio/thread_pool.hpp>
#include <functional>

#include "app/runtime.hpp"
#include "floorgate/gateway/appliance.hpp"
#include "floorgate/gateway/web/backend.hpp"

namespace floorgate::gateway::app {

// One stored event as the page shows it (and as the live feed sends it, with "kind":"event").
boost::json::object event_json(const store::Record& r);

// What check_config parsed: the text to write and the configuration to apply.
struct CheckedYaml final : web::CheckedConfig {
  std::string yaml;
  std::optional<config::Config> config;
};

// What the web backend may change in the running appliance. The composition root
// (Appliance::Impl) implements it and is the only code that changes the Runtime: the backend
// reads the Runtime through a const reference and acts only through this.
class ApplianceControl {
 public:
  virtual ~ApplianceControl() = default;
  // Applies a validated configuration to the running appliance (as SIGHUP does).
  virtual void apply(const config::Config& next) = 0;
  // Records a security audit event (config.changed) in the store, retried until durable.
  virtual void record_audit(std::string type, std::string attrs_json) = 0;
  // The web page's live feed: called with every durable event and dashboard change while
  // listening() says a viewer has the page open.
  virtual void set_live_feed(std::function<void(const boost::json::object&)> feed,
                             std::function<bool()> listening) = 0;
  // Starts a ROM signature check (SAS LP 21) of `egm` on running bus `bus`; "" or why not.
  virtual std::string request_rom_check(const std::string& bus, const std::string& egm) = 0;
};

class ApplianceBackend final : public web::Backend {
 public:
  ApplianceBackend(const Runtime& rt, ApplianceControl& control) : rt_(rt), control_(control) {}

  boost::json::object dashboard() override;
  boost::json::array egms() override;
  std::pair<boost::json::object, boost::json::array> live_snapshot() override;
  std::optional<boost::json::object> egm(std::string_view id) override;
  void events(const web::EventQuery& query, RowsHandler done) override;
  std::string config_yaml() override;
  boost::json::object config_document() override;
  const boost::json::value& config_schema() override;
  std::shared_ptr<const web::CheckedConfig> check_config(std::string yaml) const override;
  void apply_config(std::shared_ptr<const web::CheckedConfig> checked, const std::string& user,
                    ConfigHandler done) override;
  void rollback_config(const std::string& user, ConfigHandler done) override;
  std::string request_rom_check(std::string_view id, const std::string& user) override;
  void change_user(const web::UserChange& change, const std::string& by,
                   ConfigHandler done) override;
  void audit(RowsHandler done) override;
  boost::json::object history() override { return rt_.history().to_json(); }
  std::string metrics_text() override;
  Probe liveness() override;
  Probe readiness() override;
  void subscribe_live(std::function<void(const boost::json::object&)> on_live,
                      std::function<bool()> listening) override;

 private:
  boost::json::object dashboard(const std::vector<EgmView>& views);
  static boost::json::array egm_rows(const std::vector<EgmView>& views);
  // The rows of `filter` as the page's event objects: read and converted on the store's
  // query thread, answered on the loop.
  void stored_rows(store::QueryFilter filter, RowsHandler done);
  // A configuration change on its way: written off the loop, then applied on it.
  struct Install {
    std::string yaml;    // the new file
    config::Config cfg;  // `yaml` parsed
    std::string user, action;
    std::string what;    // what changed, for the audit event (default: the sections that differ)
  };
  // Keeps the current file as <path>.prev and writes `x.yaml` atomically on the file thread,
  // then (on the loop) applies `x.cfg` and records who changed what in the hash-chained store.
  void install(Install x, ConfigHandler done);
  void installed(const std::string& write_error, Install& x, const ConfigHandler& done);

  const Runtime& rt_;
  ApplianceControl& control_;
  bool installing_ = false;  // a change is being written: the next one is refused
  std::shared_ptr<ApplianceBackend*> alive_ = std::make_shared<ApplianceBackend*>(this);
  // The configuration files are written (and fsynced) here, never on the loop. Declared last:
  // destroyed first, it finishes the write in progress before the rest goes.
  boost::asio::thread_pool files_{1};
};

// A validator error for the page, with the field path taken from the message.
web::ConfigError web_error(const config::ConfigError& e);

using gateway::write_file_atomically;  // floorgate/gateway/appliance.hpp

}  // namespace floorgate::gateway::app
