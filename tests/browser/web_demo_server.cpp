// floorgate-web-demo: the technician web server with the fake backend (8 EGMs), for the
// browser tests and the web benchmark when no real daemon is wanted. Prints
// "listening <port>" once ready. Commands on stdin, one per line: "door <egm>" opens a slot
// door (event pushed live), "quit" stops. Options: --port N (0 = any), --events-per-s N
// (synthetic game events through the live path), --session-idle S.
#include "fake_backend.hpp"

#include <floorgate/gateway/web/password.hpp>
#include <floorgate/gateway/web/web_server.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/streambuf.hpp>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>

namespace {
namespace asio = boost::asio;
namespace web = floorgate::gateway::web;

struct Demo {
  asio::io_context io;
  floorgate::testing::FakeBackend backend;
  std::unique_ptr<web::WebServer> server;
  asio::posix::stream_descriptor in{io, ::dup(0)};
  asio::streambuf buf;
  asio::steady_timer gen{io};
  asio::signal_set signals{io, SIGINT, SIGTERM};
  int events_per_s = 0;
  std::uint64_t n = 0;

  void read_command() {
    asio::async_read_until(in, buf, '\n', [this](boost::system::error_code ec, std::size_t) {
      if (ec) return;  // stdin closed: keep serving until a signal
      std::istream is(&buf);
      std::string line;
      std::getline(is, line);
      if (line.rfind("door ", 0) == 0) backend.open_door(line.substr(5));
      if (line == "quit") return stop();
      read_command();
    });
  }

  void generate() {
    gen.expires_after(std::chrono::milliseconds(10));
    gen.async_wait([this](boost::system::error_code ec) {
      if (ec) return;
      int batch = events_per_s / 100;
      for (int i = 0; i < batch; ++i, ++n) {
        backend.add_event(backend.floor_egm(n), "game.started", "operational",
                          boost::json::object{{"game", static_cast<std::int64_t>(n)}});
      }
      generate();
    });
  }

  void stop() {
    server->stop();
    gen.cancel();
    signals.cancel();
    boost::system::error_code ec;
    in.close(ec);
  }
};

}  // namespace

int main(int argc, char** argv) {
  web::WebOptions opts;
  opts.port = 0;
  Demo demo;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--port") opts.port = std::atoi(argv[i + 1]);
    else if (a == "--events-per-s") demo.events_per_s = std::atoi(argv[i + 1]);
    else if (a == "--egms") demo.backend.set_floor((std::atoi(argv[i + 1]) + 7) / 8, 8);
    else if (a == "--session-idle") opts.session_idle = std::chrono::seconds(std::atoi(argv[i + 1]));
  }
  opts.users = {{"tech", "technician", web::hash_password("tech-pass", 1000)},
                {"view", "viewer", web::hash_password("view-pass", 1000)}};
  demo.server = std::make_unique<web::WebServer>(demo.io.get_executor(), opts, demo.backend);
  demo.backend.users = opts.users;
  demo.backend.users_changed = [&demo](const std::vector<web::User>& users) {
    demo.server->set_users(users);
  };
  if (auto ec = demo.server->start()) {
    std::fprintf(stderr, "floorgate-web-demo: cannot listen: %s\n", ec.message().c_str());
    return 1;
  }
  std::printf("listening %d\n", demo.server->port());
  std::fflush(stdout);
  demo.signals.async_wait([&](boost::system::error_code ec, int) {
    if (!ec) demo.stop();
  });
  demo.read_command();
  if (demo.events_per_s > 0) demo.generate();
  demo.io.run();
  return 0;
}
