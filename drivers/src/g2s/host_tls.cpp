// g2s::Host: mutual TLS set-up and the driver's warnings (refused handshakes, failing POSTs,
// unusable egmLocations) for the daemon's log.
#include "g2s/host_impl.hpp"
#include "g2s/tls.hpp"

namespace floorgate::drivers::g2s {
namespace {

// A refused-handshake reason is logged at most this often; the counter counts every one.
constexpr std::int64_t kTlsLogEveryMs = 10000;

}  // namespace

void Host::Impl::warn(const std::string& line) {
  if (cfg.log) cfg.log(line);
}

std::error_code Host::Impl::setup_tls() {
  const bool any = !cfg.tls_cert_file.empty() || !cfg.tls_key_file.empty() || !cfg.tls_ca_file.empty();
  if (!any) return {};
  if (cfg.tls_cert_file.empty() || cfg.tls_key_file.empty() || cfg.tls_ca_file.empty()) {
    warn("G2S TLS: tls_cert_file, tls_key_file and tls_ca_file must be given together (mutual TLS)");
    return std::make_error_code(std::errc::invalid_argument);
  }
  TlsFiles files{cfg.tls_cert_file, cfg.tls_key_file, cfg.tls_ca_file};
  std::string error;
  tls_server = make_tls_context(files, true, error);
  if (tls_server) tls_client = make_tls_context(files, false, error);
  if (!tls_client) {
    tls_server.reset();
    warn("G2S TLS cannot start: " + error);
    return std::make_error_code(std::errc::invalid_argument);
  }
  return {};
}

void Host::Impl::on_tls_reject(const std::string& peer, const std::string& reason) {
  ++counters.tls_rejected;
  std::int64_t now = now_ms();
  auto [it, fresh] = tls_reasons_logged.emplace(reason, now);
  if (!fresh && now - it->second < kTlsLogEveryMs) return;
  it->second = now;
  warn("G2S TLS handshake from " + peer + " refused (no event accepted): " + reason);
}

void Host::Impl::set_target(EgmLink& e, const std::string& url) {
  if (!e.client->set_target(url)) warn("EGM " + e.cfg.id + ": " + e.client->target_problem());
}

void Host::Impl::on_post_result(EgmLink& e, std::error_code ec, unsigned status) {
  if (!ec && status == 200) {
    if (!e.post_error.empty()) warn("EGM " + e.cfg.id + ": POSTs to " + e.st.location + " work again");
    e.post_error.clear();
    return;
  }
  ++e.st.post_failures;
  std::string why = ec ? (e.client->last_error().empty() ? ec.message() : e.client->last_error())
                       : "HTTP status " + std::to_string(status);
  if (why == e.post_error) return;
  e.post_error = why;
  warn("EGM " + e.cfg.id + ": POST to " + e.st.location + " failed: " + why);
}

}  // namespace floorgate::drivers::g2s
