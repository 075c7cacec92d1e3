// g2s::Host: mutual TLS set-up and the driver's warnings (refused handshakes, failing POSTs,
// unusable egmLocations) for the daemon's log.
#include "g2s/host_impl.hpp"
#include "g2s/tls.hpp"

#include <algorithm>
#include <cctype>
#include <optional>

namespace floorgate::drivers::g2s {
namespace {

// A refused-handshake reason is logged at most this often; the counter counts every one.
constexpr std::int64_t kTlsLogEveryMs = 10000;

struct UrlParts {
  std::string scheme, host, port, path;
};

// "http://Host:80/G2S" -> {"http", "host", "80", "/G2S"}; IPv6 literals in brackets.
std::optional<UrlParts> split_url(std::string_view u) {
  UrlParts p;
  auto sep = u.find("://");
  if (sep == std::string_view::npos) return std::nullopt;
  for (char c : u.substr(0, sep)) p.scheme += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  u.remove_prefix(sep + 3);
  auto slash = u.find('/');
  std::string_view hp = u.substr(0, slash);
  p.path = slash == std::string_view::npos ? "/" : std::string(u.substr(slash));
  std::string_view host = hp, port;
  if (hp.starts_with('[')) {
    auto close = hp.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    host = hp.substr(1, close - 1);
    if (close + 1 < hp.size() && hp[close + 1] == ':') port = hp.substr(close + 2);
  } else if (auto colon = hp.rfind(':'); colon != std::string_view::npos) {
    host = hp.substr(0, colon);
    port = hp.substr(colon + 1);
  }
  for (char c : host) p.host += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  p.port = port.empty() ? (p.scheme == "https" ? "443" : "80") : std::string(port);
  if (p.host.empty()) return std::nullopt;
  return p;
}

// An address as the server reports peers (IPv4-mapped IPv6 as IPv4).
std::string normal_address(const boost::asio::ip::address& a) {
  if (a.is_v6() && a.to_v6().is_v4_mapped()) {
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, a.to_v6()).to_string();
  }
  return a.to_string();
}

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

std::string Host::Impl::peer_problem(const EgmLink& e, const InboundPeer& peer) const {
  if (peer.tls) {
    // Mutual TLS: the CA vouches for the certificate; the certificate must name this egmId
    // (subject CN, or a subjectAltName DNS name or URI equal to it).
    const auto& n = peer.cert_names;
    if (std::find(n.begin(), n.end(), e.cfg.egm_id) != n.end()) return {};
    return "its certificate does not name egmId " + e.cfg.egm_id;
  }
  if (e.cfg.location.empty()) return {};  // nothing configured to check against
  if (!e.peer_addresses_ready) return "the address of " + e.cfg.location + " is not resolved";
  if (e.peer_addresses.count(peer.address)) return {};
  return "not the address of its configured location " + e.cfg.location;
}

std::string Host::Impl::location_problem(const EgmLink& e, const std::string& egm_location) const {
  if (e.cfg.location.empty() || egm_location.empty()) return {};
  auto want = split_url(e.cfg.location), got = split_url(egm_location);
  if (want && got && want->scheme == got->scheme && want->host == got->host &&
      want->port == got->port && want->path == got->path) {
    return {};
  }
  return "egmLocation " + egm_location + " differs from the configured " + e.cfg.location;
}

void Host::Impl::resolve_peer_addresses(EgmLink& e) {
  auto url = split_url(e.cfg.location);
  if (!url) return;
  boost::system::error_code ec;
  auto literal = boost::asio::ip::make_address(url->host, ec);
  if (!ec) {
    e.peer_addresses.insert(normal_address(literal));
    e.peer_addresses_ready = true;
    return;
  }
  if (!resolver) resolver = std::make_unique<boost::asio::ip::tcp::resolver>(ex);
  std::weak_ptr<Impl> weak = weak_from_this();
  resolver->async_resolve(
      url->host, url->port,
      [weak, id = e.cfg.id](const boost::system::error_code& rec,
                            boost::asio::ip::tcp::resolver::results_type results) {
        auto self = weak.lock();
        if (!self || self->stopped) return;
        EgmLink* link = nullptr;
        for (auto& l : self->egms) {
          if (l->cfg.id == id) link = l.get();
        }
        if (!link) return;
        if (rec) {
          self->warn("EGM " + id + ": cannot resolve the host of " + link->cfg.location + " (" +
                     rec.message() + "); its requests are refused until a restart");
          return;
        }
        for (const auto& r : results) link->peer_addresses.insert(normal_address(r.endpoint().address()));
        link->peer_addresses_ready = true;
      });
}

void Host::Impl::refuse_peer(EgmLink& e, const std::string& why) {
  ++counters.peer_rejected;
  ++e.st.rejected;
  std::int64_t now = now_ms();
  if (peer_refusals_logged.size() >= 256) peer_refusals_logged.clear();  // bounded memory
  auto [it, fresh] = peer_refusals_logged.emplace(why, now);
  if (!fresh && now - it->second < kTlsLogEveryMs) return;
  it->second = now;
  warn("G2S " + why);
}

}  // namespace floorgate::drivers::g2s
