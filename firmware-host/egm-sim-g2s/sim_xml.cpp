#include "sim_xml.hpp"

#include <pugixml.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>

namespace floorgate::egmsim::g2s {
namespace {

const char* strip(const char* qname) {
  const char* c = std::strchr(qname, ':');
  return c ? c + 1 : qname;
}

pugi::xml_node first_element(pugi::xml_node n) {
  for (auto c = n.first_child(); c; c = c.next_sibling()) {
    if (c.type() == pugi::node_element) return c;
  }
  return {};
}

pugi::xml_node named(pugi::xml_node n, const char* local) {
  for (auto c = n.first_child(); c; c = c.next_sibling()) {
    if (c.type() == pugi::node_element && std::strcmp(strip(c.name()), local) == 0) return c;
  }
  return {};
}

std::map<std::string, std::string> attrs_of(pugi::xml_node n) {
  std::map<std::string, std::string> m;
  for (auto a = n.first_attribute(); a; a = a.next_attribute()) {
    if (std::strncmp(a.name(), "xmlns", 5) == 0) continue;
    m[strip(a.name())] = a.value();
  }
  return m;
}

std::int64_t num(const std::map<std::string, std::string>& m, const char* k) {
  auto it = m.find(k);
  return it == m.end() ? 0 : std::strtoll(it->second.c_str(), nullptr, 10);
}

}  // namespace

std::string HostCommand::attr(const std::string& k, const std::string& def) const {
  auto it = attrs.find(k);
  return it == attrs.end() ? def : it->second;
}

std::string soap_payload(const std::string& body) {
  if (body.find("<!DOCTYPE") != std::string::npos) return {};
  pugi::xml_document d;
  if (!d.load_buffer(body.data(), body.size())) return {};
  auto b = named(d.document_element(), "Body");
  auto op = first_element(b);
  if (!op) return {};
  auto inner = named(op, strip(op.name()));
  return (inner ? inner : op).child_value();
}

bool read_host_message(const std::string& inner, HostMessage& out) {
  if (inner.find("<!DOCTYPE") != std::string::npos) return false;
  pugi::xml_document d;
  if (!d.load_buffer(inner.data(), inner.size())) return false;
  auto root = d.document_element();
  if (std::strcmp(strip(root.name()), "g2sMessage") != 0) return false;
  auto holder = named(root, "g2sBody");
  out = {};
  if (!holder) {
    holder = named(root, "g2sAck");
    if (!holder) return false;
    out.ack = true;
  }
  auto ha = attrs_of(holder);
  out.host_id = ha["hostId"];
  out.egm_id = ha["egmId"];
  out.error_code = ha["errorCode"];
  for (auto c = holder.first_child(); c; c = c.next_sibling()) {
    if (c.type() != pugi::node_element) continue;
    HostCommand hc;
    auto ca = attrs_of(c);
    hc.cls = strip(c.name());
    hc.session_type = ca["sessionType"];
    hc.class_error = ca["errorCode"];
    hc.date_time = ca["dateTime"];
    hc.session_id = num(ca, "sessionId");
    hc.command_id = num(ca, "commandId");
    hc.time_to_live = num(ca, "timeToLive");
    if (auto cmd = first_element(c)) {
      hc.name = strip(cmd.name());
      hc.attrs = attrs_of(cmd);
      for (auto k = cmd.first_child(); k; k = k.next_sibling()) {
        if (k.type() == pugi::node_element) hc.children.emplace_back(strip(k.name()), attrs_of(k));
      }
    }
    out.commands.push_back(std::move(hc));
  }
  return true;
}

std::string esc(const std::string& s) {
  std::string o;
  for (char c : s) {
    if (c == '&') o += "&amp;";
    else if (c == '<') o += "&lt;";
    else if (c == '>') o += "&gt;";
    else if (c == '"') o += "&quot;";
    else if (c == '\'') o += "&apos;";
    else o += c;
  }
  return o;
}

std::string message(const Header& h, const std::string& command) {
  char head[160];
  std::snprintf(head, sizeof head, "\" commandId=\"%lld\" sessionType=\"",
                static_cast<long long>(h.command_id));
  std::string s = "<g2s:g2sMessage xmlns:g2s=\"http://www.gamingstandards.com/g2s/schemas/v1.0.3\">";
  s += "<g2s:g2sBody hostId=\"" + esc(h.host_id) + "\" egmId=\"" + esc(h.egm_id) +
       "\" dateTimeSent=\"" + h.sent + "\">";
  s += "<g2s:" + h.cls + " deviceId=\"" + esc(h.device_id) + "\" dateTime=\"" + h.date_time + head +
       h.session_type + "\" sessionId=\"" + std::to_string(h.session_id) + "\" timeToLive=\"" +
       std::to_string(h.time_to_live) + "\"";
  if (!h.error_code.empty()) s += " errorCode=\"" + esc(h.error_code) + "\"";
  s += ">";
  s += command;
  s += "</g2s:" + h.cls + "></g2s:g2sBody></g2s:g2sMessage>";
  return s;
}

std::string ack_message(const std::string& host_id, const std::string& egm_id,
                        const std::string& sent, const std::string& error) {
  std::string s = "<g2s:g2sMessage xmlns:g2s=\"http://www.gamingstandards.com/g2s/schemas/v1.0.3\">"
                  "<g2s:g2sAck hostId=\"" + esc(host_id) + "\" egmId=\"" + esc(egm_id) +
                  "\" dateTimeSent=\"" + sent + "\"";
  if (!error.empty()) s += " errorCode=\"" + error + "\"";
  return s + "/></g2s:g2sMessage>";
}

static const char* kEnvHead =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><SOAP-ENV:Envelope "
    "xmlns:SOAP-ENV=\"http://schemas.xmlsoap.org/soap/envelope/\" "
    "xmlns:g2s=\"http://www.gamingstandards.com/wsdl/g2s/v1.0\"><SOAP-ENV:Body>";
static const char* kEnvTail = "</SOAP-ENV:Body></SOAP-ENV:Envelope>";

std::string soap_request(const std::string& inner, const std::string& egm_id,
                         const std::string& host_id) {
  return std::string(kEnvHead) + "<g2s:g2sRequest><g2s:g2sRequest>" + esc(inner) +
         "</g2s:g2sRequest><g2s:g2sEgmId>" + esc(egm_id) + "</g2s:g2sEgmId><g2s:g2sHostId>" +
         esc(host_id) + "</g2s:g2sHostId></g2s:g2sRequest>" + kEnvTail;
}

std::string soap_response(const std::string& inner) {
  return std::string(kEnvHead) + "<g2s:g2sResponse>" + esc(inner) + "</g2s:g2sResponse>" + kEnvTail;
}

std::string iso_ms(std::int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char b[48];
  std::strftime(b, sizeof b, "%Y-%m-%dT%H:%M:%S", &tm);
  char o[64];
  std::snprintf(o, sizeof o, "%s.%03dZ", b, static_cast<int>(ms % 1000));
  return o;
}

std::optional<std::int64_t> parse_iso_ms(const std::string& s) {
  std::tm tm{};
  int ms = 0;
  char frac[8] = {};
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%7[.0-9]", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, frac) < 6) {
    return std::nullopt;
  }
  if (frac[0] == '.') ms = std::atoi(std::string(frac + 1, std::min<std::size_t>(3, std::strlen(frac + 1))).c_str());
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<std::int64_t>(timegm(&tm)) * 1000 + ms;
}

}  // namespace floorgate::egmsim::g2s
