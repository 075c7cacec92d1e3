#pragma once
// The simulator's own G2S XML: builders for the EGM's messages and a reader for the host's.
// Deliberately separate from drivers/src/g2s so a shared bug cannot pass both sides.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace floorgate::egmsim::g2s {

// One command as the simulator sees it: its class header and the command element.
struct HostCommand {
  std::string cls, session_type, class_error;  // class element name / sessionType / errorCode
  std::int64_t session_id = 0, command_id = 0, time_to_live = 0;
  std::string date_time;
  std::string name;                             // command element local name
  std::map<std::string, std::string> attrs;     // command attributes (local names)
  std::vector<std::pair<std::string, std::map<std::string, std::string>>> children;
  std::string attr(const std::string& k, const std::string& def = "") const;
};

// A parsed inner g2sMessage from the host.
struct HostMessage {
  bool ack = false;
  std::string host_id, egm_id, error_code;
  std::vector<HostCommand> commands;
};

// Unescaped g2sMessage from a SOAP g2sRequest/g2sResponse; empty on failure.
std::string soap_payload(const std::string& soap_body);
// Parses the inner message; false when malformed.
bool read_host_message(const std::string& inner, HostMessage& out);

// Escapes XML special characters.
std::string esc(const std::string& s);

// Header of one class element the EGM sends.
struct Header {
  std::string host_id, egm_id, sent;          // g2sBody attributes
  std::string cls, device_id, date_time, session_type;
  std::int64_t command_id = 0, session_id = 0, time_to_live = 0;
  std::string error_code;                     // errorCode on the class element ("" = none)
};
// <g2s:g2sMessage><g2s:g2sBody ...><g2s:CLS ...>command</g2s:CLS></g2s:g2sBody></g2s:g2sMessage>
std::string message(const Header& h, const std::string& command);
// The EGM's synchronous g2sAck.
std::string ack_message(const std::string& host_id, const std::string& egm_id,
                        const std::string& sent, const std::string& error);
// SOAP envelopes.
std::string soap_request(const std::string& inner, const std::string& egm_id,
                         const std::string& host_id);
std::string soap_response(const std::string& inner);

// UTC XML dateTime with milliseconds.
std::string iso_ms(std::int64_t ms);
// Parses "YYYY-MM-DDTHH:MM:SS[.mmm]Z" (UTC); nullopt otherwise.
std::optional<std::int64_t> parse_iso_ms(const std::string& s);

}  // namespace floorgate::egmsim::g2s
