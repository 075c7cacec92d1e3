// The MQTT contract's payloads and parsers (see mqtt_codec.hpp, docs/mqtt.md).
#include <boost/json.hpp>
#include <charconv>
#include <cstdio>

#include "floorgate/gateway/mqtt_codec.hpp"

namespace floorgate::gateway {
namespace {

namespace json = boost::json;

// Local copy of the class names so the codec does not depend on the store's implementation.
std::string_view class_name(store::EventClass c) {
  switch (c) {
    case store::EventClass::financial: return "financial";
    case store::EventClass::security: return "security";
    case store::EventClass::fault: return "fault";
    case store::EventClass::operational: return "operational";
    case store::EventClass::telemetry: return "telemetry";
  }
  return "operational";
}

// Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's algorithm).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civil_from_days(std::int64_t z, int& y, unsigned& m, unsigned& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<int>(static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2));
}

bool read_digits(std::string_view s, std::size_t pos, std::size_t n, int& out) {
  if (pos + n > s.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

void append_escaped(std::string& out, std::string_view s) {
  out.push_back('"');
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(ch);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out.push_back(ch);
    }
  }
  out.push_back('"');
}

void append_uint(std::string& out, std::uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void append_int(std::string& out, std::int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

// A JSON number that is a non-negative integer fitting in 63 bits (what seqs are).
std::optional<std::uint64_t> as_seq(const json::value& v) {
  if (v.is_uint64()) return v.get_uint64();
  if (v.is_int64() && v.get_int64() >= 0) return static_cast<std::uint64_t>(v.get_int64());
  return std::nullopt;
}

std::optional<json::object> parse_object(std::string_view payload, std::string& error) {
  boost::system::error_code ec;
  json::value v = json::parse(payload, ec);
  if (ec) {
    error = "malformed JSON: " + ec.message();
    return std::nullopt;
  }
  if (!v.is_object()) {
    error = "not a JSON object";
    return std::nullopt;
  }
  return std::move(v.as_object());
}

// "YYYY-MM-DDTHH:MM:SS.mmmZ" appended to `out`: printf's "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ"
// written out for years 0..9999 (every event carries one or two of these).
void append_iso8601_ms(std::string& out, std::int64_t ms) {
  std::int64_t days = ms >= 0 ? ms / 86400000 : -((-ms + 86399999) / 86400000);
  const auto rem = static_cast<unsigned>(ms - days * 86400000);
  int y = 0;
  unsigned m = 0, d = 0;
  civil_from_days(days, y, m, d);
  const unsigned hh = rem / 3600000, mi = rem / 60000 % 60, ss = rem / 1000 % 60, mss = rem % 1000;
  if (y < 0 || y > 9999) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02u:%02u:%02u.%03uZ", y, m, d, hh, mi, ss, mss);
    out += buf;
    return;
  }
  char buf[] = "0000-00-00T00:00:00.000Z";
  auto put = [&buf](std::size_t at, unsigned v, std::size_t width) {
    for (std::size_t i = width; i-- > 0; v /= 10) buf[at + i] = static_cast<char>('0' + v % 10);
  };
  put(0, static_cast<unsigned>(y), 4);
  put(5, m, 2);
  put(8, d, 2);
  put(11, hh, 2);
  put(14, mi, 2);
  put(17, ss, 2);
  put(20, mss, 3);
  out.append(buf, sizeof buf - 1);
}

}  // namespace

std::string iso8601_ms(std::int64_t ms) {
  std::string out;
  append_iso8601_ms(out, ms);
  return out;
}

std::optional<std::int64_t> parse_iso8601(std::string_view s) {
  int y, mo, d, h, mi, se;
  if (s.size() < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
      s[13] != ':' || s[16] != ':')
    return std::nullopt;
  if (!read_digits(s, 0, 4, y) || !read_digits(s, 5, 2, mo) || !read_digits(s, 8, 2, d) ||
      !read_digits(s, 11, 2, h) || !read_digits(s, 14, 2, mi) || !read_digits(s, 17, 2, se))
    return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60) return std::nullopt;
  std::size_t pos = 19;
  std::int64_t frac_ms = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (digits < 3) frac_ms = frac_ms * 10 + (s[pos] - '0');
      ++digits;
      ++pos;
    }
    if (digits == 0) return std::nullopt;
    for (int i = digits; i < 3; ++i) frac_ms *= 10;
  }
  std::int64_t offset_min = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (pos + 6 != s.size() || s[pos + 3] != ':' || !read_digits(s, pos + 1, 2, oh) ||
        !read_digits(s, pos + 4, 2, om) || oh > 23 || om > 59)
      return std::nullopt;
    offset_min = (s[pos] == '+' ? 1 : -1) * (oh * 60 + om);
    pos += 6;
  } else {
    return std::nullopt;  // a time without a zone is ambiguous
  }
  if (pos != s.size()) return std::nullopt;
  std::int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
  std::int64_t secs = days * 86400 + h * 3600 + mi * 60 + se - offset_min * 60;
  return secs * 1000 + frac_ms;
}

std::string topic_segment(std::string_view text) {
  if (text.empty()) return "_";
  std::string out(text);
  for (char& c : out) {
    if (c == '/' || c == '+' || c == '#' || c == '\0') c = '_';
  }
  return out;
}

std::string event_topic(std::string_view root, std::string_view consumer,
                        const store::Record& r) {
  std::string t;
  t.reserve(root.size() + consumer.size() + r.egm.size() + r.type.size() + 24);
  t.append(root).append("/c/").append(topic_segment(consumer)).append("/");
  t.append(topic_segment(r.egm)).append("/").append(class_name(r.cls)).append("/");
  t.append(topic_segment(r.type));
  return t;
}

std::string live_topic(std::string_view root, const store::Record& r) {
  std::string t(root);
  t.append("/live/").append(topic_segment(r.egm)).append("/").append(class_name(r.cls));
  t.append("/").append(topic_segment(r.type));
  return t;
}

std::string encode_event(const store::Record& r, const StreamMarks& marks) {
  std::string o;
  encode_event(o, r, marks);
  return o;
}

void encode_event(std::string& o, const store::Record& r, const StreamMarks& marks) {
  static constexpr char kHex[] = "0123456789abcdef";
  o.clear();
  o.reserve(320 + r.attrs_json.size() + r.raw_hex.size());
  o += "{\"schema\":\"";
  o += kEventSchema;
  o += "\",\"seq\":";
  append_uint(o, r.seq);
  o += ",\"epoch\":";
  append_uint(o, r.epoch);
  o += ",\"egm\":";
  append_escaped(o, r.egm);
  o += ",\"egm_seq\":";
  append_uint(o, r.egm_seq);
  o += ",\"type\":";
  append_escaped(o, r.type);
  o += ",\"class\":\"";
  o += class_name(r.cls);
  o += "\",\"ts_gw\":\"";
  append_iso8601_ms(o, r.ts_gw_ms);
  o += "\",\"ts_gw_ms\":";
  append_int(o, r.ts_gw_ms);
  if (r.ts_egm_ms) {
    o += ",\"ts_egm\":\"";
    append_iso8601_ms(o, *r.ts_egm_ms);
    o += "\",\"ts_egm_ms\":";
    append_int(o, *r.ts_egm_ms);
  } else {
    o += ",\"ts_egm\":null,\"ts_egm_ms\":null";
  }
  o += ",\"source\":";
  append_escaped(o, r.source);
  o += ",\"attrs\":";
  o += r.attrs_json.empty() ? std::string_view("{}") : std::string_view(r.attrs_json);
  o += ",\"raw\":";
  append_escaped(o, r.raw_hex);
  o += ",\"hash\":\"";
  for (auto b : r.hash) {
    o.push_back(kHex[b >> 4]);
    o.push_back(kHex[b & 15]);
  }
  o += "\",\"replay\":";
  o += marks.replay ? "true" : "false";
  if (marks.dead_letter) o += ",\"dead_letter\":true";
  if (marks.after) {
    o += ",\"after\":";
    append_uint(o, *marks.after);
  }
  if (marks.live_from) {
    o += ",\"live_from\":";
    append_uint(o, *marks.live_from);
  }
  o += "}";
}

std::string encode_status(bool online, std::uint64_t epoch, std::string_view boot_id,
                          std::int64_t ts_ms) {
  json::object o;
  o["schema"] = "floorgate.status/1";
  o["state"] = online ? "online" : "offline";
  o["epoch"] = epoch;
  o["boot_id"] = boot_id;
  o["ts"] = iso8601_ms(ts_ms);
  o["ts_ms"] = ts_ms;
  return json::serialize(o);
}

Parsed<AckTopicMsg> parse_ack(std::string_view payload) {
  Parsed<AckTopicMsg> out;
  auto obj = parse_object(payload, out.error);
  if (!obj) return out;
  const bool lane = obj->contains("live_from") && obj->contains("live_upto");
  if (obj->contains("upto") && (obj->size() == 1 || (obj->size() == 3 && lane))) {
    auto n = as_seq(obj->at("upto"));
    if (!n) {
      out.error = "\"upto\" must be a non-negative integer";
      return out;
    }
    AckMsg ack{*n, {}};
    if (lane) {
      auto from = as_seq(obj->at("live_from"));
      auto upto = as_seq(obj->at("live_upto"));
      if (!from || !upto || *upto < *from) {
        out.error = "\"live_from\" and \"live_upto\" must be integers with live_from <= live_upto";
        return out;
      }
      ack.live = AckMsg::Live{*from, *upto};
    }
    out.value = ack;
    return out;
  }
  if (obj->contains("nack") && (obj->size() == 1 || (obj->size() == 2 && obj->contains("reason")))) {
    auto n = as_seq(obj->at("nack"));
    if (!n || *n == 0) {
      out.error = "\"nack\" must be a positive integer";
      return out;
    }
    NackMsg nack{*n, {}};
    if (auto* r = obj->if_contains("reason")) {
      if (!r->is_string()) {
        out.error = "\"reason\" must be a string";
        return out;
      }
      nack.reason = std::string(r->get_string());
    }
    out.value = std::move(nack);
    return out;
  }
  out.error =
      "expected {\"upto\":N}, {\"upto\":N,\"live_from\":L,\"live_upto\":M} or "
      "{\"nack\":N,\"reason\":\"...\"}";
  return out;
}

Parsed<ReplayMsg> parse_replay(std::string_view payload) {
  Parsed<ReplayMsg> out;
  auto obj = parse_object(payload, out.error);
  if (!obj) return out;
  if (obj->size() != 1) {
    out.error = "expected exactly one of from_seq, since, redeliver_dead";
    return out;
  }
  if (auto* v = obj->if_contains("from_seq")) {
    auto n = as_seq(*v);
    if (!n) {
      out.error = "\"from_seq\" must be a non-negative integer";
      return out;
    }
    out.value = ReplayFromSeq{*n};
  } else if (auto* s = obj->if_contains("since")) {
    std::optional<std::int64_t> ms;
    if (s->is_string()) ms = parse_iso8601(s->get_string());
    if (!ms) {
      out.error = "\"since\" must be an ISO-8601 date-time string with a zone";
      return out;
    }
    out.value = ReplaySince{*ms};
  } else if (auto* d = obj->if_contains("redeliver_dead")) {
    if (!d->is_bool() || !d->get_bool()) {
      out.error = "\"redeliver_dead\" must be true";
      return out;
    }
    out.value = RedeliverDead{};
  } else {
    out.error = "expected one of from_seq, since, redeliver_dead";
  }
  return out;
}

std::optional<bool> parse_presence(std::string_view payload) {
  if (payload == "online") return true;
  if (payload == "offline") return false;
  boost::system::error_code ec;
  auto v = boost::json::parse(payload, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto* s = v.as_object().if_contains("state");
  if (!s || !s->is_string()) return std::nullopt;
  if (s->as_string() == "online") return true;
  if (s->as_string() == "offline") return false;
  return std::nullopt;
}

std::optional<InboundTopic> classify_topic(std::string_view root, std::string_view topic) {
  if (topic.size() <= root.size() + 1 || topic.substr(0, root.size()) != root ||
      topic[root.size()] != '/')
    return std::nullopt;
  std::string_view rest = topic.substr(root.size() + 1);
  InboundTopic t;
  if (rest.starts_with("ack/")) {
    t.kind = InboundTopic::Kind::ack;
    rest.remove_prefix(4);
  } else if (rest.starts_with("replay/")) {
    t.kind = InboundTopic::Kind::replay;
    rest.remove_prefix(7);
  } else if (rest.size() > 16 && rest.starts_with("consumer/") && rest.ends_with("/status")) {
    t.kind = InboundTopic::Kind::presence;
    rest = rest.substr(9, rest.size() - 9 - 7);
  } else {
    return std::nullopt;
  }
  if (rest.empty() || rest.find('/') != std::string_view::npos) return std::nullopt;
  t.consumer = std::string(rest);
  return t;
}

}  // namespace floorgate::gateway
