// `floorgate consumer reset`: moves a consumer's acked cursor, audited. With a daemon running,
// the daemon does it (it owns the cursor in memory and resends from the new position); the
// tool only asks over the control socket. With no daemon holding the store (a stopped box, a
// copied file), the tool opens the store itself. Either way the store gets a
// `gateway.consumer_reset` event (security) naming who moved what from where to where.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "floorgate/gateway/control.hpp"
#include "floorgate/store/store.hpp"
#include "store_cli.hpp"

namespace floorgate::host {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr const char* kConsumerUsage =
    "usage: floorgate consumer reset NAME --to SEQ [--db PATH]\n"
    "Moves consumer NAME's acked cursor to SEQ: back redelivers every event after SEQ, forward\n"
    "skips events up to SEQ without delivering them. Audited as a gateway.consumer_reset event.\n"
    "PATH defaults to /var/lib/floorgate/floorgate.db; with the daemon running the request goes\n"
    "through its control socket beside the store (run as root or the floorgate user).\n";

// One request line to the daemon, one reply line back. nullopt when no daemon listens.
std::optional<json::object> ask_daemon(const fs::path& sock_path, const json::object& request,
                                       std::string& error) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (sock_path.string().size() >= sizeof addr.sun_path) {
    error = sock_path.string() + ": path too long for a Unix socket";
    return std::nullopt;
  }
  std::strncpy(addr.sun_path, sock_path.c_str(), sizeof addr.sun_path - 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    error = std::strerror(errno);
    return std::nullopt;
  }
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) {
    error = sock_path.string() + ": " + std::strerror(errno);
    ::close(fd);
    return std::nullopt;
  }
  timeval tv{30, 0};  // the daemon answers once the audit event is durable
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  const std::string line = json::serialize(request) + "\n";
  std::string reply;
  bool ok = ::send(fd, line.data(), line.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(line.size());
  char buf[4096];
  while (ok && reply.find('\n') == std::string::npos) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    reply.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  boost::system::error_code ec;
  auto v = json::parse(reply, ec);
  if (!ok || ec || !v.is_object()) {
    error = "no answer from the daemon on " + sock_path.string();
    return json::object{{"ok", false}, {"error", error}};
  }
  return v.as_object();
}

// No daemon: the tool opens the store (it takes the store's lock, so a daemon starting now
// waits for it to finish) with retention held off, moves the cursor, stores the audit event.
int reset_on_file(const fs::path& db, const std::string& consumer, std::uint64_t to_seq) {
  if (!fs::exists(db)) {
    std::cerr << "floorgate: " << db.string() << ": no such file\n";
    return 2;
  }
  store::Options o;
  o.path = db;
  o.max_bytes = UINT64_MAX;                      // the tool never evicts: that is the daemon's
  o.max_age = std::chrono::hours(24 * 365 * 100);  // job, with the configured bounds
  o.retention_interval = std::chrono::hours(24);
  std::error_code ec;
  store::OpenReport report;
  auto s = store::Store::open(o, ec, &report);
  if (!s) {
    std::cerr << "floorgate: cannot open " << db.string() << ": " << ec.message()
              << (report.detail.empty() ? "" : " (" + report.detail + ")") << '\n';
    return 2;
  }
  std::uint64_t previous = 0;
  if (auto rc = s->reset_consumer(consumer, to_seq, &previous)) {
    std::cerr << "floorgate: consumer reset refused: "
              << gateway::consumer_reset_refusal(rc, consumer, to_seq, s->counters()) << " in "
              << db.string() << '\n';
    s->close();
    return rc == store::Errc::unknown_consumer || rc == store::Errc::out_of_range ? 1 : 2;
  }
  store::Record r;
  r.egm = "gateway";
  r.type = gateway::kConsumerResetType;
  r.cls = store::EventClass::security;
  r.ts_gw_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch()).count();
  r.source = "operator:floorgate";
  r.attrs_json = gateway::consumer_reset_attrs(consumer, previous, to_seq, gateway::user_name(::getuid()), "store file");
  store::Record stored;
  auto aec = s->append_sync(r, &stored);
  s->close();
  if (aec) {
    std::cerr << "floorgate: the cursor moved, but the audit event was not stored: "
              << aec.message() << '\n';
    return 2;
  }
  std::cout << "consumer " << consumer << " reset from seq " << previous << " to " << to_seq
            << " in " << db.string() << " (no daemon running); audit event seq " << stored.seq << '\n';
  return 0;
}

}  // namespace

int run_consumer_command(const std::vector<std::string>& a) {
  if (a.size() < 4 || a[2] != "reset" || a[3].empty() || a[3][0] == '-') {
    std::cerr << kConsumerUsage;
    return 2;
  }
  const std::string consumer = a[3];
  fs::path db = "/var/lib/floorgate/floorgate.db";
  std::optional<std::uint64_t> to;
  for (std::size_t i = 4; i < a.size(); ++i) {
    if (i + 1 >= a.size()) {
      std::cerr << a[i] << " needs a value\n" << kConsumerUsage;
      return 2;
    }
    const std::string& v = a[i + 1];
    if (a[i] == "--db") {
      db = v;
    } else if (a[i] == "--to") {
      std::uint64_t n = 0;
      auto r = std::from_chars(v.data(), v.data() + v.size(), n);
      if (r.ec != std::errc() || r.ptr != v.data() + v.size()) {
        std::cerr << "bad value for --to: '" << v << "'\n" << kConsumerUsage;
        return 2;
      }
      to = n;
    } else {
      std::cerr << "unknown option " << a[i] << " for consumer reset\n" << kConsumerUsage;
      return 2;
    }
    ++i;
  }
  if (!to) {
    std::cerr << "consumer reset needs --to SEQ\n" << kConsumerUsage;
    return 2;
  }
  const auto sock = gateway::control_socket_path(db);
  std::string error;
  auto reply = ask_daemon(sock, {{"op", "consumer_reset"}, {"consumer", consumer}, {"to", *to}}, error);
  if (!reply) {
    // ENOENT / ECONNREFUSED: no daemon serves this store. If one holds it anyway (control
    // socket failed to start), opening the store says so ("another process holds ...").
    return reset_on_file(db, consumer, *to);
  }
  const auto* ok = reply->if_contains("ok");
  if (!ok || !ok->is_bool() || !ok->as_bool()) {
    const auto* e = reply->if_contains("error");
    std::cerr << "floorgate: consumer reset refused by the daemon: "
              << (e && e->is_string() ? std::string(e->as_string()) : json::serialize(*reply)) << '\n';
    return 1;
  }
  std::cout << "consumer " << consumer << " reset from seq " << json::serialize(reply->at("from_seq"))
            << " to " << *to << " by the running daemon; audit event seq "
            << json::serialize(reply->at("audit_seq")) << '\n';
  return 0;
}

}  // namespace floorgate::host
