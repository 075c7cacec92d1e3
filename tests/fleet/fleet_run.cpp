// fg-fleet-run (issue 23): a whole floor on a clustered broker. 8 gateway processes (the real
// daemon) with 32 simulated SAS EGMs each (one simulator process per gateway, on a pty), all
// publishing to a 3-node RabbitMQ cluster (MQTT 3.1.1 plugin, tests/support/rabbitmq_cluster.hpp),
// each gateway preferring another node; the three consumers (slot-mgmt, maintenance,
// analytics) follow every gateway's stream, each connected to another node. Under load one
// node (the one maintenance and a third of the gateways use) is SIGKILLed and restarted later.
//
// Proof at the end, per gateway: every exception its simulator's ledger shows implied-ACKed
// reached analytics in per-EGM order, and slot-mgmt and maintenance got exactly the events
// their routes select. floorgate-fleet --once --json must list every gateway online.
// Prints one JSON line per figure (tests/bench/groups/fleet); exits 0 only when nothing was
// lost. Environment (defaults): FLEET_GATEWAYS (8), FLEET_EGMS (32), FLEET_RATE (0.5 events/s
// per machine), FLEET_SECONDS (60 of traffic), FLEET_KILL_AT_S (15), FLEET_DOWN_S (20),
// FLEET_POLL_MS (100).
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "floor_fixture.hpp"
#include "ledger_check.hpp"
#include "rabbitmq_cluster.hpp"

using namespace floorgate::testing;
using namespace std::chrono_literals;

namespace {

double env_num(const char* name, double def) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtod(v, nullptr) : def;
}

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Peak resident set (VmHWM) of a running process, in MiB.
double peak_rss_mb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::strtod(line.c_str() + 6, nullptr) / 1024.0;
  }
  return 0;
}

struct Gateway {
  std::string id, root;
  std::filesystem::path dir;
  std::unique_ptr<ChildProcess> sim, daemon;
  std::unique_ptr<SimControl> ctl;
  std::map<int, std::string> egm_of_address;
};

bool class_in(const std::string& cls, const std::vector<std::string>& classes) {
  return std::find(classes.begin(), classes.end(), cls) != classes.end();
}

}  // namespace

int main() {
  const int gateways = static_cast<int>(env_num("FLEET_GATEWAYS", 8));
  const int egms = static_cast<int>(env_num("FLEET_EGMS", 32));
  const double rate = env_num("FLEET_RATE", 0.5);
  const auto traffic = std::chrono::milliseconds(static_cast<long>(env_num("FLEET_SECONDS", 60) * 1000));
  const auto kill_at = std::chrono::milliseconds(static_cast<long>(env_num("FLEET_KILL_AT_S", 15) * 1000));
  const auto down_for = std::chrono::milliseconds(static_cast<long>(env_num("FLEET_DOWN_S", 20) * 1000));
  const int poll_ms = static_cast<int>(env_num("FLEET_POLL_MS", 100));
  if (!RabbitCluster::available()) {
    std::fprintf(stderr, "fleet: rabbitmq-server is not installed (apt-get install rabbitmq-server)\n");
    return 2;
  }
  const std::size_t victim = 1;  // the node killed under load
  try {
    std::fprintf(stderr, "fleet: starting a 3-node RabbitMQ cluster\n");
    RabbitCluster cluster(3);
    const std::size_t nodes = cluster.size();
    auto broker = [&](std::size_t i) { return "127.0.0.1:" + std::to_string(cluster.mqtt_port(i % nodes)); };
    TempDir dir;
    std::vector<Gateway> gws(static_cast<std::size_t>(gateways));
    for (int g = 0; g < gateways; ++g) {
      auto& gw = gws[static_cast<std::size_t>(g)];
      char id[16];
      std::snprintf(id, sizeof id, "gw-%02d", g + 1);
      gw.id = id;
      gw.root = "floor/v1/fleet/" + gw.id;
      gw.dir = dir / gw.id;
      std::filesystem::create_directories(gw.dir);
      std::vector<std::string> sim = {build_path("firmware-host/egm-sim/floorgate-egm-sim"), "--pty",
                                      (gw.dir / "bus0").string(), "--control",
                                      (gw.dir / "sim.sock").string(), "--seed", std::to_string(100 + g)};
      std::ostringstream y;
      y << "gateway: {id: " << gw.id << ", site: fleet}\n"
        << "logging: {level: info}\n"
        << "store: {path: " << (gw.dir / "floorgate.db").string() << "}\n"
        << "mqtt: {hosts: [" << broker(g) << ", " << broker(g + 1) << ", " << broker(g + 2)
        << "], health_period_s: 2}\n"
        << "consumers:\n"
        << "  - {name: slot-mgmt, route: {classes: [financial, security]}, ack_timeout_s: 5}\n"
        << "  - {name: maintenance, route: {classes: [fault, security]}, ack_timeout_s: 5}\n"
        << "  - {name: analytics, required: false, ack_timeout_s: 5}\n"
        << "buses:\n"
        << "  - id: bus0\n    driver: sas-serial\n    link: pty\n    port: " << (gw.dir / "bus0").string()
        << "\n    egms:\n";
      for (int a = 1; a <= egms; ++a) {
        char egm[24];
        std::snprintf(egm, sizeof egm, "%s-%02d", gw.id.c_str(), a);
        gw.egm_of_address[a] = egm;
        y << "      - {id: " << egm << ", address: " << a << ", poll_period_ms: " << poll_ms << "}\n";
        sim.insert(sim.end(), {"--egm", std::to_string(a)});
      }
      y << "web: {enabled: false}\n";
      std::ofstream(gw.dir / "floorgate.yaml") << y.str();
      gw.sim = std::make_unique<ChildProcess>(sim, (gw.dir / "sim.log").string(), (gw.dir / "sim.log").string());
      gw.ctl = std::make_unique<SimControl>((gw.dir / "sim.sock").string());
      if (!wait_until([&] { return gw.ctl->ok("status"); }, 20s)) {
        throw std::runtime_error(gw.id + ": simulator did not start: " + read_file(gw.dir / "sim.log"));
      }
    }
    // Consumers first, each on another node, following every gateway.
    const std::vector<std::string> consumer_names = {"slot-mgmt", "maintenance", "analytics"};
    const std::map<std::string, std::size_t> first_node = {{"slot-mgmt", 2}, {"maintenance", victim}, {"analytics", 0}};
    std::map<std::string, std::unique_ptr<ChildProcess>> consumers;
    for (const auto& name : consumer_names) {
      std::vector<std::string> args = {build_path("tests/tools/fg-test-consumer"), "--consumer", name,
                                       "--out", (dir / (name + ".jsonl")).string(),
                                       "--client-id", "fleet-" + name};
      for (std::size_t k = 0; k < nodes; ++k) args.insert(args.end(), {"--broker", broker(first_node.at(name) + k)});
      for (const auto& gw : gws) args.insert(args.end(), {"--root", gw.root});
      consumers[name] = std::make_unique<ChildProcess>(args, (dir / (name + ".err")).string(),
                                                      (dir / (name + ".err")).string());
    }
    for (const auto& name : consumer_names) {
      auto subscribed = [&] {
        const auto err = read_file(dir / (name + ".err"));
        std::size_t n = 0;
        for (auto p = err.find("subscribed"); p != std::string::npos; p = err.find("subscribed", p + 1)) ++n;
        return n >= gws.size();
      };
      if (!wait_until(subscribed, 60s)) throw std::runtime_error(name + " did not subscribe");
    }
    for (auto& gw : gws) {
      gw.daemon = std::make_unique<ChildProcess>(
          std::vector<std::string>{build_path("firmware-host/floorgate/floorgate"), "--config",
                                   (gw.dir / "floorgate.yaml").string()},
          (gw.dir / "floorgate.log").string(), (gw.dir / "floorgate.log").string());
    }
    for (auto& gw : gws) {
      if (!wait_until([&] { return read_file(gw.dir / "floorgate.log").find("floorgate ready") != std::string::npos; }, 60s)) {
        throw std::runtime_error(gw.id + ": daemon did not become ready: " + read_file(gw.dir / "floorgate.log"));
      }
    }
    std::fprintf(stderr, "fleet: %d gateways x %d EGMs up; traffic %.2f events/s per machine\n",
                 gateways, egms, rate);
    char rate_cmd[32];
    std::snprintf(rate_cmd, sizeof rate_cmd, "rate %g", rate);
    for (auto& gw : gws) gw.ctl->ok(rate_cmd);
    const auto t0 = std::chrono::steady_clock::now();
    // The workload's schedule (not a wait for a state): kill, outage, restart, end of traffic.
    std::this_thread::sleep_until(t0 + kill_at);
    const std::int64_t killed_ms = wall_ms();
    std::fprintf(stderr, "fleet: SIGKILL RabbitMQ node %zu\n", victim);
    cluster.kill_node(victim);
    std::this_thread::sleep_until(t0 + kill_at + down_for);
    std::fprintf(stderr, "fleet: restarting node %zu\n", victim);
    cluster.restart_node(victim);
    std::this_thread::sleep_until(t0 + std::max(traffic, kill_at + down_for));
    for (auto& gw : gws) gw.ctl->ok("rate 0");
    const double traffic_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::fprintf(stderr, "fleet: traffic stopped after %.0f s; waiting for every ledger entry\n", traffic_s);

    // Completion: every implied-ACKed exception of every ledger reached analytics.
    const std::string analytics_file = (dir / "analytics.jsonl").string();
    std::map<std::string, LedgerComparison> cmp;
    auto all_delivered = [&] {
      const std::string text = read_file(analytics_file);
      bool done = true;
      for (auto& gw : gws) {
        auto ledger = gw.ctl->ledger();
        if (!ledger) return false;
        const bool pending = std::any_of(ledger->begin(), ledger->end(),
                                         [](const LedgerEntry& e) { return !e.acked && !e.dropped; });
        cmp[gw.id] = compare_ledger(*ledger, parse_received(text, gw.root + "/c/"), gw.egm_of_address);
        done = done && !pending && cmp[gw.id].missing == 0;
      }
      return done;
    };
    const bool delivered = wait_until(all_delivered, 240s, 500ms);
    // Routed consumers: exactly the classes their routes select, per gateway.
    std::map<std::string, std::size_t> route_missing;
    const std::vector<std::pair<std::string, std::vector<std::string>>> routes = {
        {"slot-mgmt", {"financial", "security"}}, {"maintenance", {"fault", "security"}}};
    auto routes_complete = [&] {
      const std::string all_text = read_file(analytics_file);
      bool ok = true;
      for (const auto& [name, classes] : routes) {
        const std::string text = read_file(dir / (name + ".jsonl"));
        std::size_t missing = 0;
        for (auto& gw : gws) {
          std::set<std::uint64_t> want, got;
          for (const auto& r : parse_received(all_text, gw.root + "/c/")) {
            if (class_in(r.cls, classes)) want.insert(r.seq);
          }
          for (const auto& r : parse_received(text, gw.root + "/c/")) got.insert(r.seq);
          for (auto s : want) missing += got.count(s) ? 0 : 1;
        }
        route_missing[name] = missing;
        ok = ok && missing == 0;
      }
      return ok;
    };
    wait_until(routes_complete, 120s, 500ms);

    // Per-EGM order on analytics; throughput; failover; duplicates; bytes.
    std::size_t order_errors = 0, distinct = 0, delivered_msgs = 0, payload_bytes = 0;
    double failover_s = 0;
    std::string slowest;
    const std::string text = read_file(analytics_file);
    for (auto& gw : gws) {
      auto got = parse_received(text, gw.root + "/c/");
      delivered_msgs += got.size();
      std::map<std::string, std::uint64_t> last_egm_seq;
      std::set<std::uint64_t> seen;
      std::int64_t first_after_kill = 0;
      for (const auto& r : got) {
        payload_bytes += r.payload.size();
        if (!seen.insert(r.seq).second) continue;
        if (r.egm_seq <= last_egm_seq[r.egm]) ++order_errors;
        last_egm_seq[r.egm] = r.egm_seq;
        if (r.ts_gw_ms >= killed_ms && (first_after_kill == 0 || r.rx_ms < first_after_kill)) {
          first_after_kill = r.rx_ms;
        }
      }
      distinct += seen.size();
      const double f = first_after_kill ? static_cast<double>(first_after_kill - killed_ms) / 1000.0 : 1e9;
      if (f > failover_s) {
        failover_s = f;
        slowest = gw.id;
      }
    }
    double rss = 0;
    for (auto& gw : gws) rss = std::max(rss, peak_rss_mb(gw.daemon->pid()));
    // The fleet view a central engineer would run, against a surviving node.
    const auto view_out = dir / "fleet-view.json";
    ChildProcess view({build_path("firmware-host/floorgate-fleet/floorgate-fleet"), "--broker", broker(0),
                       "--prefix", "floor/v1", "--once", "--json", "--expect", std::to_string(gateways),
                       "--wait", "30"},
                      view_out.string(), (dir / "fleet-view.err").string());
    view.wait(60s);
    std::size_t view_online = 0;
    {
      boost::system::error_code ec;
      auto v = boost::json::parse(read_file(view_out), ec);
      if (!ec && v.is_object()) {
        for (const auto& g : v.as_object().at("gateways").as_array()) {
          view_online += g.as_object().at("online").as_bool() ? 1 : 0;
        }
      }
    }
    std::fprintf(stderr, "fleet: floorgate-fleet view:\n%s\n", read_file(view_out).c_str());
    std::size_t lost = route_missing["slot-mgmt"] + route_missing["maintenance"];
    std::size_t ledger_acked = 0;
    for (auto& [id, c] : cmp) {
      lost += c.missing;
      ledger_acked += c.acked;
      if (c.missing) std::fprintf(stderr, "fleet: %s: %s\n", id.c_str(), c.detail.c_str());
    }
    for (auto& gw : gws) {
      gw.daemon->kill(SIGTERM);
      gw.daemon->wait();
      gw.sim->kill(SIGTERM);
      gw.sim->wait();
    }
    for (auto& [n, c] : consumers) c->kill(SIGTERM), c->wait();
    auto line = [](const char* name, double v, const char* unit) {
      std::printf("{\"bench\":\"%s\",\"value\":%.6g,\"unit\":\"%s\"}\n", name, v, unit);
    };
    line("fleet.gateways", gateways, "gateways");
    line("fleet.egms", gateways * egms, "egms");
    line("fleet.event_rate", static_cast<double>(distinct) / traffic_s, "events/s");
    line("fleet.lost_events", static_cast<double>(lost), "events");
    line("fleet.failover_s", failover_s, "s");
    line("fleet.peak_rss_mb_per_gateway", rss, "MiB");
    line("fleet.ledger_exceptions", static_cast<double>(ledger_acked), "events");
    line("fleet.order_errors", static_cast<double>(order_errors), "events");
    line("fleet.redelivered_ratio",
         distinct ? static_cast<double>(delivered_msgs - distinct) / static_cast<double>(distinct) : 0, "ratio");
    line("fleet.event_message_bytes",
         delivered_msgs ? static_cast<double>(payload_bytes) / static_cast<double>(delivered_msgs) : 0, "bytes");
    line("fleet.view_gateways_online", static_cast<double>(view_online), "gateways");
    std::fprintf(stderr, "fleet: slowest to publish again after the kill: %s\n", slowest.c_str());
    const bool ok = delivered && lost == 0 && order_errors == 0 &&
                    view_online == static_cast<std::size_t>(gateways);
    if (!ok) {
      std::fprintf(stderr, "fleet: FAILED (delivered=%d lost=%zu order_errors=%zu view_online=%zu)\n",
                   delivered, lost, order_errors, view_online);
      std::fprintf(stderr, "fleet: keep-dir %s not kept; last gateway log:\n%s\n", dir.path().c_str(),
                   read_file(gws.back().dir / "floorgate.log").substr(0, 4000).c_str());
    }
    return ok ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fleet: %s\n", e.what());
    return 1;
  }
}
