// floorgate-consume: one consumer stream of one or many floorgate gateways into a sink, with
// dedup, acks, gap replays, presence and state that survives restarts (docs/consumers.md).
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <string>

#include "floorgate/consume/consumer.hpp"

namespace fc = floorgate::consume;

namespace {

std::atomic<bool> g_stop{false};
void on_signal(int) { g_stop = true; }

constexpr const char* kUsage = R"(usage: floorgate-consume --consumer NAME (--gateway ROOT)... [options]

Subscribes to consumer NAME's stream of each gateway (topic root, e.g. floor/v1/site-a/gw-07),
applies each event once to a sink and acknowledges it (docs/consumers.md).

  --gateway ROOT         a gateway's topic root (repeatable; one MQTT session each, with presence)
  --gateways PATTERN     every gateway under a wildcard root (floor/v1/site-a/+), one session
  --host H --port P      the broker (default 127.0.0.1:1883)
  --username U --password-file F   broker account (the password is the file's first line)
  --cafile F             TLS to the broker, trusting this CA
  --client-id ID         MQTT client id prefix (default floorgate-consume-NAME); keep it fixed:
                         the broker keeps the session's queue under it
  --sink jsonl|exec|postgres       (default jsonl)
    jsonl:    [--out FILE]  (default stdout) one line {"gateway":..,"event":..} per event,
              fsynced before the ack; --state defaults to FILE.state
    exec:     --command CMD [--attempts N] runs `sh -c CMD` per batch, the batch's jsonl on
              stdin; acked after exit 0, nacked with its stderr after N failures (default 3)
    postgres: --pg CONNINFO [--table NAME] events and positions in one transaction per batch
              (default table floorgate_events); exactly-once effect
  --state FILE           positions file for jsonl/exec (required for stdout and exec)
  --batch N              events per sink commit at most (default 1000)
  --batch-ms MS          a partial batch waits at most this long (default 20)
  --no-presence          do not announce presence (the gateway then relies on ack timeouts)
  --log-level LEVEL      trace|debug|info|warn|error (default info)

Exit status: 0 stopped by a signal, 2 usage, 3 an event of a newer schema (not acked),
4 the sink contradicts the stored positions, 5 unreadable state.
)";

}  // namespace

int main(int argc, char** argv) {
  spdlog::set_default_logger(spdlog::stderr_color_mt("floorgate-consume"));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  fc::ConsumeOptions o;
  std::string sink = "jsonl", out, command, pg, table = "floorgate_events";
  int attempts = 3;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "floorgate-consume: %s needs a value\n", a.c_str());
        std::exit(fc::kExitUsage);
      }
      return argv[++i];
    };
    auto number = [&](long lo, long hi) {
      const std::string v = value();
      char* end = nullptr;
      long n = std::strtol(v.c_str(), &end, 10);
      if (v.empty() || *end || n < lo || n > hi) {
        std::fprintf(stderr, "floorgate-consume: %s wants a number %ld-%ld, not '%s'\n", a.c_str(),
                     lo, hi, v.c_str());
        std::exit(fc::kExitUsage);
      }
      return n;
    };
    if (a == "--consumer") o.consumer = value();
    else if (a == "--gateway") o.gateways.push_back(value());
    else if (a == "--gateways") o.gateway_pattern = value();
    else if (a == "--host") o.host = value();
    else if (a == "--port") o.port = static_cast<int>(number(1, 65535));
    else if (a == "--username") o.username = value();
    else if (a == "--password-file") {
      const std::string f = value();
      std::ifstream in(f);
      if (!in || !std::getline(in, o.password)) {
        std::fprintf(stderr, "floorgate-consume: cannot read the password from %s\n", f.c_str());
        return fc::kExitUsage;
      }
    }
    else if (a == "--cafile") o.cafile = value();
    else if (a == "--client-id") o.client_id = value();
    else if (a == "--sink") sink = value();
    else if (a == "--out") out = value();
    else if (a == "--command") command = value();
    else if (a == "--attempts") attempts = static_cast<int>(number(1, 1000));
    else if (a == "--pg") pg = value();
    else if (a == "--table") table = value();
    else if (a == "--state") o.state_path = value();
    else if (a == "--batch") o.batch_max = static_cast<std::size_t>(number(1, 100000));
    else if (a == "--batch-ms") o.batch_wait = std::chrono::milliseconds(number(0, 60000));
    else if (a == "--no-presence") o.presence = false;
    else if (a == "--log-level") spdlog::set_level(spdlog::level::from_str(value()));
    else if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else {
      std::fprintf(stderr, "floorgate-consume: unknown option %s\n\n%s", a.c_str(), kUsage);
      return fc::kExitUsage;
    }
  }
  auto usage_error = [](const char* what) {
    std::fprintf(stderr, "floorgate-consume: %s (see --help)\n", what);
    return fc::kExitUsage;
  };
  if (o.consumer.empty()) return usage_error("--consumer NAME is required");
  if (o.gateways.empty() && o.gateway_pattern.empty())
    return usage_error("at least one --gateway ROOT (or --gateways PATTERN) is required");
  std::unique_ptr<fc::Sink> s;
  if (sink == "jsonl") {
    if (o.state_path.empty() && !out.empty()) o.state_path = out + ".state";
    if (o.state_path.empty())
      return usage_error("--state FILE is required with jsonl to stdout (where am I after a restart?)");
    s = fc::make_jsonl_sink(out);
  } else if (sink == "exec") {
    if (command.empty()) return usage_error("--sink exec needs --command CMD");
    if (o.state_path.empty()) return usage_error("--sink exec needs --state FILE");
    s = fc::make_exec_sink(command, attempts);
  } else if (sink == "postgres") {
    if (pg.empty()) return usage_error("--sink postgres needs --pg CONNINFO");
    if (!o.state_path.empty())
      return usage_error("--state is not used with postgres (positions live in the database)");
    s = fc::make_postgres_sink(pg, table, o.consumer);
  } else {
    return usage_error("--sink is jsonl, exec or postgres");
  }
  struct sigaction sa{};
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  return fc::run(o, *s, g_stop);
}
