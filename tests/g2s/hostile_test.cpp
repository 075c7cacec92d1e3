// Hostile input against POST /G2S: malformed XML, XML bombs, huge bodies, wrong ids, wrong
// methods. Each is rejected with the right G2S error or HTTP status; nothing is stored.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "harness.hpp"

namespace floorgate::g2stest {
namespace {

std::string escape(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '<') o += "&lt;";
    else if (c == '>') o += "&gt;";
    else if (c == '&') o += "&amp;";
    else if (c == '"') o += "&quot;";
    else o += c;
  }
  return o;
}

std::string soap(const std::string& inner_escaped, const std::string& egm = "SIM_0001") {
  return "<?xml version=\"1.0\"?><SOAP-ENV:Envelope xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/soap/envelope/\" "
         "xmlns:g2s=\"http://www.gamingstandards.com/wsdl/g2s/v1.0\"><SOAP-ENV:Body><g2s:g2sRequest>"
         "<g2s:g2sRequest>" + inner_escaped + "</g2s:g2sRequest><g2s:g2sEgmId>" + egm +
         "</g2s:g2sEgmId><g2s:g2sHostId>1</g2s:g2sHostId></g2s:g2sRequest></SOAP-ENV:Body></SOAP-ENV:Envelope>";
}

std::string body(const std::string& cls_xml, const std::string& host = "1", const std::string& egm = "SIM_0001") {
  return "<g2s:g2sMessage xmlns:g2s=\"http://www.gamingstandards.com/g2s/schemas/v1.0.3\">"
         "<g2s:g2sBody hostId=\"" + host + "\" egmId=\"" + egm + "\" dateTimeSent=\"2030-01-01T00:00:00.000Z\">" +
         cls_xml + "</g2s:g2sBody></g2s:g2sMessage>";
}

std::string event_report(int id) {
  return "<g2s:eventHandler deviceId=\"1\" dateTime=\"2030-01-01T00:00:00.000Z\" commandId=\"5\" "
         "sessionType=\"G2S_request\" sessionId=\"9\" timeToLive=\"0\"><g2s:eventReport "
         "deviceClass=\"G2S_cabinet\" deviceId=\"1\" eventCode=\"G2S_CBE307\" eventId=\"" + std::to_string(id) +
         "\" eventDateTime=\"2030-01-01T00:00:00.000Z\" transactionId=\"0\"/></g2s:eventHandler>";
}

std::string comms_online() {
  return "<g2s:communications deviceId=\"1\" dateTime=\"2030-01-01T00:00:00.000Z\" commandId=\"1\" "
         "sessionType=\"G2S_request\" sessionId=\"1\" timeToLive=\"0\"><g2s:commsOnLine "
         "egmLocation=\"http://127.0.0.1:1/G2S\" equipmentType=\"G2S_egm\"/></g2s:communications>";
}

class G2sHostile : public ::testing::Test {
 protected:
  void SetUp() override {
    runner_ = std::make_unique<HostRunner>(host_config({{"bank1-01", "SIM_0001", ""}}));
    ASSERT_FALSE(runner_->start_error());
    port_ = runner_->port();
  }
  HttpAnswer post(const std::string& b) { return http_post(port_, "/G2S", b); }
  std::unique_ptr<HostRunner> runner_;
  int port_ = 0;
};

TEST_F(G2sHostile, WrongMethodAndPath) {
  EXPECT_EQ(http_post(port_, "/G2S", "", "GET").status, 405);
  EXPECT_EQ(http_post(port_, "/other", soap(escape(body(event_report(1))))).status, 404);
}

TEST_F(G2sHostile, GarbageAndNonSoapAre400) {
  EXPECT_EQ(post("this is not xml <<<").status, 400);
  EXPECT_EQ(post("<a><b></a>").status, 400);
  EXPECT_EQ(post("<Envelope><Body><other/></Body></Envelope>").status, 400);
  EXPECT_EQ(post("").status, 400);
}

TEST_F(G2sHostile, EntityBombInEnvelopeIsRejected) {
  std::string bomb = "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
                     "<!ENTITY lol2 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">"
                     "<!ENTITY lol3 \"&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;\">]>" +
                     soap("&lol3;").substr(21);
  EXPECT_EQ(post(bomb).status, 400);
  std::string ext = "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>" +
                    soap("&e;").substr(21);
  EXPECT_EQ(post(ext).status, 400);
}

TEST_F(G2sHostile, EntityBombInsideG2sMessageGetsMsx004) {
  std::string inner = "<!DOCTYPE m [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;\">]>" +
                      body(comms_online());
  auto r = post(soap(escape(inner)));
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("G2S_MSX004"), std::string::npos);
}

TEST_F(G2sHostile, MalformedInnerXmlGetsMsx004) {
  auto r = post(soap(escape("<g2s:g2sMessage><g2s:g2sBody hostId=\"1\"")));
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("G2S_MSX004"), std::string::npos);
}

TEST_F(G2sHostile, HugeBodyIs413) {
  std::string huge = soap(std::string(6 * 1024 * 1024, 'x'));
  auto r = post(huge);
  EXPECT_TRUE(r.status == 413 || r.status == 0) << r.status;  // 413, or reset while sending
  EXPECT_GE(runner_->counters().http_rejected, 1u);
}

TEST_F(G2sHostile, DeepNestingIsRejected) {
  std::string deep;
  for (int i = 0; i < 200; ++i) deep += "<g2s:x>";
  for (int i = 0; i < 200; ++i) deep += "</g2s:x>";
  std::string cls = "<g2s:eventHandler deviceId=\"1\" dateTime=\"2030-01-01T00:00:00.000Z\" commandId=\"5\" "
                    "sessionType=\"G2S_request\" sessionId=\"9\" timeToLive=\"0\">" + deep + "</g2s:eventHandler>";
  auto r = post(soap(escape(body(cls))));
  EXPECT_NE(r.body.find("G2S_MSX004"), std::string::npos);
}

TEST_F(G2sHostile, WrongHostAndEgmIds) {
  auto r1 = post(soap(escape(body(comms_online(), "7"))));
  EXPECT_NE(r1.body.find("G2S_MSX001"), std::string::npos);
  auto r2 = post(soap(escape(body(comms_online(), "1", "EVIL_EGM")), "EVIL_EGM"));
  EXPECT_NE(r2.body.find("G2S_MSX002"), std::string::npos);
}

TEST_F(G2sHostile, EventBeforeHandshakeGetsMsx003ThenAcceptedAfter) {
  auto r = post(soap(escape(body(event_report(1)))));
  EXPECT_NE(r.body.find("G2S_MSX003"), std::string::npos);
  auto ok = post(soap(escape(body(comms_online()))));
  EXPECT_EQ(ok.body.find("errorCode"), std::string::npos) << ok.body;
  auto r2 = post(soap(escape(body(event_report(1)))));
  EXPECT_EQ(r2.body.find("errorCode"), std::string::npos) << r2.body;
  ASSERT_TRUE(testing::wait_until([&] { return runner_->sink().count("door.opened") == 1; }));
  // The same event again (no eventAck arrived at the EGM) is recognised, not stored twice.
  post(soap(escape(body(event_report(1)))));
  ASSERT_TRUE(testing::wait_until([&] { return runner_->status().duplicates == 1; }));
  EXPECT_EQ(runner_->sink().count("door.opened"), 1u);
}

// Issue 17.5: a raw 0xFF byte and a lone surrogate (&#xD800;) in eventText reach the store as
// U+FFFD in strict JSON, flagged text_repaired; a consumer's strict decoder never chokes.
TEST_F(G2sHostile, InvalidUtf8BecomesStrictJsonAndIsFlagged) {
  ASSERT_EQ(post(soap(escape(body(comms_online())))).body.find("errorCode"), std::string::npos);
  auto report = [](int id, const std::string& text) {
    return "<g2s:eventHandler deviceId=\"1\" dateTime=\"2030-01-01T00:00:00.000Z\" commandId=\"" +
           std::to_string(5 + id) + "\" sessionType=\"G2S_request\" sessionId=\"" +
           std::to_string(9 + id) + "\" timeToLive=\"0\"><g2s:eventReport deviceClass=\"G2S_cabinet\" "
           "deviceId=\"1\" eventCode=\"G2S_CBE307\" eventId=\"" + std::to_string(id) +
           "\" eventText=\"" + text + "\" eventDateTime=\"2030-01-01T00:00:00.000Z\" "
           "transactionId=\"0\"/></g2s:eventHandler>";
  };
  auto r1 = post(soap(escape(body(report(1, "bad \xFF byte")))));
  EXPECT_EQ(r1.body.find("errorCode"), std::string::npos) << r1.body;
  auto r2 = post(soap(escape(body(report(2, "lone &#xD800; surrogate")))));
  EXPECT_EQ(r2.body.find("errorCode"), std::string::npos) << r2.body;
  ASSERT_TRUE(testing::wait_until([&] { return runner_->sink().count("door.opened") == 2; }));
  int repaired = 0;
  for (const auto& ev : runner_->sink().events()) {
    if (ev.type != "door.opened") continue;
    boost::system::error_code ec;
    auto v = boost::json::parse(ev.attrs_json, ec);
    ASSERT_FALSE(ec) << "not strict JSON: " << ev.attrs_json;
    EXPECT_NE(std::string(v.at("text").as_string()).find("\xEF\xBF\xBD"), std::string::npos);
    repaired += v.as_object().contains("text_repaired") && v.at("text_repaired").as_bool();
  }
  EXPECT_EQ(repaired, 2);
}

TEST_F(G2sHostile, NothingStoredFromRejectedInput) {
  post("junk");
  post(soap(escape(body(event_report(1), "9"))));
  post(soap(escape(body(event_report(2)))));  // before handshake
  EXPECT_TRUE(runner_->sink().events().empty());
  EXPECT_GE(runner_->counters().msx_errors, 2u);
}

// Issue 17: only the EGM may speak for its egmId. With a configured location (as the daemon
// always has), a request from another address is refused as the wrong egmId and nothing is
// stored; a commsOnLine may not move the host's channel to another egmLocation.
class G2sPeer : public ::testing::Test {
 protected:
  void SetUp() override {
    runner_ = std::make_unique<HostRunner>(
        host_config({{"bank1-01", "SIM_0001", "http://127.0.0.1:1/G2S"}}));
    ASSERT_FALSE(runner_->start_error());
    port_ = runner_->port();
  }
  HttpAnswer post(const std::string& b, const std::string& from = "127.0.0.1") {
    return http_post(port_, "/G2S", b, "POST", from);
  }
  std::unique_ptr<HostRunner> runner_;
  int port_ = 0;
};

TEST_F(G2sPeer, RequestsFromAnotherAddressAreRefusedAndNothingIsStored) {
  // A forger on 127.0.0.2 handshakes and reports a door for the configured egmId.
  auto r1 = post(soap(escape(body(comms_online()))), "127.0.0.2");
  EXPECT_NE(r1.body.find("G2S_MSX002"), std::string::npos) << r1.body;
  auto r2 = post(soap(escape(body(event_report(1)))), "127.0.0.2");
  EXPECT_NE(r2.body.find("G2S_MSX002"), std::string::npos) << r2.body;
  EXPECT_EQ(runner_->counters().peer_rejected, 2u);
  // The real EGM (127.0.0.1) is served as before.
  auto ok = post(soap(escape(body(comms_online()))));
  EXPECT_EQ(ok.body.find("errorCode"), std::string::npos) << ok.body;
  auto ev = post(soap(escape(body(event_report(1)))));
  EXPECT_EQ(ev.body.find("errorCode"), std::string::npos) << ev.body;
  ASSERT_TRUE(testing::wait_until([&] { return runner_->sink().count("door.opened") == 1; }));
  // ...and a forger still cannot add to it.
  post(soap(escape(body(event_report(2)))), "127.0.0.2");
  EXPECT_EQ(runner_->counters().peer_rejected, 3u);
  EXPECT_EQ(runner_->sink().count("door.opened"), 1u);
}

// The sender is checked before its message is parsed: a forger's request that would not even
// parse is refused as the wrong egmId (MSX002), not as bad XML (MSX004), so whatever it sent
// was never parsed on the event loop.
TEST_F(G2sPeer, AForgersRequestIsRefusedBeforeItsMessageIsParsed) {
  auto r = post(soap(escape("<g2s:g2sMessage><unclosed>")), "127.0.0.2");
  EXPECT_NE(r.body.find("G2S_MSX002"), std::string::npos) << r.body;
  EXPECT_EQ(runner_->counters().peer_rejected, 1u);
  // From the EGM's own address the same request is judged on its XML.
  auto own = post(soap(escape("<g2s:g2sMessage><unclosed>")));
  EXPECT_NE(own.body.find("G2S_MSX004"), std::string::npos) << own.body;
}

TEST_F(G2sPeer, CommsOnLineCannotMoveTheEgmLocation) {
  std::string moved = comms_online();
  auto at = moved.find("http://127.0.0.1:1/G2S");
  ASSERT_NE(at, std::string::npos);
  moved.replace(at, 22, "http://10.9.9.9:80/steal");
  auto r = post(soap(escape(body(moved))));
  EXPECT_NE(r.body.find("G2S_MSX002"), std::string::npos) << r.body;
  EXPECT_EQ(runner_->counters().peer_rejected, 1u);
  auto st = runner_->status();
  EXPECT_EQ(st.location, "http://127.0.0.1:1/G2S");
}

// A body within the size limit made of a quarter of a million empty elements is refused
// before any tree is built (a million-node parse held the event loop), in the envelope or in
// the message.
TEST_F(G2sHostile, MillionsOfTinyElementsAreRefusedBeforeParsing) {
  std::string many;
  for (int i = 0; i < 250'000; ++i) many += "<a/>";
  std::string envelope = soap(escape(body(comms_online())));
  envelope.insert(envelope.find("<SOAP-ENV:Body>"), many);
  auto outer = post(envelope);
  EXPECT_EQ(outer.status, 400) << outer.body.substr(0, 200);
  EXPECT_NE(outer.body.find("more elements"), std::string::npos) << outer.body.substr(0, 200);
  auto inner = post(soap(escape(body("<g2s:cabinet>" + many + "</g2s:cabinet>"))));
  EXPECT_NE(inner.body.find("G2S_MSX004"), std::string::npos) << inner.body.substr(0, 200);
  EXPECT_TRUE(runner_->sink().events().empty());
  // The host still serves the EGM.
  auto ok = post(soap(escape(body(comms_online()))));
  EXPECT_EQ(ok.body.find("errorCode"), std::string::npos) << ok.body;
}

TEST_F(G2sHostile, TransportOptionsAnswerNoGzip) {
  std::string req = "<?xml version=\"1.0\"?><SOAP-ENV:Envelope xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/soap/envelope/\" "
                    "xmlns:g2s=\"http://www.gamingstandards.com/wsdl/g2s/v1.0\"><SOAP-ENV:Body>"
                    "<g2s:g2sTransportReqVersion>1.0</g2s:g2sTransportReqVersion></SOAP-ENV:Body></SOAP-ENV:Envelope>";
  auto r = post(req);
  EXPECT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("g2sTransportAckVersion>1.0<"), std::string::npos);
}

}  // namespace
}  // namespace floorgate::g2stest
