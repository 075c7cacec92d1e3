#include "g2s/xml_codec.hpp"

#include <pugixml.hpp>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <ctime>

namespace floorgate::drivers::g2s {
namespace {

class CodecCategory : public std::error_category {
 public:
  const char* name() const noexcept override { return "floorgate.g2s.codec"; }
  std::string message(int c) const override {
    switch (static_cast<CodecErrc>(c)) {
      case CodecErrc::ok: return "ok";
      case CodecErrc::too_large: return "message too large";
      case CodecErrc::forbidden_dtd: return "DTD or entity declaration not allowed";
      case CodecErrc::malformed_xml: return "malformed XML";
      case CodecErrc::not_soap: return "not a G2S SOAP envelope";
      case CodecErrc::not_g2s: return "not a g2sMessage";
      case CodecErrc::too_complex: return "more elements than any G2S message holds";
    }
    return "unknown";
  }
};

std::string_view local(std::string_view qname) {
  auto p = qname.find(':');
  return p == std::string_view::npos ? qname : qname.substr(p + 1);
}

bool has_dtd(std::string_view s) {
  return s.find("<!DOCTYPE") != std::string_view::npos ||
         s.find("<!ENTITY") != std::string_view::npos ||
         s.find("<!doctype") != std::string_view::npos;
}

// Parses with pugixml; DOCTYPE is rejected beforehand, so only the five predefined entities
// and character references are ever expanded.
std::error_code load(std::string_view xml, std::size_t max_bytes, pugi::xml_document& doc) {
  if (xml.size() > max_bytes) return CodecErrc::too_large;
  if (has_dtd(xml)) return CodecErrc::forbidden_dtd;
  if (static_cast<std::size_t>(std::count(xml.begin(), xml.end(), '<')) > kMaxMarkup) {
    return CodecErrc::too_complex;
  }
  unsigned opts = pugi::parse_default & ~pugi::parse_doctype;
  auto r = doc.load_buffer(xml.data(), xml.size(), opts, pugi::encoding_utf8);
  if (!r) return CodecErrc::malformed_xml;
  return {};
}

bool convert(const pugi::xml_node& n, Element& out, std::size_t depth) {
  if (depth > kMaxDepth) return false;
  out.name = std::string(local(n.name()));
  for (auto a : n.attributes()) {
    std::string_view an = a.name();
    if (an.starts_with("xmlns")) continue;
    out.attrs.emplace_back(std::string(local(an)), a.value());
  }
  for (auto c : n.children()) {
    if (c.type() == pugi::node_element) {
      out.children.emplace_back();
      if (!convert(c, out.children.back(), depth + 1)) return false;
    } else if (c.type() == pugi::node_pcdata || c.type() == pugi::node_cdata) {
      out.text += c.value();
    }
  }
  return true;
}

pugi::xml_node child_local(const pugi::xml_node& n, std::string_view name) {
  for (auto c : n.children()) {
    if (c.type() == pugi::node_element && local(c.name()) == name) return c;
  }
  return {};
}

std::string attr_local(const pugi::xml_node& n, std::string_view name) {
  for (auto a : n.attributes()) {
    if (local(a.name()) == name && !std::string_view(a.name()).starts_with("xmlns")) {
      return a.value();
    }
  }
  return {};
}

std::string envelope_attrs(const Envelope& env) {
  return " hostId=\"" + xml_escape(env.host_id) + "\" egmId=\"" + xml_escape(env.egm_id) +
         "\" dateTimeSent=\"" + xml_escape(env.date_time_sent) + "\"";
}

std::string soap(std::string_view inner_body) {
  std::string s =
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
      "<SOAP-ENV:Envelope xmlns:SOAP-ENV=\"";
  s += kSoapNs;
  s += "\" xmlns:g2s=\"";
  s += kWsdlNs;
  s += "\"><SOAP-ENV:Body>";
  s += inner_body;
  s += "</SOAP-ENV:Body></SOAP-ENV:Envelope>";
  return s;
}

}  // namespace

const std::error_category& codec_category() {
  static CodecCategory c;
  return c;
}
std::error_code make_error_code(CodecErrc e) { return {static_cast<int>(e), codec_category()}; }

const std::string* Element::attr(std::string_view n) const {
  for (const auto& [k, v] : attrs) {
    if (k == n) return &v;
  }
  return nullptr;
}
std::string Element::attr_or(std::string_view n, std::string_view def) const {
  const auto* v = attr(n);
  return v ? *v : std::string(def);
}
bool Element::flag(std::string_view n) const {
  const auto* v = attr(n);
  if (!v) return false;
  std::string_view t = *v;
  while (!t.empty() && (t.front() == ' ' || t.front() == '\t' || t.front() == '\n' || t.front() == '\r'))
    t.remove_prefix(1);
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t' || t.back() == '\n' || t.back() == '\r'))
    t.remove_suffix(1);
  return t == "true" || t == "1";
}
const Element* Element::child(std::string_view n) const {
  for (const auto& c : children) {
    if (c.name == n) return &c;
  }
  return nullptr;
}

std::error_code parse_soap(std::string_view body, std::size_t max_bytes, SoapMessage& out) {
  pugi::xml_document doc;
  if (auto ec = load(body, max_bytes, doc)) return ec;
  auto env = doc.document_element();
  if (local(env.name()) != "Envelope") return CodecErrc::not_soap;
  auto b = child_local(env, "Body");
  if (!b) return CodecErrc::not_soap;
  auto op = b.find_child([](const pugi::xml_node& n) { return n.type() == pugi::node_element; });
  if (!op) return CodecErrc::not_soap;
  std::string_view opname = local(op.name());
  out = {};
  if (opname == "g2sTransportReqVersion" || opname == "getTransportOptions") {
    out.transport_options = true;
    return {};
  }
  if (opname != "g2sRequest" && opname != "g2sResponse") return CodecErrc::not_soap;
  out.is_response = opname == "g2sResponse";
  // g2sRequest wraps an inner g2sRequest element holding the string; g2sResponse holds the
  // string directly (tolerate either shape on both).
  auto inner = child_local(op, opname);
  pugi::xml_node text_holder = inner ? inner : op;
  out.payload = text_holder.text().get();
  if (auto e = child_local(op, "g2sEgmId")) out.egm_id = e.text().get();
  if (auto h = child_local(op, "g2sHostId")) out.host_id = h.text().get();
  if (out.payload.empty()) return CodecErrc::not_soap;
  return {};
}

std::error_code parse_g2s_message(std::string_view xml, std::size_t max_bytes, G2sMessage& out) {
  pugi::xml_document doc;
  if (auto ec = load(xml, max_bytes, doc)) return ec;
  auto root = doc.document_element();
  if (local(root.name()) != "g2sMessage") return CodecErrc::not_g2s;
  out = {};
  pugi::xml_node holder = child_local(root, "g2sBody");
  if (!holder) {
    holder = child_local(root, "g2sAck");
    if (!holder) return CodecErrc::not_g2s;
    out.is_ack = true;
    out.error_code = attr_local(holder, "errorCode");
    out.error_text = attr_local(holder, "errorText");
  }
  out.host_id = attr_local(holder, "hostId");
  out.egm_id = attr_local(holder, "egmId");
  out.date_time_sent = attr_local(holder, "dateTimeSent");
  if (out.is_ack) return {};
  for (auto c : holder.children()) {
    if (c.type() != pugi::node_element) continue;
    out.classes.emplace_back();
    if (!convert(c, out.classes.back(), 2)) return CodecErrc::malformed_xml;
  }
  if (out.classes.empty()) return CodecErrc::not_g2s;
  return {};
}

std::string xml_escape(std::string_view s) {
  std::string o;
  o.reserve(s.size() + s.size() / 8);
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      case '\'': o += "&apos;"; break;
      default: o += c;
    }
  }
  return o;
}

XmlOut::XmlOut(std::string_view name) : name_(name) {}
XmlOut& XmlOut::attr(std::string_view n, std::string_view v) {
  head_ += ' ';
  head_ += n;
  head_ += "=\"";
  head_ += xml_escape(v);
  head_ += '"';
  return *this;
}
XmlOut& XmlOut::attr(std::string_view n, std::int64_t v) { return attr(n, std::to_string(v)); }
XmlOut& XmlOut::attr(std::string_view n, bool v) { return attr(n, v ? "true" : "false"); }
XmlOut& XmlOut::child(std::string_view xml) {
  body_ += xml;
  return *this;
}
std::string XmlOut::str() const {
  std::string s = "<g2s:" + name_ + head_;
  if (body_.empty()) return s + "/>";
  return s + ">" + body_ + "</g2s:" + name_ + ">";
}

std::string build_body(const Envelope& env, const ClassHeader& h, std::string_view command_xml) {
  XmlOut c(h.cls);
  c.attr("deviceId", h.device_id)
      .attr("dateTime", h.date_time)
      .attr("commandId", h.command_id)
      .attr("sessionType", h.session_type)
      .attr("sessionId", h.session_id)
      .attr("timeToLive", h.time_to_live_ms);
  if (!h.error_code.empty()) c.attr("errorCode", h.error_code);
  c.child(command_xml);
  std::string s = "<g2s:g2sMessage xmlns:g2s=\"";
  s += kSchemaNs;
  s += "\"><g2s:g2sBody" + envelope_attrs(env) + ">" + c.str() + "</g2s:g2sBody></g2s:g2sMessage>";
  return s;
}

std::string build_ack(const Envelope& env, std::string_view error_code) {
  std::string s = "<g2s:g2sMessage xmlns:g2s=\"";
  s += kSchemaNs;
  s += "\"><g2s:g2sAck" + envelope_attrs(env);
  if (!error_code.empty()) s += " errorCode=\"" + xml_escape(error_code) + "\"";
  s += "/></g2s:g2sMessage>";
  return s;
}

std::string wrap_request(std::string_view inner, std::string_view egm_id, std::string_view host_id) {
  return soap("<g2s:g2sRequest><g2s:g2sRequest>" + xml_escape(inner) +
              "</g2s:g2sRequest><g2s:g2sEgmId>" + xml_escape(egm_id) +
              "</g2s:g2sEgmId><g2s:g2sHostId>" + xml_escape(host_id) +
              "</g2s:g2sHostId></g2s:g2sRequest>");
}

std::string wrap_response(std::string_view inner) {
  return soap("<g2s:g2sResponse>" + xml_escape(inner) + "</g2s:g2sResponse>");
}

std::string transport_options_response() {
  return soap("<g2s:g2sTransportAckVersion>1.0</g2s:g2sTransportAckVersion>");
}

std::string format_date_time(std::int64_t ms) {
  std::time_t secs = static_cast<std::time_t>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  int frac = static_cast<int>(ms - static_cast<std::int64_t>(secs) * 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
  return buf;
}

std::optional<std::int64_t> parse_date_time(std::string_view s) {
  auto num = [&](std::size_t pos, std::size_t len, int& v) {
    if (pos + len > s.size()) return false;
    auto r = std::from_chars(s.data() + pos, s.data() + pos + len, v);
    return r.ec == std::errc() && r.ptr == s.data() + pos + len;
  };
  int Y, M, D, h, m, sec;
  if (s.size() < 19 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
      s[16] != ':')
    return std::nullopt;
  if (!num(0, 4, Y) || !num(5, 2, M) || !num(8, 2, D) || !num(11, 2, h) || !num(14, 2, m) ||
      !num(17, 2, sec))
    return std::nullopt;
  if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60) return std::nullopt;
  std::size_t p = 19;
  std::int64_t frac_ms = 0;
  if (p < s.size() && s[p] == '.') {
    ++p;
    int digits = 0;
    while (p < s.size() && s[p] >= '0' && s[p] <= '9') {
      if (digits < 3) frac_ms = frac_ms * 10 + (s[p] - '0');
      ++digits;
      ++p;
    }
    if (digits == 0) return std::nullopt;
    for (int i = digits; i < 3; ++i) frac_ms *= 10;
  }
  std::int64_t offset_min = 0;
  if (p < s.size()) {
    if (s[p] == 'Z') {
      ++p;
    } else if (s[p] == '+' || s[p] == '-') {
      int oh, om;
      if (p + 6 != s.size() || s[p + 3] != ':' || !num(p + 1, 2, oh) || !num(p + 4, 2, om))
        return std::nullopt;
      offset_min = (oh * 60 + om) * (s[p] == '-' ? -1 : 1);
      p += 6;
    }
  }
  if (p != s.size()) return std::nullopt;
  // days_from_civil (Howard Hinnant's public-domain algorithm, restated).
  int y = Y - (M <= 2);
  int era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = static_cast<unsigned>(y - era * 400);
  unsigned doy = (153u * static_cast<unsigned>(M + (M > 2 ? -3 : 9)) + 2u) / 5u + static_cast<unsigned>(D) - 1u;
  unsigned doe = yoe * 365u + yoe / 4u - yoe / 100u + doy;
  std::int64_t days = static_cast<std::int64_t>(era) * 146097 + static_cast<std::int64_t>(doe) - 719468;
  std::int64_t secs = days * 86400 + h * 3600 + m * 60 + sec - offset_min * 60;
  return secs * 1000 + frac_ms;
}

}  // namespace floorgate::drivers::g2s
