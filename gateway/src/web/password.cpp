// PBKDF2-HMAC-SHA256 password hashes via OpenSSL (see password.hpp for the text form).
#include <floorgate/gateway/web/password.hpp>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <charconv>
#include <cstdint>
#include <vector>

namespace floorgate::gateway::web {
namespace {

constexpr std::string_view kScheme = "pbkdf2-sha256";
constexpr int kMinIterations = 1000;
constexpr int kMaxIterations = 10'000'000;
constexpr std::size_t kSaltBytes = 16;
constexpr std::size_t kHashBytes = 32;

std::string b64_encode(const unsigned char* data, std::size_t n) {
  std::string out(4 * ((n + 2) / 3), '\0');
  int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data,
                            static_cast<int>(n));
  out.resize(static_cast<std::size_t>(len));
  return out;
}

// Strict standard base64 (with padding); false on any other input.
bool b64_decode(std::string_view in, std::vector<unsigned char>& out) {
  if (in.empty() || in.size() % 4 != 0 || in.size() > 1024) return false;
  for (char c : in) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '/' || c == '=';
    if (!ok) return false;
  }
  out.assign(3 * in.size() / 4, 0);
  int len = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(in.data()),
                            static_cast<int>(in.size()));
  if (len < 0) return false;
  std::size_t pad = 0;
  if (in.back() == '=') ++pad;
  if (in.size() >= 2 && in[in.size() - 2] == '=') ++pad;
  out.resize(static_cast<std::size_t>(len) - pad);
  return true;
}

struct Parsed {
  int iterations = 0;
  std::vector<unsigned char> salt;
  std::vector<unsigned char> hash;
};

bool parse(std::string_view encoded, Parsed& p) {
  std::string_view parts[4];
  for (int i = 0; i < 4; ++i) {
    auto pos = encoded.find('$');
    if (i < 3) {
      if (pos == std::string_view::npos) return false;
      parts[i] = encoded.substr(0, pos);
      encoded.remove_prefix(pos + 1);
    } else {
      if (pos != std::string_view::npos) return false;
      parts[i] = encoded;
    }
  }
  if (parts[0] != kScheme) return false;
  auto [ptr, ec] = std::from_chars(parts[1].data(), parts[1].data() + parts[1].size(),
                                   p.iterations);
  if (ec != std::errc() || ptr != parts[1].data() + parts[1].size()) return false;
  if (p.iterations < kMinIterations || p.iterations > kMaxIterations) return false;
  if (!b64_decode(parts[2], p.salt) || p.salt.size() < 8) return false;
  if (!b64_decode(parts[3], p.hash) || p.hash.size() < 16) return false;
  return true;
}

bool derive(std::string_view pw, const std::vector<unsigned char>& salt, int iterations,
            std::vector<unsigned char>& out) {
  return PKCS5_PBKDF2_HMAC(pw.data(), static_cast<int>(pw.size()), salt.data(),
                           static_cast<int>(salt.size()), iterations, EVP_sha256(),
                           static_cast<int>(out.size()), out.data()) == 1;
}

}  // namespace

std::string hash_password(std::string_view password, int iterations) {
  if (iterations < kMinIterations) iterations = kMinIterations;
  if (iterations > kMaxIterations) iterations = kMaxIterations;
  std::vector<unsigned char> salt(kSaltBytes);
  if (RAND_bytes(salt.data(), static_cast<int>(salt.size())) != 1) return {};
  std::vector<unsigned char> hash(kHashBytes);
  if (!derive(password, salt, iterations, hash)) return {};
  return std::string(kScheme) + "$" + std::to_string(iterations) + "$" +
         b64_encode(salt.data(), salt.size()) + "$" + b64_encode(hash.data(), hash.size());
}

bool verify_password(std::string_view password, std::string_view encoded) {
  Parsed p;
  if (!parse(encoded, p)) return false;
  std::vector<unsigned char> got(p.hash.size());
  if (!derive(password, p.salt, p.iterations, got)) return false;
  return CRYPTO_memcmp(got.data(), p.hash.data(), got.size()) == 0;
}

bool is_password_hash(std::string_view encoded) {
  Parsed p;
  return parse(encoded, p);
}

}  // namespace floorgate::gateway::web
