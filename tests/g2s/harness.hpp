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
#include "g2s_sim.hpp"
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

using testing::http_post;
using testing::HttpAnswer;

inline std::string sim_path() {
  return testing::build_path("firmware-host/egm-sim-g2s/floorgate-egm-sim-g2s");
}

// The simulator as a child process with one or more machines, fast timings, state in
// state_dir, posting to the host at 127.0.0.1:host_port.
class Sim : public testing::G2sSim {
 public:
  Sim(int host_port, std::vector<std::pair<std::string, int>> egms, const std::string& state_dir,
      std::vector<std::string> extra = {})
      : G2sSim(std::move(egms), state_dir, args("http://127.0.0.1:" + std::to_string(host_port) + "/G2S", std::move(extra))) {}
  // The fast timings every G2S suite uses, then `extra`.
  static std::vector<std::string> args(const std::string& host_url, std::vector<std::string> extra = {}) {
    std::vector<std::string> a = {"--host-url", host_url, "--resend-ms", "400", "--retry-ms", "150",
                                  "--heartbeat-ms", "150", "--min-periodic-ms", "200"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
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
