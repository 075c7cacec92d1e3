#pragma once
// Test harness for the G2S suites: sinks, an in-process Host on its own io thread, the
// simulator as a child process and its HTTP control port.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "floorgate/drivers/g2s/host.hpp"
#include "test_process.hpp"

namespace floorgate::g2stest {

namespace asio = boost::asio;
using drivers::Event;

inline std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch()).count();
}

// Records every event; on_durable fires on the loop after a post (like a real store), or
// fails with io_error while `fail` is set.
class RecordingSink : public drivers::EventSink {
 public:
  explicit RecordingSink(asio::any_io_executor ex) : ex_(ex) {}
  void submit(Event e, drivers::DurableHandler done) override {
    std::uint64_t seq;
    bool failing;
    {
      std::lock_guard<std::mutex> l(m_);
      failing = fail;
      if (!failing) events_.push_back(e);
      seq = events_.size();
    }
    asio::post(ex_, [done, seq, failing] {
      done(failing ? std::make_error_code(std::errc::io_error) : std::error_code{}, seq);
    });
  }
  std::vector<Event> events() {
    std::lock_guard<std::mutex> l(m_);
    return events_;
  }
  std::vector<Event> of_type(const std::string& t) {
    std::vector<Event> v;
    for (auto& e : events()) {
      if (e.type == t) v.push_back(e);
    }
    return v;
  }
  std::size_t count(const std::string& t) { return of_type(t).size(); }
  bool fail = false;

 private:
  asio::any_io_executor ex_;
  std::mutex m_;
  std::vector<Event> events_;
};

// Runs a Host on its own io_context thread.
class HostRunner {
 public:
  HostRunner(drivers::g2s::HostConfig cfg, drivers::EventSink* sink = nullptr)
      : work_(asio::make_work_guard(io_)) {
    if (!sink) {
      own_sink_ = std::make_unique<RecordingSink>(io_.get_executor());
      sink = own_sink_.get();
    }
    host_ = std::make_unique<drivers::g2s::Host>(io_.get_executor(), std::move(cfg), *sink, wall_ms);
    ec_ = host_->start();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~HostRunner() {
    call([this] { host_->stop(); return 0; });
    work_.reset();
    io_.stop();
    thread_.join();
  }
  template <class F>
  auto call(F f) -> decltype(f()) {
    std::packaged_task<decltype(f())()> t(std::move(f));
    auto fut = t.get_future();
    asio::post(io_, [&t] { t(); });
    return fut.get();
  }
  std::error_code start_error() const { return ec_; }
  int port() { return call([this] { return host_->port(); }); }
  drivers::g2s::EgmStatus status(std::size_t i = 0) {
    return call([this, i] { return host_->status().at(i); });
  }
  drivers::g2s::HostCounters counters() { return call([this] { return host_->counters(); }); }
  RecordingSink& sink() { return *own_sink_; }
  asio::io_context& io() { return io_; }

 private:
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::unique_ptr<RecordingSink> own_sink_;
  std::unique_ptr<drivers::g2s::Host> host_;
  std::error_code ec_;
  std::thread thread_;
};

struct HttpAnswer {
  int status = 0;  // 0 = no answer (connection failed or closed)
  std::string body;
};

// One blocking HTTP POST to 127.0.0.1:port.
inline HttpAnswer http_post(int port, const std::string& target, const std::string& body,
                            const std::string& method = "POST") {
  namespace http = boost::beast::http;
  HttpAnswer out;
  try {
    asio::io_context io;
    boost::beast::tcp_stream s(io);
    s.expires_after(std::chrono::seconds(10));
    s.connect(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
    http::request<http::string_body> req{http::string_to_verb(method), target, 11};
    req.set(http::field::host, "127.0.0.1");
    req.set(http::field::content_type, "text/xml; charset=utf-8");
    req.body() = body;
    req.prepare_payload();
    http::write(s, req);
    boost::beast::flat_buffer buf;
    http::response_parser<http::string_body> p;
    p.body_limit(64 * 1024 * 1024);
    http::read(s, buf, p);
    out.status = p.get().result_int();
    out.body = p.get().body();
  } catch (const std::exception&) {
  }
  return out;
}

inline std::string sim_path() {
  return testing::build_path("firmware-host/egm-sim-g2s/floorgate-egm-sim-g2s");
}

// The simulator as a child process with one or more machines.
class Sim {
 public:
  Sim(int host_port, std::vector<std::pair<std::string, int>> egms, const std::string& state_dir,
      std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {sim_path(), "--host-url",
                                     "http://127.0.0.1:" + std::to_string(host_port) + "/G2S",
                                     "--state-dir", state_dir, "--resend-ms", "400", "--retry-ms",
                                     "150", "--heartbeat-ms", "150", "--min-periodic-ms", "200"};
    for (auto& [id, port] : egms) {
      argv.push_back("--egm");
      argv.push_back(id + "@" + std::to_string(port));
    }
    argv.insert(argv.end(), extra.begin(), extra.end());
    ports_ = egms;
    proc_.start(argv, state_dir + "/sim.out", state_dir + "/sim.err");
    for (auto& [id, port] : egms) testing::wait_until([p = port] { return testing::port_open(p); });
  }
  std::string control(const std::string& cmd, std::size_t i = 0) {
    return http_post(ports_.at(i).second, "/control", cmd).body;
  }
  // Waits until the machine's status JSON contains `needle`.
  bool wait_status(const std::string& needle, std::size_t i = 0,
                   std::chrono::milliseconds t = std::chrono::seconds(20)) {
    return testing::wait_until([&] { return control("status", i).find(needle) != std::string::npos; }, t);
  }
  testing::ChildProcess& proc() { return proc_; }

 private:
  std::vector<std::pair<std::string, int>> ports_;
  testing::ChildProcess proc_;
};

inline drivers::g2s::HostConfig host_config(std::vector<drivers::g2s::EgmConfig> egms, int port = 0) {
  drivers::g2s::HostConfig c;
  c.port = port;
  c.egms = std::move(egms);
  c.keepalive = std::chrono::seconds(1);
  c.request_timeout = std::chrono::milliseconds(2000);
  c.sync_timer = std::chrono::milliseconds(15000);
  return c;
}

}  // namespace floorgate::g2stest
