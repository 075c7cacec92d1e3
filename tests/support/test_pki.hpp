#pragma once
// Test support: a throwaway PKI made with the `openssl` command line in a test directory (CA,
// leaf certificates for 127.0.0.1 usable as TLS server and client), and one blocking HTTPS
// request that presents a client certificate or none. Header-only; link OpenSSL::SSL.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

#include "g2s_sim.hpp"

namespace floorgate::testing {

// One certificate with its key (PEM paths).
struct CertFiles {
  std::string cert, key;
};

class TestPki {
 public:
  // Creates a CA named `ca_name` (EC P-256, valid one day) in dir.
  TestPki(std::filesystem::path dir, const std::string& ca_name) : dir_(std::move(dir)), name_(ca_name) {
    std::filesystem::create_directories(dir_);
    run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1"
        " -subj /CN=" + name_ + " -addext basicConstraints=critical,CA:TRUE"
        " -addext keyUsage=critical,keyCertSign,cRLSign"
        " -keyout " + path(name_ + ".key") + " -out " + ca());
  }
  // The CA certificate (PEM).
  std::string ca() const { return path(name_ + ".pem"); }
  // A leaf certificate CN=cn, subjectAltName `san`, for server and client use, signed by
  // this CA.
  CertFiles issue(const std::string& cn, const std::string& san = "IP:127.0.0.1") {
    const std::string base = name_ + "-" + std::to_string(++issued_) + "-" + cn;
    std::ofstream(path(base + ".ext"))
        << "basicConstraints=CA:FALSE\nsubjectAltName=" << san << "\n"
           "keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\n";
    run("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=" + cn +
        " -keyout " + path(base + ".key") + " -out " + path(base + ".csr"));
    run("openssl x509 -req -days 1 -in " + path(base + ".csr") + " -CA " + ca() + " -CAkey " +
        path(name_ + ".key") + " -CAcreateserial -extfile " + path(base + ".ext") + " -out " +
        path(base + ".pem"));
    return {path(base + ".pem"), path(base + ".key")};
  }

 private:
  std::string path(const std::string& f) const { return (dir_ / f).string(); }
  void run(const std::string& cmd) const {
    const std::string log = path("openssl.log");
    if (std::system((cmd + " >>" + log + " 2>&1").c_str()) != 0) {
      std::ifstream in(log);
      throw std::runtime_error("openssl failed: " + cmd + "\n" +
                               std::string(std::istreambuf_iterator<char>(in), {}));
    }
  }
  std::filesystem::path dir_;
  std::string name_;
  int issued_ = 0;
};

// One blocking HTTPS POST to 127.0.0.1:port that trusts `ca` and presents `client` (none when
// its paths are empty). status 0 = no answer (the handshake or the connection failed).
inline HttpAnswer https_post(int port, const std::string& target, const std::string& body,
                             const std::string& ca, const CertFiles& client = {}) {
  namespace asio = boost::asio;
  namespace beast = boost::beast;
  namespace http = beast::http;
  HttpAnswer out;
  try {
    asio::io_context io;
    asio::ssl::context ctx(asio::ssl::context::tls_client);
    ctx.load_verify_file(ca);
    ctx.set_verify_mode(asio::ssl::verify_peer);
    if (!client.cert.empty()) {
      ctx.use_certificate_chain_file(client.cert);
      ctx.use_private_key_file(client.key, asio::ssl::context::pem);
    }
    beast::ssl_stream<beast::tcp_stream> s(io, ctx);
    beast::get_lowest_layer(s).expires_after(std::chrono::seconds(10));
    beast::get_lowest_layer(s).connect(asio::ip::tcp::endpoint(
        asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
    s.handshake(asio::ssl::stream_base::client);
    out = http_exchange(s, http::verb::post, target, body);
  } catch (const std::exception&) {
  }
  return out;
}

}  // namespace floorgate::testing
