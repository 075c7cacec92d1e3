#include "floorgate/drivers/json_writer.hpp"

#include <cstdio>

namespace floorgate::drivers {
namespace {

// Length of the well-formed UTF-8 sequence starting at s[i] (Unicode table 3-7), 0 if none.
std::size_t utf8_length(std::string_view s, std::size_t i) {
  const auto c = static_cast<unsigned char>(s[i]);
  std::size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) n = 2;
  else if (c == 0xE0) n = 3, lo = 0xA0;                 // no overlong 3-byte forms
  else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) n = 3;
  else if (c == 0xED) n = 3, hi = 0x9F;                 // no surrogates U+D800..DFFF
  else if (c == 0xF0) n = 4, lo = 0x90;                 // no overlong 4-byte forms
  else if (c >= 0xF1 && c <= 0xF3) n = 4;
  else if (c == 0xF4) n = 4, hi = 0x8F;                 // nothing above U+10FFFF
  else return 0;
  if (i + n > s.size()) return 0;
  const auto c1 = static_cast<unsigned char>(s[i + 1]);
  if (c1 < lo || c1 > hi) return 0;
  for (std::size_t k = 2; k < n; ++k) {
    if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return 0;
  }
  return n;
}

}  // namespace

bool JsonWriter::append_quoted(std::string& out, std::string_view s) {
  bool clean = true;
  out.push_back('"');
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      if (std::size_t n = utf8_length(s, i)) {
        out.append(s.substr(i, n));
        i += n - 1;
      } else {
        out += "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER, for this one byte
        clean = false;
      }
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
  return clean;
}

void JsonWriter::key(std::string_view k) {
  if (!first_) out_.push_back(',');
  first_ = false;
  repaired_ |= !append_quoted(out_, k);
  out_.push_back(':');
}

JsonWriter& JsonWriter::add(std::string_view k, std::string_view value) {
  key(k);
  repaired_ |= !append_quoted(out_, value);
  return *this;
}

JsonWriter& JsonWriter::add(std::string_view k, std::int64_t value) {
  key(k);
  out_ += std::to_string(value);
  return *this;
}

JsonWriter& JsonWriter::add(std::string_view k, std::uint64_t value) {
  key(k);
  out_ += std::to_string(value);
  return *this;
}

JsonWriter& JsonWriter::add(std::string_view k, bool value) {
  key(k);
  out_ += value ? "true" : "false";
  return *this;
}

JsonWriter& JsonWriter::add_raw(std::string_view k, std::string_view json) {
  key(k);
  out_ += json;
  return *this;
}

std::string JsonWriter::finish() && {
  if (repaired_) add("text_repaired", true);
  out_.push_back('}');
  return std::move(out_);
}

}  // namespace floorgate::drivers
