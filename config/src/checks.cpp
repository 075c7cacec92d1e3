#include "checks.hpp"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <fstream>

namespace floorgate::config::detail {

namespace {

bool is_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(),
                                   [](unsigned char c) { return std::isdigit(c) != 0; });
}

bool parse_port(std::string_view s, int& port) {
  if (!is_digits(s) || s.size() > 5) return false;
  int v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  if (v < 1 || v > 65535) return false;
  port = v;
  return true;
}

}  // namespace

bool valid_ip(std::string_view ip) {
  const std::string s(ip);
  unsigned char buf[16];
  return ::inet_pton(AF_INET, s.c_str(), buf) == 1 || ::inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

bool valid_host(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  if (valid_ip(host)) return true;
  std::size_t start = 0;
  while (start <= host.size()) {
    std::size_t dot = host.find('.', start);
    if (dot == std::string_view::npos) dot = host.size();
    const std::string_view label = host.substr(start, dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-')
      return false;
    for (unsigned char c : label) {
      if (!std::isalnum(c) && c != '-') return false;
    }
    start = dot + 1;
  }
  // All-numeric dotted names that are not IPv4 literals (e.g. 10.0.0.300) are typos.
  return !std::all_of(host.begin(), host.end(),
                      [](unsigned char c) { return std::isdigit(c) || c == '.'; });
}

bool parse_endpoint(std::string_view text, std::string& host, int& port) {
  std::string_view h;
  std::string_view p;
  if (!text.empty() && text.front() == '[') {
    const std::size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return false;
    h = text.substr(1, close - 1);
    p = text.substr(close + 2);
    unsigned char buf[16];
    if (::inet_pton(AF_INET6, std::string(h).c_str(), buf) != 1) return false;
  } else {
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return false;
    h = text.substr(0, colon);
    p = text.substr(colon + 1);
    if (h.find(':') != std::string_view::npos || !valid_host(h)) return false;
  }
  int v = 0;
  if (!parse_port(p, v)) return false;
  host = std::string(h);
  port = v;
  return true;
}

std::string topic_root_problem(std::string_view root) {
  if (root.empty()) return "must not be empty";
  if (root.find_first_of("+#") != std::string_view::npos)
    return "must not contain the MQTT wildcards '+' or '#'";
  if (root.find('\0') != std::string_view::npos) return "must not contain NUL";
  if (root.front() == '/' || root.back() == '/') return "must not start or end with '/'";
  if (root.find("//") != std::string_view::npos) return "must not contain empty levels ('//')";
  if (root.front() == '$') return "must not start with '$' (reserved for broker topics)";
  if (root.size() > 200) return "is too long (at most 200 characters)";
  return {};
}

bool valid_base64(std::string_view text, std::size_t& bytes) {
  std::size_t pad = 0;
  while (!text.empty() && text.back() == '=') {
    text.remove_suffix(1);
    ++pad;
  }
  if (text.empty() || pad > 2) return false;
  for (unsigned char c : text) {
    if (!std::isalnum(c) && c != '+' && c != '/') return false;
  }
  if (text.size() % 4 == 1) return false;
  if (pad > 0 && (text.size() + pad) % 4 != 0) return false;
  bytes = text.size() * 3 / 4;
  return true;
}

std::string password_hash_problem(std::string_view hash) {
  const std::string_view form =
      "must have the form pbkdf2-sha256$<iterations>$<salt-b64>$<hash-b64> (value not shown)";
  std::string_view parts[4];
  std::size_t n = 0;
  std::size_t start = 0;
  while (n < 4) {
    const std::size_t dollar = hash.find('$', start);
    parts[n++] = hash.substr(start, dollar == std::string_view::npos ? dollar : dollar - start);
    if (dollar == std::string_view::npos) break;
    start = dollar + 1;
    if (n == 4) return std::string(form);  // a fifth part
  }
  if (n != 4 || parts[0] != "pbkdf2-sha256") return std::string(form);
  if (!is_digits(parts[1]) || parts[1].size() > 9) return std::string(form);
  int iterations = 0;
  std::from_chars(parts[1].data(), parts[1].data() + parts[1].size(), iterations);
  if (iterations < 10000)
    return "iteration count is too low; allowed 10000-999999999 (value not shown)";
  std::size_t salt_bytes = 0;
  std::size_t hash_bytes = 0;
  if (!valid_base64(parts[2], salt_bytes) || salt_bytes < 8)
    return "salt must be base64 of at least 8 bytes (value not shown)";
  if (!valid_base64(parts[3], hash_bytes) || hash_bytes != 32)
    return "hash must be base64 of 32 bytes (SHA-256) (value not shown)";
  return {};
}

bool valid_type_pattern(std::string_view pattern) {
  if (pattern == "*") return true;
  if (pattern.ends_with(".*")) pattern.remove_suffix(2);
  if (pattern.empty()) return false;
  std::size_t start = 0;
  while (start <= pattern.size()) {
    std::size_t dot = pattern.find('.', start);
    if (dot == std::string_view::npos) dot = pattern.size();
    const std::string_view part = pattern.substr(start, dot - start);
    if (part.empty()) return false;
    for (unsigned char c : part) {
      if (!std::islower(c) && !std::isdigit(c) && c != '_') return false;
    }
    start = dot + 1;
  }
  return true;
}

bool valid_url(std::string_view url) {
  std::string_view rest;
  if (url.starts_with("http://")) rest = url.substr(7);
  else if (url.starts_with("https://")) rest = url.substr(8);
  else return false;
  const std::size_t slash = rest.find('/');
  const std::string_view authority = rest.substr(0, slash);
  std::string host;
  int port = 0;
  if (parse_endpoint(authority, host, port)) return true;
  if (authority.size() > 2 && authority.front() == '[' && authority.back() == ']')
    return valid_ip(authority.substr(1, authority.size() - 2));
  return valid_host(authority);
}

bool readable_file(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return false;
  std::ifstream in(path);
  return in.good();
}

}  // namespace floorgate::config::detail
