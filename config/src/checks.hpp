#pragma once
// Private: pure syntax checks for configuration values (no yaml-cpp here).

#include <filesystem>
#include <string>
#include <string_view>

namespace floorgate::config::detail {

// A DNS host name (RFC 1123 labels) or an IPv4/IPv6 literal.
bool valid_host(std::string_view host);
// An IPv4 or IPv6 literal (what a socket can bind to).
bool valid_ip(std::string_view ip);
// "host:port" or "[v6]:port" with port 1-65535; fills host and port on success.
bool parse_endpoint(std::string_view text, std::string& host, int& port);
// "" when the MQTT topic root is acceptable, else what is wrong with it.
std::string topic_root_problem(std::string_view root);
// "" when the hash has the form pbkdf2-sha256$<iterations>$<salt-b64>$<hash-b64>, else what is
// wrong (never quoting the value).
std::string password_hash_problem(std::string_view hash);
// A dotted event type ("door.opened") or a prefix wildcard ("tilt.*", "*").
bool valid_type_pattern(std::string_view pattern);
// http(s)://host[:port][/path] with a valid host.
bool valid_url(std::string_view url);
// True when the file can be opened for reading by this process.
bool readable_file(const std::filesystem::path& path);
// Standard base64 with optional padding; decoded size in `bytes`.
bool valid_base64(std::string_view text, std::size_t& bytes);

}  // namespace floorgate::config::detail
