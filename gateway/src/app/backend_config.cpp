// ApplianceBackend: configuration apply/rollback with audit, the audit list and /metrics.
#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
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

// Keeps the current file as <path>.prev and writes `yaml` over it, both atomically (fsync).
// Runs on the file thread. "" or why not.
std::string write_config_files(const std::filesystem::path& path, const std::string& yaml) {
  std::string current;
  {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    current = ss.str();
  }
  if (auto err = write_file_atomically(previous_path(path), current); !err.empty()) return err;
  return write_file_atomically(path, yaml);
}

void ApplianceBackend::install(Install x, ConfigHandler done) {
  if (installing_) {
    return done(failure("Not applied: another configuration change is being written; try again "
                        "in a moment."));
  }
  installing_ = true;
  std::weak_ptr<ApplianceBackend*> weak = alive_;
  boost::asio::post(files_, [weak, ex = rt_.io().get_executor(), path = rt_.config_path(),
                             x = std::move(x), done = std::move(done)]() mutable {
    std::string err = write_config_files(path, x.yaml);
    boost::asio::post(ex, [weak, err = std::move(err), x = std::move(x),
                           done = std::move(done)]() mutable {
      if (auto self = weak.lock()) (*self)->installed(err, x, done);
    });
  });
}

void ApplianceBackend::installed(const std::string& write_error, Install& x,
                                 const ConfigHandler& done) {
  installing_ = false;
  if (!write_error.empty()) return done(failure("Not applied: " + write_error));
  if (x.what.empty()) x.what = describe_change(rt_.cfg(), x.cfg);
  control_.apply(x.cfg);
  drivers::JsonWriter w;
  w.add("user", x.user).add("action", x.action).add("what", x.what).add("file",
                                                                       rt_.config_path().string());
  control_.record_audit("config.changed", std::move(w).finish());
  spdlog::info("configuration {} by {}: {}", x.action, x.user, x.what);
  web::ConfigResult r;
  r.ok = true;
  int egms = 0;
  for (const auto& b : rt_.cfg().buses) egms += static_cast<int>(b.egms.size());
  r.message = (x.action == "rollback" ? "Rolled back to the previous file; " : "Applied; ") +
              std::to_string(egms) + " EGMs configured (" + x.what + ")";
  done(r);
}

const json::value& ApplianceBackend::config_schema() {
  static const json::value schema = json::parse(config::config_schema_json());
  return schema;
}

void ApplianceBackend::apply_config(std::shared_ptr<const web::CheckedConfig> checked,
                                    const std::string& user, ConfigHandler done) {
  if (rt_.config_path().empty()) return done(failure(kNoConfigFile));
  const auto* c = dynamic_cast<const CheckedYaml*>(checked.get());
  if (!c || !c->config) return done(not_applied(checked ? checked->result : web::ConfigResult{}));
  install({c->yaml, *c->config, user, "apply", {}}, std::move(done));
}

void ApplianceBackend::change_user(const web::UserChange& change, const std::string& by,
                                   ConfigHandler done) {
  using Action = web::UserChange::Action;
  if (rt_.config_path().empty()) return done(failure(kNoConfigFile));
  config::Config next = rt_.cfg();
  auto& users = next.web.users;
  const std::string& name = change.account;
  auto it = std::find_if(users.begin(), users.end(),
                         [&](const config::WebUserConfig& u) { return u.name == name; });
  if (change.action == Action::add && it != users.end())
    return done(failure("There is already a web account named '" + name + "'."));
  if (change.action != Action::add && it == users.end())
    return done(failure("There is no web account named '" + name + "'."));
  config::WebRole role = config::WebRole::viewer;
  if (change.action == Action::add || change.action == Action::set_role) {
    if (change.role == "technician") role = config::WebRole::technician;
    else if (change.role != "viewer") return done(failure("A role is viewer or technician."));
  }
  std::string what, said;
  switch (change.action) {
    case Action::add:
      users.push_back({name, role, change.password_hash});
      what = "web account " + name + " added as " + change.role;
      said = "Account " + name + " added (" + change.role + ")";
      break;
    case Action::set_password:
      it->password_hash = change.password_hash;
      what = "password of web account " + name + " set";
      said = "Password of " + name + " set; its sessions have ended";
      break;
    case Action::set_role:
      it->role = role;
      what = "web account " + name + " is now " + change.role;
      said = name + " is now " + change.role + "; its sessions have ended";
      break;
    case Action::remove:
      users.erase(it);
      what = "web account " + name + " removed";
      said = "Account " + name + " removed";
      break;
  }
  // Whoever is left must be able to change the configuration again.
  const bool technician_left =
      std::any_of(users.begin(), users.end(),
                  [](const config::WebUserConfig& u) { return u.role == config::WebRole::technician; });
  if (!technician_left)
    return done(failure("Not changed: at least one technician account must remain."));
  // The file is re-emitted from the configuration (its comments are not kept; the previous
  // file stays as .prev like any apply).
  install({config::to_yaml(next), next, by, "user", what},
          [said = std::move(said), done = std::move(done)](web::ConfigResult r) {
            if (r.ok) r.message = said;
            done(std::move(r));
          });
}

// The previous file is our own (it was applied before), so it is parsed here on the loop.
void ApplianceBackend::rollback_config(const std::string& user, ConfigHandler done) {
  if (rt_.config_path().empty()) return done(failure(kNoConfigFile));
  auto prev = previous_path(rt_.config_path());
  std::ifstream in(prev, std::ios::binary);
  if (!in) return done(failure("There is no previous configuration to roll back to."));
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string yaml = ss.str();
  auto loaded = config::load_string(yaml, rt_.config_path().filename().string() + ".prev");
  if (!loaded.config) {
    web::ConfigResult r;
    for (const auto& e : loaded.errors) r.errors.push_back(web_error(e));
    return done(not_applied(std::move(r)));
  }
  install({yaml, *loaded.config, user, "rollback", {}}, std::move(done));
}

void ApplianceBackend::audit(RowsHandler done) {
  store::QueryFilter f;
  f.type = "config.changed";
  f.limit = 200;
  stored_rows(std::move(f), std::move(done));
}

}  // namespace floorgate::gateway::app
