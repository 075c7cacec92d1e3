// floorgate-egm-sim-g2s: N virtual G2S EGMs on loopback.
//   --host-url URL      where the gateway's G2S host listens (http://127.0.0.1:P/G2S)
//   --host-id ID        the gateway's hostId (default 1)
//   --egm EGMID@PORT    one machine (repeatable); PORT 0 = any
//   --count N --base-port P --prefix S   N machines S0001.. on ports P..P+N-1
//   --state-dir DIR     persistent queues, logs, meters and ledgers
//   --resend-ms MS --retry-ms MS --heartbeat-ms MS --min-periodic-ms MS
//   --script CMD        a control command run on every machine at start (repeatable)
//   --tls-cert F --tls-key F --tls-ca F   mutual TLS (all three): each machine serves HTTPS
//                       (egmLocation https://..., host certificate required, checked against
//                       the CA) and posts to an https:// --host-url with its certificate
// Control: POST http://127.0.0.1:PORT/control with one command per line (docs/g2s.md).
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <cstdio>
#include <cstring>

#include "machine.hpp"

using floorgate::egmsim::g2s::Machine;
using floorgate::egmsim::g2s::MachineConfig;

int main(int argc, char** argv) {
  MachineConfig base;
  std::vector<std::pair<std::string, int>> egms;
  std::vector<std::string> script;
  int count = 0, base_port = 0;
  std::string prefix = "SIM_";
  std::string tls_cert, tls_key, tls_ca;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "missing value for %s\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--host-url") base.host_url = val();
    else if (a == "--host-id") base.host_id = val();
    else if (a == "--state-dir") base.state_dir = val();
    else if (a == "--resend-ms") base.resend = std::chrono::milliseconds(std::atoll(val().c_str()));
    else if (a == "--retry-ms") base.retry = std::chrono::milliseconds(std::atoll(val().c_str()));
    else if (a == "--heartbeat-ms") base.heartbeat = std::chrono::milliseconds(std::atoll(val().c_str()));
    else if (a == "--min-periodic-ms") base.min_periodic = std::chrono::milliseconds(std::atoll(val().c_str()));
    else if (a == "--count") count = std::atoi(val().c_str());
    else if (a == "--base-port") base_port = std::atoi(val().c_str());
    else if (a == "--prefix") prefix = val();
    else if (a == "--script") script.push_back(val());
    else if (a == "--tls-cert") tls_cert = val();
    else if (a == "--tls-key") tls_key = val();
    else if (a == "--tls-ca") tls_ca = val();
    else if (a == "--egm") {
      std::string v = val();
      auto at = v.find('@');
      egms.emplace_back(v.substr(0, at), at == std::string::npos ? 0 : std::atoi(v.c_str() + at + 1));
    } else {
      std::fprintf(stderr, "unknown option %s (see the comment at the top of main.cpp)\n", a.c_str());
      return 2;
    }
  }
  for (int n = 0; n < count; ++n) {
    char id[64];
    std::snprintf(id, sizeof id, "%s%04d", prefix.c_str(), n + 1);
    egms.emplace_back(id, base_port ? base_port + n : 0);
  }
  if (egms.empty()) {
    std::fprintf(stderr, "no machines: use --egm EGMID@PORT or --count N\n");
    return 2;
  }
  if (!tls_cert.empty() || !tls_key.empty() || !tls_ca.empty()) {
    std::string error;
    if (tls_cert.empty() || tls_key.empty() || tls_ca.empty()) {
      std::fprintf(stderr, "--tls-cert, --tls-key and --tls-ca go together\n");
      return 2;
    }
    base.tls = floorgate::egmsim::g2s::make_sim_tls(tls_cert, tls_key, tls_ca, error);
    if (!base.tls) {
      std::fprintf(stderr, "%s\n", error.c_str());
      return 2;
    }
    if (base.host_url.rfind("https://", 0) != 0) {
      std::fprintf(stderr, "with --tls-* the --host-url must be https://\n");
      return 2;
    }
  }
  boost::asio::io_context io;
  std::vector<std::unique_ptr<Machine>> machines;
  for (auto& [id, port] : egms) {
    MachineConfig c = base;
    c.egm_id = id;
    c.port = port;
    auto m = std::make_unique<Machine>(io, c);
    if (!m->start()) {
      std::fprintf(stderr, "%s: cannot listen on 127.0.0.1:%d\n", id.c_str(), port);
      return 1;
    }
    for (const auto& s : script) m->control(s);
    std::printf("g2s-egm %s listening on 127.0.0.1:%d\n", id.c_str(), m->port());
    machines.push_back(std::move(m));
  }
  std::fflush(stdout);
  boost::asio::signal_set sig(io, SIGINT, SIGTERM);
  sig.async_wait([&](auto, int) {
    for (auto& m : machines) m->stop();
    io.stop();
  });
  io.run();
  return 0;
}
