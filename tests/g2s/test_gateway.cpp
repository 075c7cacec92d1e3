// g2s-test-gateway: a G2S Host with a fsync'ed JSONL journal as its sink, for crash tests.
//   --port P  --egm ID=EGMID (repeatable)  --journal FILE  --crash-on TEXT  --keepalive-s S
//   (--crash-on: SIGKILL right after the commit holding the first event whose journal line
//   contains TEXT, e.g. a type, before its ack)
// Prints "port <P>" once listening.
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <cstdio>

#include "file_sink.hpp"

using namespace floorgate;

int main(int argc, char** argv) {
  drivers::g2s::HostConfig cfg;
  std::string journal = "journal.jsonl";
  std::string crash_on;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i], v = argv[i + 1];
    if (a == "--port") cfg.port = std::atoi(v.c_str());
    else if (a == "--journal") journal = v;
    else if (a == "--crash-on") crash_on = v;
    else if (a == "--keepalive-s") cfg.keepalive = std::chrono::seconds(std::atoi(v.c_str()));
    else if (a == "--egm") {
      auto eq = v.find('=');
      cfg.egms.push_back({v.substr(0, eq), v.substr(eq + 1), ""});
    }
  }
  cfg.recent_keys = [&](const std::string& egm) { return g2stest::FileSink::keys(journal, egm); };
  boost::asio::io_context io;
  g2stest::FileSink sink(io.get_executor(), journal, crash_on);
  drivers::g2s::Host host(io.get_executor(), cfg, sink, [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch()).count();
  });
  if (auto ec = host.start()) {
    std::fprintf(stderr, "start: %s\n", ec.message().c_str());
    return 1;
  }
  std::printf("port %d\n", host.port());
  std::fflush(stdout);
  boost::asio::signal_set sig(io, SIGINT, SIGTERM);
  sig.async_wait([&](auto, int) {
    host.stop();
    io.stop();
  });
  io.run();
  return 0;
}
