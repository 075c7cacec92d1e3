#pragma once
// Test-only blocking HTTP/1.1 client on raw sockets, so tests can send exactly the bytes
// they want (hostile input) and see exactly what came back.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <map>
#include <string>

namespace floorgate::testing {

struct HttpReply {
  int status = 0;                              // 0 when nothing parseable came back
  std::map<std::string, std::string> headers;  // lower-case names
  std::string body;
  std::string raw;
};

// Connected socket to 127.0.0.1:port with a receive timeout; -1 on failure.
// `source`: a loopback address to connect from ("127.0.0.2"), to look like another client.
inline int connect_local(int port, std::chrono::milliseconds rcv_timeout = std::chrono::seconds(10),
                         const char* source = nullptr) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (source) {
    sockaddr_in s{};
    s.sin_family = AF_INET;
    ::inet_pton(AF_INET, source, &s.sin_addr);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&s), sizeof s) != 0) {
      ::close(fd);
      return -1;
    }
  }
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  timeval tv{static_cast<time_t>(rcv_timeout.count() / 1000),
             static_cast<suseconds_t>((rcv_timeout.count() % 1000) * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

inline bool send_all(int fd, const std::string& bytes) {
  std::size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

// Reads until the peer closes (or the receive timeout); returns what arrived.
inline std::string read_all(int fd) {
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

inline HttpReply parse_reply(const std::string& raw) {
  HttpReply r;
  r.raw = raw;
  auto end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.", 0) != 0 || end == std::string::npos) return r;
  r.status = std::atoi(raw.c_str() + 9);
  std::size_t pos = raw.find("\r\n") + 2;
  while (pos < end) {
    auto nl = raw.find("\r\n", pos);
    std::string line = raw.substr(pos, nl - pos);
    auto colon = line.find(':');
    if (colon != std::string::npos) {
      std::string name = line.substr(0, colon);
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.erase(0, 1);
      r.headers[name] = value;
    }
    pos = nl + 2;
  }
  r.body = raw.substr(end + 4);
  return r;
}

// Sends raw bytes on a fresh connection and reads until close.
inline HttpReply raw_exchange(int port, const std::string& bytes, const char* source = nullptr) {
  int fd = connect_local(port, std::chrono::seconds(10), source);
  if (fd < 0) return {};
  send_all(fd, bytes);
  std::string raw = read_all(fd);
  ::close(fd);
  return parse_reply(raw);
}

// One request with Connection: close. `headers` are extra "Name: value" lines.
inline HttpReply http_request(int port, const std::string& method, const std::string& target,
                              const std::string& body = {},
                              const std::map<std::string, std::string>& headers = {}) {
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1:" +
                    std::to_string(port) + "\r\nConnection: close\r\n";
  for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
  if (!body.empty() || method == "POST") req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  req += "\r\n" + body;
  return raw_exchange(port, req);
}

// A logged-in web session: the cookie ("fg_session=...") and its CSRF token; both empty when
// the login failed.
struct WebSession {
  std::string cookie, csrf;
};

inline WebSession web_login(int port, const std::string& user,
                            const std::string& password = "floorgate") {
  auto r = http_request(port, "POST", "/api/login",
                        R"({"user":")" + user + R"(","password":")" + password + R"("})",
                        {{"Content-Type", "application/json"}});
  WebSession s;
  auto it = r.headers.find("set-cookie");
  if (r.status != 200 || it == r.headers.end()) return s;
  s.cookie = it->second.substr(0, it->second.find(';'));
  const auto key = r.body.find("\"csrf\":\"");
  if (key == std::string::npos) return s;
  const auto start = key + 8;
  s.csrf = r.body.substr(start, r.body.find('"', start) - start);
  return s;
}

}  // namespace floorgate::testing
