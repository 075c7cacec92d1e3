#include "g2s/tls.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace floorgate::drivers::g2s {
namespace ssl = boost::asio::ssl;

std::shared_ptr<ssl::context> make_tls_context(const TlsFiles& f, bool server, std::string& error) {
  auto ctx = std::make_shared<ssl::context>(server ? ssl::context::tls_server
                                                   : ssl::context::tls_client);
  boost::system::error_code ec;
  auto fail = [&](const std::string& what, const std::string& file) {
    error = what + " '" + file + "': " + ec.message();
    return nullptr;
  };
  // TLS 1.2 is the floor: G2S EGMs in the field speak 1.2, nothing older is acceptable.
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                   ec);
  if (ctx->use_certificate_chain_file(f.cert, ec); ec) return fail("certificate file", f.cert);
  if (ctx->use_private_key_file(f.key, ssl::context::pem, ec); ec) return fail("key file", f.key);
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    error = "key file '" + f.key + "' does not match certificate file '" + f.cert + "'";
    return nullptr;
  }
  if (ctx->load_verify_file(f.ca, ec); ec) return fail("CA file", f.ca);
  int mode = ssl::verify_peer;
  if (server) {
    mode |= ssl::verify_fail_if_no_peer_cert;
    // Tell EGMs which CA we accept, and give sessions a context so that a client resuming a
    // TLS session with a verified certificate is not refused.
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(f.ca.c_str())) {
      SSL_CTX_set_client_CA_list(ctx->native_handle(), names);
    }
    static const unsigned char kSid[] = "floorgate-g2s";
    SSL_CTX_set_session_id_context(ctx->native_handle(), kSid, sizeof kSid - 1);
  }
  if (ctx->set_verify_mode(mode, ec); ec) return fail("CA file", f.ca);
  return ctx;
}

std::string tls_failure_text(const boost::system::error_code& ec, SSL* ssl) {
  std::string text = ec.message();
  if (!ssl) return text;
  long v = SSL_get_verify_result(ssl);
  if (v != X509_V_OK) text += ": " + std::string(X509_verify_cert_error_string(v));
  return text;
}

std::vector<std::string> peer_certificate_names(SSL* ssl) {
  std::vector<std::string> names;
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (!cert) return names;
  auto text = [](const ASN1_STRING* s) {
    return std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                       static_cast<std::size_t>(ASN1_STRING_length(s)));
  };
  if (X509_NAME* subject = X509_get_subject_name(cert)) {
    for (int i = X509_NAME_get_index_by_NID(subject, NID_commonName, -1); i >= 0;
         i = X509_NAME_get_index_by_NID(subject, NID_commonName, i)) {
      names.push_back(text(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, i))));
    }
  }
  auto* sans = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (sans) {
    for (int i = 0; i < sk_GENERAL_NAME_num(sans); ++i) {
      const GENERAL_NAME* g = sk_GENERAL_NAME_value(sans, i);
      if (g->type == GEN_DNS) names.push_back(text(g->d.dNSName));
      if (g->type == GEN_URI) names.push_back(text(g->d.uniformResourceIdentifier));
    }
    GENERAL_NAMES_free(sans);
  }
  X509_free(cert);
  return names;
}

}  // namespace floorgate::drivers::g2s
