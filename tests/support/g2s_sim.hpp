#pragma once
// Test support: the G2S EGM simulator (floorgate-egm-sim-g2s) as a child process, its
// per-machine control endpoint (POST /control on each machine's egmLocation port) and its
// ledger files (<state-dir>/<egmId>.ledger.jsonl: every event a machine raised, which is how
// "nothing lost" is proved for G2S). Header-only; never used by product code.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdlib>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "test_process.hpp"

namespace floorgate::testing {

struct HttpAnswer {
  int status = 0;  // 0 = no answer (connection failed or closed)
  std::string body;
};

// Writes one XML request on a connected stream (plain or TLS) and reads the answer.
template <class Stream>
HttpAnswer http_exchange(Stream& s, boost::beast::http::verb method, const std::string& target,
                         const std::string& body) {
  namespace http = boost::beast::http;
  http::request<http::string_body> req{method, target, 11};
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::content_type, "text/xml; charset=utf-8");
  req.body() = body;
  req.prepare_payload();
  http::write(s, req);
  boost::beast::flat_buffer buf;
  http::response_parser<http::string_body> p;
  p.body_limit(64 * 1024 * 1024);
  http::read(s, buf, p);
  return {static_cast<int>(p.get().result_int()), p.get().body()};
}

// One blocking HTTP request to 127.0.0.1:port (10 s deadline).
// `source`: the loopback address to send from (another machine on the floor network).
inline HttpAnswer http_post(int port, const std::string& target, const std::string& body,
                            const std::string& method = "POST",
                            const std::string& source = "") {
  namespace http = boost::beast::http;
  namespace asio = boost::asio;
  HttpAnswer out;
  try {
    asio::io_context io;
    boost::beast::tcp_stream s(io);
    s.expires_after(std::chrono::seconds(10));
    if (!source.empty()) {
      s.socket().open(asio::ip::tcp::v4());
      s.socket().bind(asio::ip::tcp::endpoint(asio::ip::make_address(source), 0));
    }
    s.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"),
                                      static_cast<unsigned short>(port)));
    out = http_exchange(s, http::string_to_verb(method), target, body);
  } catch (const std::exception&) {
  }
  return out;
}

// One line of a simulated machine's ledger.
struct G2sLedgerEntry {
  std::string egm_id;
  std::int64_t event_id = 0;
  std::string event_dt;
  std::string code;  // e.g. G2S_CBE307
};

// The simulator with one or more machines, each listening on its own loopback port.
class G2sSim {
 public:
  using Machines = std::vector<std::pair<std::string, int>>;  // (egmId, port)
  // How control commands reach a machine: (port, target, body) -> answer. Plain HTTP unless
  // the simulator runs with TLS (then the test supplies an HTTPS poster with a certificate).
  using Poster = std::function<HttpAnswer(int, const std::string&, const std::string&)>;

  // args: every option except --egm and --state-dir (--host-url, timings, TLS files, ...).
  G2sSim(Machines machines, std::filesystem::path state_dir, std::vector<std::string> args,
         Poster poster = {})
      : machines_(std::move(machines)), dir_(std::move(state_dir)), poster_(std::move(poster)) {
    if (!poster_) poster_ = [](int p, const std::string& t, const std::string& b) {
      return http_post(p, t, b);
    };
    std::filesystem::create_directories(dir_);
    std::vector<std::string> argv = {
        build_path("firmware-host/egm-sim-g2s/floorgate-egm-sim-g2s"), "--state-dir",
        dir_.string()};
    argv.insert(argv.end(), args.begin(), args.end());
    for (const auto& [id, port] : machines_) {
      argv.push_back("--egm");
      argv.push_back(id + "@" + std::to_string(port));
    }
    proc_.start(argv, (dir_ / "sim.out").string(), (dir_ / "sim.err").string());
    for (const auto& m : machines_) wait_until([p = m.second] { return port_open(p); });
  }

  // Runs control commands (one per line) on machine i; returns the last answer's body.
  std::string control(const std::string& cmd, std::size_t i = 0) {
    return poster_(machines_.at(i).second, "/control", cmd).body;
  }
  // Waits until machine i's status JSON contains `needle`.
  bool wait_status(const std::string& needle, std::size_t i = 0,
                   std::chrono::milliseconds t = std::chrono::seconds(20)) {
    return wait_until([&] { return control("status", i).find(needle) != std::string::npos; }, t);
  }
  // Every event machine i raised so far, in the order raised.
  std::vector<G2sLedgerEntry> ledger(std::size_t i) const {
    std::vector<G2sLedgerEntry> out;
    std::ifstream in(dir_ / (machines_.at(i).first + ".ledger.jsonl"));
    for (std::string line; std::getline(in, line);) {
      G2sLedgerEntry e{field(line, "egm_id"), std::atoll(field(line, "event_id").c_str()),
                       field(line, "event_dt"), field(line, "code")};
      if (e.event_id > 0) out.push_back(std::move(e));
    }
    return out;
  }
  std::size_t size() const { return machines_.size(); }
  const std::string& egm_id(std::size_t i) const { return machines_.at(i).first; }
  int port(std::size_t i) const { return machines_.at(i).second; }
  std::string log() const {
    std::ifstream in(dir_ / "sim.err");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  ChildProcess& proc() { return proc_; }

 private:
  // The value of "key" in one flat JSON line the simulator wrote (strings unquoted).
  static std::string field(const std::string& line, const std::string& key) {
    auto p = line.find("\"" + key + "\":");
    if (p == std::string::npos) return {};
    p += key.size() + 3;
    if (p < line.size() && line[p] == '"') {
      auto end = line.find('"', p + 1);
      return end == std::string::npos ? std::string() : line.substr(p + 1, end - p - 1);
    }
    return line.substr(p, line.find_first_of(",}", p) - p);
  }

  Machines machines_;
  std::filesystem::path dir_;
  Poster poster_;
  ChildProcess proc_;
};

}  // namespace floorgate::testing
