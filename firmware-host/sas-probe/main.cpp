// floorgate-sas-probe: polls one SAS machine with the real driver and prints its identity, a
// meter snapshot and then every event as JSON lines. Exit 1 when nothing answers.
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <charconv>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "floorgate/drivers/json_writer.hpp"
#include "floorgate/drivers/sas/bus.hpp"
#include "scan.hpp"

namespace asio = boost::asio;
using namespace floorgate::drivers;

namespace {

constexpr const char* kUsage =
    "usage: floorgate-sas-probe --port PATH|HOST:PORT --address N [--seconds S] "
    "[--link uart|pty|tcp]\n"
    "       floorgate-sas-probe --port PATH|HOST:PORT --scan [FIRST-LAST] [--reply-timeout MS]\n"
    "                           [--link uart|pty|tcp]\n"
    "Polls one SAS machine and prints its identity, a meter snapshot and each event as JSON\n"
    "lines for S seconds (default 10). Exit status 1 when nothing answers.\n"
    "--scan reads LP 54 (SAS version, serial) from each address (default 1-127) four times and\n"
    "prints a line per answering address, flagging addresses where two machines seem to answer\n"
    "(CRC errors, garbled or extra bytes, differing serials), then a summary line. It sends no\n"
    "general poll, so it never takes an event from a machine. Exit status 1 when nothing\n"
    "answers. --reply-timeout: ms to wait at each address (default: the link's, 50 uart, 150\n"
    "pty/tcp).\n";

// Prints each event and reports it durable at once (the probe stores nothing). Lines are held
// back until the first meter snapshot so the output starts with identity, then meters.
class PrintSink : public EventSink {
 public:
  PrintSink(asio::io_context& io, std::function<std::string()> identity)
      : io_(io), identity_(std::move(identity)) {}
  void submit(Event ev, DurableHandler on_durable) override {
    JsonWriter w;
    w.add("type", ev.type);
    w.add("class", to_string(ev.cls));
    w.add("egm", ev.egm);
    w.add("egm_seq", ++egm_seq_);
    w.add("ts_gw", ev.ts_gw_ms);
    w.add("source", ev.source);
    w.add_raw("attrs", ev.attrs_json);
    if (!ev.raw_hex.empty()) w.add("raw", ev.raw_hex);
    std::string line = std::move(w).finish();
    if (released_) {
      print(line);
    } else if (ev.type == "meters.snapshot") {
      release(line);
    } else {
      held_.push_back(std::move(line));
    }
    asio::post(io_, [h = std::move(on_durable), s = egm_seq_] { h({}, s); });
  }
  // Prints the identity, `first` (if any) and everything held back.
  void release(const std::string& first = {}) {
    if (released_) return;
    released_ = true;
    print(identity_());
    if (!first.empty()) print(first);
    for (const auto& l : held_) print(l);
    held_.clear();
  }

 private:
  static void print(const std::string& line) {
    std::printf("%s\n", line.c_str());
    std::fflush(stdout);
  }
  asio::io_context& io_;
  std::function<std::string()> identity_;
  std::vector<std::string> held_;
  bool released_ = false;
  std::uint64_t egm_seq_ = 0;
};

bool parse_int(const std::string& s, long& v) {
  auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  return r.ec == std::errc{} && r.ptr == s.data() + s.size();
}

std::string identity_line(const sas::EgmStatus& st) {
  JsonWriter id;
  id.add("sas_version", st.sas_version);
  id.add("serial", st.serial);
  if (st.denomination_cents) id.add("denomination_cents", *st.denomination_cents);
  JsonWriter w;
  w.add("address", static_cast<unsigned>(st.address));
  w.add("link_up", st.link_up);
  w.add_raw("identity", std::move(id).finish());
  return std::move(w).finish();
}

}  // namespace

int main(int argc, char** argv) {
  std::string port, link_name;
  long address = -1, seconds = 10, reply_ms = 0;
  bool scan = false;
  floorgate::probe::ScanOptions scan_opt;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    std::string v = i + 1 < argc ? argv[i + 1] : "";
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (a == "--scan") {
      scan = true;
      long first = 0, last = 0;
      const auto dash = v.find('-');
      if (i + 1 < argc && dash != std::string::npos && parse_int(v.substr(0, dash), first) &&
          parse_int(v.substr(dash + 1), last)) {
        if (first < 1 || last > 127 || first > last) {
          std::fprintf(stderr, "floorgate-sas-probe: --scan range must be within 1-127\n");
          return 2;
        }
        scan_opt.first = static_cast<std::uint8_t>(first);
        scan_opt.last = static_cast<std::uint8_t>(last);
        ++i;
      }
      continue;
    }
    bool ok = i + 1 < argc;
    if (a == "--port") port = v;
    else if (a == "--reply-timeout") ok = ok && parse_int(v, reply_ms) && reply_ms >= 5 && reply_ms <= 2000;
    else if (a == "--address") ok = ok && parse_int(v, address) && address >= 1 && address <= 127;
    else if (a == "--seconds") ok = ok && parse_int(v, seconds) && seconds >= 1;
    else if (a == "--link") link_name = v;
    else ok = false;
    if (!ok) {
      std::fprintf(stderr, "floorgate-sas-probe: bad option or value at '%s'\n%s", a.c_str(), kUsage);
      return 2;
    }
    ++i;
  }
  sas::BusConfig cfg;
  cfg.port = port;
  if (link_name.empty()) {
    bool tcp = port.find(':') != std::string::npos && port.front() != '/';
    bool uart = port.rfind("/dev/tty", 0) == 0 && port.rfind("/dev/ttyp", 0) != 0;
    cfg.link = tcp ? sas::BusConfig::Link::tcp : uart ? sas::BusConfig::Link::uart
                                                      : sas::BusConfig::Link::pty;
  } else if (auto l = sas::parse_link(link_name)) {
    cfg.link = *l;
  } else {
    std::fprintf(stderr, "floorgate-sas-probe: --link must be uart, pty or tcp\n");
    return 2;
  }
  if (scan) {
    if (port.empty()) {
      std::fprintf(stderr, "floorgate-sas-probe: --scan needs --port\n%s", kUsage);
      return 2;
    }
    scan_opt.reply_timeout = std::chrono::milliseconds(reply_ms);
    asio::io_context io(1);
    std::unique_ptr<sas::ByteStream> stream =
        cfg.link == sas::BusConfig::Link::tcp    ? sas::make_tcp_stream(io.get_executor(), port)
        : cfg.link == sas::BusConfig::Link::uart ? sas::make_uart_stream(io.get_executor(), port)
                                                 : sas::make_pty_stream(io.get_executor(), port);
    int n = floorgate::probe::run_scan(io, std::move(stream), cfg.link, scan_opt);
    if (n < 0) return 1;
    if (n == 0) {
      std::fprintf(stderr, "floorgate-sas-probe: no SAS machine answered at addresses %u-%u on %s\n",
                   static_cast<unsigned>(scan_opt.first), static_cast<unsigned>(scan_opt.last),
                   port.c_str());
      return 1;
    }
    return 0;
  }
  sas::EgmConfig egm;
  egm.id = "probe-" + std::to_string(address);
  egm.address = static_cast<std::uint8_t>(address);
  cfg.egms.push_back(egm);
  if (std::string err = sas::validate(cfg); !err.empty()) {
    std::fprintf(stderr, "floorgate-sas-probe: %s\n%s", err.c_str(), kUsage);
    return 2;
  }

  asio::io_context io(1);
  std::unique_ptr<sas::Bus> bus;
  PrintSink sink(io, [&bus] { return identity_line(bus->status().at(0)); });
  bus = std::make_unique<sas::Bus>(io.get_executor(), cfg, sink);
  asio::steady_timer done(io);
  done.expires_after(std::chrono::seconds(seconds));
  done.async_wait([&](boost::system::error_code) {
    bus->stop();
    io.stop();
  });
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code, int) {
    bus->stop();
    io.stop();
  });
  bus->start();
  io.run();
  auto st = bus->status().at(0);
  if (st.answers == 0) {
    std::fprintf(stderr,
                 "floorgate-sas-probe: no answer from SAS address %ld on %s (%llu polls, %llu "
                 "timeouts, %llu chirps): check the cable, the address and the port\n",
                 address, port.c_str(), static_cast<unsigned long long>(st.polls),
                 static_cast<unsigned long long>(st.timeouts),
                 static_cast<unsigned long long>(st.chirps));
    return 1;
  }
  sink.release();
  return 0;
}
