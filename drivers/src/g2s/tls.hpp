#pragma once
// Mutual TLS for the G2S host (OpenSSL through Boost.Asio SSL): the context of the POST /G2S
// server (requires and verifies the EGM's client certificate) and the context of the outbound
// client (presents our certificate, verifies the EGM's certificate and its host name). Built
// once in Host::start(); used on the executor only.

#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <memory>
#include <string>
#include <vector>

namespace floorgate::drivers::g2s {

// PEM files: our certificate chain, its private key, and the CA bundle peers must chain to.
struct TlsFiles {
  std::string cert, key, ca;
};

// A ready context, or nullptr with `error` saying which file failed and why.
std::shared_ptr<boost::asio::ssl::context> make_tls_context(const TlsFiles& files, bool server,
                                                            std::string& error);

// Why a handshake failed, for logs: the OpenSSL reason plus the certificate verification
// result when there is one, e.g. "certificate verify failed (SSL routines): unable to get
// local issuer certificate".
std::string tls_failure_text(const boost::system::error_code& ec, SSL* ssl);

// The names the peer's certificate carries, for tying it to an identity: the subject's CNs
// and the subjectAltName DNS names and URIs (empty without a certificate).
std::vector<std::string> peer_certificate_names(SSL* ssl);

}  // namespace floorgate::drivers::g2s
