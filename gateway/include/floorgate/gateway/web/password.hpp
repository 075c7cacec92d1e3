#pragma once
// Password hashing for the web accounts: PBKDF2-HMAC-SHA256 via OpenSSL with a random 16-byte
// salt. Text form: `pbkdf2-sha256$<iterations>$<salt-b64>$<hash-b64>` (standard base64 with
// padding). Used by the web server and by `floorgate --hash-password`. Thread-safe.

#include <string>
#include <string_view>

namespace floorgate::gateway::web {

// Default work factor for new hashes (about 0.1-0.3 s on the appliance CPU).
inline constexpr int kDefaultPbkdf2Iterations = 210000;

// Hashes `password` with a fresh random salt; returns the text form above.
std::string hash_password(std::string_view password, int iterations = kDefaultPbkdf2Iterations);

// True when `password` matches `encoded`; false for a wrong password or a malformed hash
// (unknown scheme, iterations outside [1000, 10'000'000], bad base64). Constant-time compare.
bool verify_password(std::string_view password, std::string_view encoded);

// True when `encoded` is a well-formed hash in the text form above (for config validation).
bool is_password_hash(std::string_view encoded);

}  // namespace floorgate::gateway::web
