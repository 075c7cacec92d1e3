// floorgate-web-bench: latency of the technician page's API and page loads while events flow.
// Starts floorgate-web-demo (fake backend generating --events-per-s 2000 through the live path,
// with one SSE client attached), or measures FLOORGATE_WEB_URL=http://127.0.0.1:PORT with
// FLOORGATE_WEB_USER/PASSWORD. Prints web.api_p99_ms and web.api_p50_ms (bench JSON lines).
#include "http_client.hpp"

#include "bench_json.hpp"
#include "test_process.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>
#include <vector>

using namespace floorgate::testing;

namespace {
std::string env_or(const char* name, const std::string& dflt) {
  const char* v = std::getenv(name);
  return v && *v ? v : dflt;
}
}  // namespace

int main() {
  TempDir dir;
  ChildProcess demo;
  int port = 0;
  std::string url = env_or("FLOORGATE_WEB_URL", "");
  if (url.empty()) {
    std::string bin = env_or("FLOORGATE_BUILD_DIR", FLOORGATE_BINARY_DIR) +
                      "/tests/browser/floorgate-web-demo";
    std::string out = (dir / "demo.out").string();
    // A floor of 64 machines (8 banks of 8), as the floor view shows them.
    demo.start({bin, "--port", "0", "--events-per-s", "2000", "--egms", "64"}, out,
               (dir / "demo.err").string());
    wait_until([&] {
      std::ifstream in(out);
      std::string word;
      in >> word >> port;
      return word == "listening" && port > 0;
    });
  } else {
    port = std::atoi(url.substr(url.rfind(':') + 1).c_str());
  }
  if (port <= 0) {
    std::cerr << "web bench: no server\n";
    return 1;
  }
  std::string user = env_or("FLOORGATE_WEB_USER", "tech");
  std::string pass = env_or("FLOORGATE_WEB_PASSWORD", "tech-pass");
  auto login = http_request(port, "POST", "/api/login",
                            "{\"user\":\"" + user + "\",\"password\":\"" + pass + "\"}",
                            {{"Content-Type", "application/json"}});
  if (login.status != 200) {
    std::cerr << "web bench: login failed " << login.status << "\n";
    return 1;
  }
  std::string cookie = login.headers["set-cookie"].substr(0, login.headers["set-cookie"].find(';'));

  // One live dashboard attached, as a technician's browser would be.
  std::atomic<bool> stop{false};
  std::atomic<std::size_t> sse_bytes{0};
  int sse = connect_local(port, std::chrono::milliseconds(200));
  send_all(sse, "GET /api/events/stream HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: " + cookie + "\r\n\r\n");
  std::thread drain([&] {
    char buf[65536];
    while (!stop) {
      ssize_t n = ::recv(sse, buf, sizeof buf, 0);
      if (n > 0) sse_bytes += static_cast<std::size_t>(n);
      if (n == 0) break;
    }
  });
  wait_until([&] { return sse_bytes > 0; });  // the live stream carries the event flow

  // The floor view's data: every machine, as its tiles need them.
  if (url.empty()) {
    auto egms = http_request(port, "GET", "/api/egms", {}, {{"Cookie", cookie}});
    const auto rows = boost::json::parse(egms.body).at("egms").as_array().size();
    if (rows != 64) {
      std::cerr << "web bench: expected 64 EGMs on the floor, got " << rows << "\n";
      return 1;
    }
  }
  const std::vector<std::string> targets = {"/api/dashboard", "/api/egms", "/api/events?limit=200",
                                            "/api/egms/bank1-01", "/", "/app.js", "/api/config",
                                            "/api/config/schema"};
  std::vector<double> ms;
  for (int i = 0; i < 1400; ++i) {
    const auto& t = targets[static_cast<std::size_t>(i) % targets.size()];
    auto t0 = std::chrono::steady_clock::now();
    auto r = http_request(port, "GET", t, {}, {{"Cookie", cookie}});
    auto dt = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0);
    if (r.status != 200) {
      std::cerr << "web bench: " << t << " -> " << r.status << "\n";
      return 1;
    }
    ms.push_back(dt.count());
  }
  stop = true;
  ::shutdown(sse, SHUT_RDWR);
  drain.join();
  ::close(sse);
  std::sort(ms.begin(), ms.end());
  auto pct = [&](double p) { return ms[static_cast<std::size_t>(p * static_cast<double>(ms.size() - 1))]; };
  print_figure("web.api_p99_ms", pct(0.99), "ms");
  print_figure("web.api_p50_ms", pct(0.50), "ms");
  std::cerr << "web bench: " << ms.size() << " requests, live stream carried " << sse_bytes
            << " bytes\n";
  return 0;
}
