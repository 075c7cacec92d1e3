// ApplianceBackend: configuration apply/rollback with audit, the audit list and /metrics.
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <algorithm>
#include <fstream>
#include <sstream>

#include "app/backend.hpp"
#include "app/config_json.hpp"
#include "floorgate/config/schema.hpp"
#include "floorgate/drivers/json_writer.hpp"

namespace floorgate::gateway::app {
namespace json = boost::json;

namespace {

std::filesystem::path previous_path(const std::filesystem::path& p) {
  return p.string() + ".prev";
}

web::ConfigResult failure(std::string message) {
  web::ConfigResult r;
  r.ok = false;
  r.message = std::move(message);
  return r;
}

constexpr const char* kNoConfigFile =
    "The gateway runs on its embedded defaults (no --config file); "
    "start it with --config FILE to edit the configuration here.";

web::ConfigResult not_applied(web::ConfigResult r) {
  r.ok = false;
  r.message = "Not applied: the configuration has errors";
  return r;
}

}  // namespace

}  // namespace floorgate::gateway::app

namespace floorgate::gateway {

std::string write_file_atomically(const std::filesystem::path& path, const std::string& text) {
  auto tmp = path.string() + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) return "cannot create " + tmp + ": " + std::strerror(errno);
  const char* p = text.data();
  std::size_t left = text.size();
  while (left > 0) {
    auto n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::string err = std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return "cannot write " + tmp + ": " + err;
    }
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(tmp.c_str());
    return "cannot flush " + tmp + ": " + std::strerror(errno);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    std::string err = std::strerror(errno);
    ::unlink(tmp.c_str());
    return "cannot rename " + tmp + ": " + err;
  }
  auto dir = path.parent_path().empty() ? std::filesystem::path(".") : path.parent_path();
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

}  // namespace floorgate::gateway

namespace floorgate::gateway::app {

// Validates `yaml`, keeps the current file as <path>.prev, writes the new one atomically,
// applies it and records who changed what in the hash-chained store.
web::ConfigResult ApplianceBackend::install(const std::string& yaml, const config::Config& cfg,
                                            const std::string& user, const std::string& action,
                                            std::string what) {
  std::string current;
  {
    std::ifstream in(rt_.config_path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    current = ss.str();
  }
  if (auto err = write_file_atomically(previous_path(rt_.config_path), current); !err.empty()) {
    return failure("Not applied: " + err);
  }
  if (auto err = write_file_atomically(rt_.config_path, yaml); !err.empty()) {
    return failure("Not applied: " + err);
  }
  if (what.empty()) what = describe_change(rt_.cfg, cfg);
  control_.apply(cfg);
  drivers::JsonWriter w;
  w.add("user", user).add("action", action).add("what", what).add("file",
                                                                   rt_.config_path.string());
  control_.record_audit("config.changed", std::move(w).finish());
  spdlog::info("configuration {} by {}: {}", action, user, what);
  web::ConfigResult r;
  r.ok = true;
  int egms = 0;
  for (const auto& b : rt_.cfg.buses) egms += static_cast<int>(b.egms.size());
  r.message = (action == "rollback" ? "Rolled back to the previous file; "
                                    : "Applied; ") +
              std::to_string(egms) + " EGMs configured (" + what + ")";
  return r;
}

const json::value& ApplianceBackend::config_schema() {
  static const json::value schema = json::parse(config::config_schema_json());
  return schema;
}

web::ConfigResult ApplianceBackend::apply_config(std::shared_ptr<const web::CheckedConfig> checked,
                                                 const std::string& user) {
  if (rt_.config_path.empty()) return failure(kNoConfigFile);
  const auto* c = dynamic_cast<const CheckedYaml*>(checked.get());
  if (!c || !c->config) return not_applied(checked ? checked->result : web::ConfigResult{});
  return install(c->yaml, *c->config, user, "apply");
}

web::ConfigResult ApplianceBackend::change_user(const web::UserChange& change,
                                                const std::string& by) {
  using Action = web::UserChange::Action;
  if (rt_.config_path.empty()) return failure(kNoConfigFile);
  config::Config next = rt_.cfg;
  auto& users = next.web.users;
  const std::string& name = change.account;
  auto it = std::find_if(users.begin(), users.end(),
                         [&](const config::WebUserConfig& u) { return u.name == name; });
  if (change.action == Action::add && it != users.end())
    return failure("There is already a web account named '" + name + "'.");
  if (change.action != Action::add && it == users.end())
    return failure("There is no web account named '" + name + "'.");
  config::WebRole role = config::WebRole::viewer;
  if (change.action == Action::add || change.action == Action::set_role) {
    if (change.role == "technician") role = config::WebRole::technician;
    else if (change.role != "viewer") return failure("A role is viewer or technician.");
  }
  std::string what, done;
  switch (change.action) {
    case Action::add:
      users.push_back({name, role, change.password_hash});
      what = "web account " + name + " added as " + change.role;
      done = "Account " + name + " added (" + change.role + ")";
      break;
    case Action::set_password:
      it->password_hash = change.password_hash;
      what = "password of web account " + name + " set";
      done = "Password of " + name + " set; its sessions have ended";
      break;
    case Action::set_role:
      it->role = role;
      what = "web account " + name + " is now " + change.role;
      done = name + " is now " + change.role + "; its sessions have ended";
      break;
    case Action::remove:
      users.erase(it);
      what = "web account " + name + " removed";
      done = "Account " + name + " removed";
      break;
  }
  // Whoever is left must be able to change the configuration again.
  const bool technician_left =
      std::any_of(users.begin(), users.end(),
                  [](const config::WebUserConfig& u) { return u.role == config::WebRole::technician; });
  if (!technician_left)
    return failure("Not changed: at least one technician account must remain.");
  // The file is re-emitted from the configuration (its comments are not kept; the previous
  // file stays as .prev like any apply).
  web::ConfigResult r = install(config::to_yaml(next), next, by, "user", what);
  if (r.ok) r.message = done;
  return r;
}

// The previous file is our own (it was applied before), so it is parsed here on the loop.
web::ConfigResult ApplianceBackend::rollback_config(const std::string& user) {
  if (rt_.config_path.empty()) return failure(kNoConfigFile);
  auto prev = previous_path(rt_.config_path);
  std::ifstream in(prev, std::ios::binary);
  if (!in) return failure("There is no previous configuration to roll back to.");
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string yaml = ss.str();
  auto loaded = config::load_string(yaml, rt_.config_path.filename().string() + ".prev");
  if (!loaded.config) {
    web::ConfigResult r;
    for (const auto& e : loaded.errors) r.errors.push_back(web_error(e));
    return not_applied(std::move(r));
  }
  return install(yaml, *loaded.config, user, "rollback");
}

void ApplianceBackend::audit(RowsHandler done) {
  store::QueryFilter f;
  f.type = "config.changed";
  f.limit = 200;
  stored_rows(std::move(f), std::move(done));
}

}  // namespace floorgate::gateway::app
