#include "floorgate/gateway/chain_signing.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <vector>

namespace floorgate::gateway {
namespace {

std::string b64(const unsigned char* data, std::size_t n) {
  std::string out(4 * ((n + 2) / 3) + 1, '\0');
  const int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), data,
                                  static_cast<int>(n));
  out.resize(static_cast<std::size_t>(len));
  return out;
}

std::optional<std::vector<unsigned char>> unb64(const std::string& s) {
  if (s.empty() || s.size() % 4 != 0) return std::nullopt;
  std::vector<unsigned char> out(s.size() / 4 * 3 + 1);
  const int len = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(s.data()),
                                  static_cast<int>(s.size()));
  if (len < 0) return std::nullopt;
  std::size_t n = static_cast<std::size_t>(len);
  for (std::size_t i = s.size(); i > 0 && s[i - 1] == '='; --i) --n;  // padding decodes as 0s
  out.resize(n);
  return out;
}

std::string pem_of(EVP_PKEY* k, bool priv) {
  BIO* bio = BIO_new(BIO_s_mem());
  if (priv) PEM_write_bio_PrivateKey(bio, k, nullptr, nullptr, 0, nullptr, nullptr);
  else PEM_write_bio_PUBKEY(bio, k);
  char* p = nullptr;
  const long n = BIO_get_mem_data(bio, &p);
  std::string out(p, static_cast<std::size_t>(n));
  BIO_free(bio);
  return out;
}

std::string key_id_of(EVP_PKEY* k) {
  unsigned char raw[32];
  std::size_t n = sizeof raw;
  EVP_PKEY_get_raw_public_key(k, raw, &n);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdn = 0;
  EVP_Digest(raw, n, md, &mdn, EVP_sha256(), nullptr);
  std::string hex;
  char b[3];
  for (int i = 0; i < 8; ++i) {
    std::snprintf(b, sizeof b, "%02x", md[i]);
    hex += b;
  }
  return hex;
}

}  // namespace

std::string chain_message(std::uint64_t epoch, std::uint64_t seq, const std::string& hash_hex,
                          std::int64_t ts_ms) {
  return "floorgate.chain/1|" + std::to_string(epoch) + "|" + std::to_string(seq) + "|" +
         hash_hex + "|" + std::to_string(ts_ms);
}

struct DeviceKey::Impl {
  EVP_PKEY* key = nullptr;
  ~Impl() { EVP_PKEY_free(key); }
};

DeviceKey::~DeviceKey() = default;
DeviceKey::DeviceKey(DeviceKey&&) noexcept = default;
DeviceKey& DeviceKey::operator=(DeviceKey&&) noexcept = default;

std::optional<DeviceKey> DeviceKey::load_or_create(const std::filesystem::path& path,
                                                   std::string& error) {
  DeviceKey k;
  k.impl_ = std::make_unique<Impl>();
  if (FILE* f = std::fopen(path.c_str(), "r")) {
    k.impl_->key = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
    std::fclose(f);
    if (!k.impl_->key || EVP_PKEY_get_id(k.impl_->key) != EVP_PKEY_ED25519) {
      error = path.string() + " is not an Ed25519 private key (PEM)";
      return std::nullopt;
    }
  } else {
    k.impl_->key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
    if (!k.impl_->key) {
      error = "cannot create an Ed25519 key";
      return std::nullopt;
    }
    // Created 0600 (only the service user reads it), written whole, then renamed into place.
    const std::string pem = pem_of(k.impl_->key, true);
    const auto tmp = path.string() + ".new";
    const mode_t old = ::umask(0077);
    {
      std::ofstream out(tmp, std::ios::trunc);
      out << pem;
      if (!out.flush()) {
        ::umask(old);
        error = "cannot write " + tmp;
        return std::nullopt;
      }
    }
    ::umask(old);
    ::chmod(tmp.c_str(), 0600);
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) {
      error = "cannot create " + path.string() + ": " + ec.message();
      return std::nullopt;
    }
  }
  k.public_pem_ = pem_of(k.impl_->key, false);
  k.key_id_ = key_id_of(k.impl_->key);
  std::ofstream(path.string() + ".pub", std::ios::trunc) << k.public_pem_;
  return k;
}

std::string DeviceKey::sign(const std::string& message) const {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  unsigned char sig[64];
  std::size_t n = sizeof sig;
  std::string out;
  if (EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, impl_->key) == 1 &&
      EVP_DigestSign(ctx, sig, &n, reinterpret_cast<const unsigned char*>(message.data()),
                     message.size()) == 1) {
    out = b64(sig, n);
  }
  EVP_MD_CTX_free(ctx);
  return out;
}

bool verify_chain_signature(const std::string& public_pem, const std::string& message,
                            const std::string& sig_b64) {
  auto sig = unb64(sig_b64);
  if (!sig || sig->size() != 64) return false;
  BIO* bio = BIO_new_mem_buf(public_pem.data(), static_cast<int>(public_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PUBKEY(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (!key) return false;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok = EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, key) == 1 &&
                  EVP_DigestVerify(ctx, sig->data(), sig->size(),
                                   reinterpret_cast<const unsigned char*>(message.data()),
                                   message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  return ok;
}

}  // namespace floorgate::gateway
