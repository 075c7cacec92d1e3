#pragma once
// Signed chain heads (docs/audit.md): the gateway signs the head of its hash chain with an
// Ed25519 device key (OpenSSL) and publishes it retained on <root>/chain; an auditor checks a
// store, or an export, against heads collected centrally (`floorgate store verify --anchor`).

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

namespace floorgate::gateway {

// What is signed: "floorgate.chain/1|<epoch>|<seq>|<hash hex>|<ts_ms>".
std::string chain_message(std::uint64_t epoch, std::uint64_t seq, const std::string& hash_hex,
                          std::int64_t ts_ms);

// The device's Ed25519 key. Private key PEM at `path` (mode 0600, the service user's), the
// public key PEM beside it as `<path>.pub`.
class DeviceKey {
 public:
  ~DeviceKey();
  DeviceKey(DeviceKey&&) noexcept;
  DeviceKey& operator=(DeviceKey&&) noexcept;
  // Loads the key, or creates it when the file does not exist; nullopt + `error` otherwise.
  static std::optional<DeviceKey> load_or_create(const std::filesystem::path& path,
                                                 std::string& error);
  // Base64 Ed25519 signature of `message`.
  std::string sign(const std::string& message) const;
  const std::string& public_pem() const { return public_pem_; }
  // First 16 hex digits of SHA-256 over the raw public key: names the key in payloads.
  const std::string& key_id() const { return key_id_; }

 private:
  DeviceKey() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::string public_pem_, key_id_;
};

// True when `sig_b64` is a valid Ed25519 signature of `message` by the PEM public key.
bool verify_chain_signature(const std::string& public_pem, const std::string& message,
                            const std::string& sig_b64);

}  // namespace floorgate::gateway
