#pragma once
// Sans-I/O G2S codec: SOAP 1.1 envelope <-> escaped inner g2sMessage <-> a small owned
// element tree. Hardened: size limits, no DTD / entities, bounded depth. Pure functions,
// any thread.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace floorgate::drivers::g2s {

inline constexpr std::string_view kSchemaNs = "http://www.gamingstandards.com/g2s/schemas/v1.0.3";
inline constexpr std::string_view kWsdlNs = "http://www.gamingstandards.com/wsdl/g2s/v1.0";
inline constexpr std::string_view kSoapNs = "http://schemas.xmlsoap.org/soap/envelope/";
inline constexpr std::string_view kSoapActionSend = "http://G2S.gamingstandards.com/SendG2SMessage";
inline constexpr std::size_t kMaxDepth = 32;
// Markup ('<') a message may hold: a full meter sweep (about 225 KB) has about 10,000. Counted
// before parsing, so a body of a million empty elements is refused for the cost of a scan,
// not of a million-node tree built on the event loop.
inline constexpr std::size_t kMaxMarkup = 200'000;

// Codec failures (category "floorgate.g2s.codec").
enum class CodecErrc {
  ok = 0,
  too_large,      // input above the size limit
  forbidden_dtd,  // DOCTYPE / ENTITY declarations (XML bombs) are never parsed
  malformed_xml,  // not well-formed, or nested deeper than kMaxDepth
  not_soap,       // well-formed but no SOAP Envelope/Body/g2sRequest|g2sResponse
  not_g2s,        // payload is not a g2sMessage with g2sBody or g2sAck
  too_complex,    // more markup than kMaxMarkup
};
const std::error_category& codec_category();
std::error_code make_error_code(CodecErrc e);

// One XML element with namespace prefixes stripped from element and attribute names.
struct Element {
  std::string name;
  std::vector<std::pair<std::string, std::string>> attrs;
  std::vector<Element> children;
  std::string text;
  // Attribute value or nullptr.
  const std::string* attr(std::string_view name) const;
  // Attribute value or `def`.
  std::string attr_or(std::string_view name, std::string_view def = {}) const;
  // An xsd:boolean attribute: true for "true" or "1" (whitespace around it allowed), false
  // for anything else, absent included. EGMs may send either lexical form.
  bool flag(std::string_view name) const;
  // First child with that local name or nullptr.
  const Element* child(std::string_view name) const;
};

// The SOAP layer: which operation, and the escaped payload already unescaped.
struct SoapMessage {
  bool is_response = false;         // g2sResponse (sync reply) vs g2sRequest
  bool transport_options = false;   // getTransportOptions request
  std::string payload;              // the inner g2sMessage XML text
  std::string egm_id, host_id;      // g2sEgmId / g2sHostId when present
};

// The inner g2sMessage.
struct G2sMessage {
  bool is_ack = false;              // g2sAck instead of g2sBody
  std::string host_id, egm_id, date_time_sent;
  std::string error_code, error_text;  // g2sAck errors ("" or G2S_none = OK)
  std::vector<Element> classes;     // class elements under g2sBody, each with its commands
};

// Parses a SOAP 1.1 envelope of at most max_bytes.
std::error_code parse_soap(std::string_view body, std::size_t max_bytes, SoapMessage& out);
// Parses an inner g2sMessage of at most max_bytes.
std::error_code parse_g2s_message(std::string_view xml, std::size_t max_bytes, G2sMessage& out);

// Escapes &, <, >, " and ' for text and attribute content.
std::string xml_escape(std::string_view s);

// Builds "<g2s:name a="v" ...>children</g2s:name>" (self-closing when children is empty).
class XmlOut {
 public:
  explicit XmlOut(std::string_view name);
  XmlOut& attr(std::string_view name, std::string_view value);
  XmlOut& attr(std::string_view name, std::int64_t value);
  XmlOut& attr(std::string_view name, bool value);
  XmlOut& attr(std::string_view name, const char* value) { return attr(name, std::string_view(value)); }
  XmlOut& child(std::string_view xml);  // appends already-built child XML
  std::string str() const;

 private:
  std::string name_, head_, body_;
};

// Identity of the inner message.
struct Envelope {
  std::string host_id, egm_id, date_time_sent;
};
// Class element header attributes.
struct ClassHeader {
  std::string cls;          // e.g. "eventHandler"
  std::string device_id;    // host-oriented classes: our hostId
  std::string date_time;
  std::int64_t command_id = 0;
  std::string session_type; // G2S_request | G2S_response | G2S_notification
  std::int64_t session_id = 0;
  std::int64_t time_to_live_ms = 0;
  std::string error_code;   // application error on responses ("" = none)
};

// The inner g2sMessage/g2sBody with one class element holding `command_xml`.
std::string build_body(const Envelope& env, const ClassHeader& h, std::string_view command_xml);
// The inner g2sMessage/g2sAck (error_code "" = OK).
std::string build_ack(const Envelope& env, std::string_view error_code = {});
// SOAP envelope with g2sRequest (escaped payload, g2sEgmId, g2sHostId).
std::string wrap_request(std::string_view inner, std::string_view egm_id, std::string_view host_id);
// SOAP envelope with the synchronous g2sResponse (escaped payload).
std::string wrap_response(std::string_view inner);
// SOAP answer to getTransportOptions: NO_GZIP.
std::string transport_options_response();

// XML dateTime (UTC, milliseconds, 'Z'), e.g. 2026-11-22T19:40:00.123Z.
std::string format_date_time(std::int64_t ms_since_epoch);
// Parses an XML dateTime with optional fraction and zone; nullopt when malformed.
std::optional<std::int64_t> parse_date_time(std::string_view s);

}  // namespace floorgate::drivers::g2s

template <>
struct std::is_error_code_enum<floorgate::drivers::g2s::CodecErrc> : std::true_type {};
