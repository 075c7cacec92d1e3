#pragma once
// Small pure helpers for the web server: URL and query decoding, cookies, tokens, CSV.
// No sockets here; callable from any thread.

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace floorgate::gateway::web::detail {

// Percent-decodes `in` ('+' becomes a space when `plus_is_space`); nullopt on a bad escape
// or an embedded NUL.
std::optional<std::string> url_decode(std::string_view in, bool plus_is_space);

// Splits "a=1&b=x%20y" into a map; nullopt on a bad escape. Later duplicates win.
std::optional<std::map<std::string, std::string>> parse_query(std::string_view query);

// The value of cookie `name` in a Cookie header ("" when absent).
std::string cookie_value(std::string_view cookie_header, std::string_view name);

// `bytes` random bytes from OpenSSL as lowercase hex (session ids, CSRF tokens).
std::string random_token(std::size_t bytes);

// One CSV field per RFC 4180 (quoted when needed), with a leading quote added to values that
// a spreadsheet would run as a formula (=, +, -, @).
std::string csv_field(std::string_view value);

// True when `a` and `b` are equal, comparing in time independent of where they differ.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace floorgate::gateway::web::detail
