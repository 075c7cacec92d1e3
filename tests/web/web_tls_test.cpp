// HTTPS: the server speaks TLS when certificate files are configured, marks the session cookie
// Secure, refuses plain HTTP on that port, and fails start() on unreadable certificate files.
#include "test_process.hpp"
#include "web_fixture.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <gtest/gtest.h>

#include <cstdlib>

namespace floorgate::testing {
namespace {
namespace asio = boost::asio;
namespace beast = boost::beast;

TEST(WebTls, ServesHttpsWithSecureCookie) {
  TempDir dir;
  std::string cert = (dir / "cert.pem").string(), key = (dir / "key.pem").string();
  std::string cmd = "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
                    "-subj /CN=localhost -days 2 -keyout " + key + " -out " + cert +
                    " >/dev/null 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  web::WebOptions o;
  o.cert_file = cert;
  o.key_file = key;
  WebHarness h(o);
  ASSERT_FALSE(h.start_error) << h.start_error.message();

  asio::io_context ioc;
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.set_verify_mode(asio::ssl::verify_none);  // self-signed test certificate
  beast::ssl_stream<beast::tcp_stream> s(ioc, ctx);
  s.next_layer().connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(h.port)});
  s.handshake(asio::ssl::stream_base::client);
  beast::http::request<beast::http::string_body> req{beast::http::verb::post, "/api/login", 11};
  req.set(beast::http::field::host, "localhost");
  req.set(beast::http::field::content_type, "application/json");
  req.body() = R"({"user":"tech","password":"tech-pass"})";
  req.prepare_payload();
  beast::http::write(s, req);
  beast::flat_buffer buf;
  beast::http::response<beast::http::string_body> res;
  beast::http::read(s, buf, res);
  EXPECT_EQ(res.result_int(), 200u);
  std::string cookie(res[beast::http::field::set_cookie]);
  EXPECT_NE(cookie.find("Secure"), std::string::npos);
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos);

  EXPECT_NE(http_request(h.port, "GET", "/").status, 200);  // plain HTTP is not served
}

TEST(WebTls, UnreadableCertificateFailsStart) {
  web::WebOptions o;
  o.cert_file = "/nonexistent/cert.pem";
  o.key_file = "/nonexistent/key.pem";
  WebHarness h(o);
  EXPECT_TRUE(h.start_error);
}

TEST(WebStart, PortInUseFailsStart) {
  WebHarness first;
  ASSERT_FALSE(first.start_error);
  boost::asio::io_context io;
  FakeBackend backend;
  web::WebOptions o;
  o.port = first.port;
  web::WebServer second(io.get_executor(), o, backend);
  EXPECT_TRUE(second.start());
  o.bind = "not-an-address";
  o.port = 0;
  web::WebServer third(io.get_executor(), o, backend);
  EXPECT_TRUE(third.start());
}

}  // namespace
}  // namespace floorgate::testing
