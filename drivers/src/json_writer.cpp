#include "floorgate/drivers/json_writer.hpp"

#include <cstdio>

#include "floorgate/core/utf8.hpp"

namespace floorgate::drivers {

bool JsonWriter::append_quoted(std::string& out, std::string_view s) {
  bool clean = true;
  out.push_back('"');
  for (std::size_t i = 0; i < s.size(); ++i) {
    // A run of printable ASCII with nothing to escape (nearly all of every key and value)
    // goes in with one append.
    std::size_t plain = i;
    while (plain < s.size()) {
      const auto p = static_cast<unsigned char>(s[plain]);
      if (p < 0x20 || p >= 0x80 || p == '"' || p == '\\') break;
      ++plain;
    }
    if (plain > i) {
      out.append(s.data() + i, plain - i);
      if (plain == s.size()) break;
      i = plain;
    }
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      if (std::size_t n = core::utf8_sequence_length(s, i)) {
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

JsonWriter& JsonWriter::open(std::string_view k) {
  key(k);
  out_.push_back('{');
  first_ = true;
  ++depth_;
  return *this;
}

JsonWriter& JsonWriter::close() {
  if (depth_ == 0) return *this;  // nothing open: the outer object is closed by finish()
  out_.push_back('}');
  first_ = false;
  --depth_;
  return *this;
}

std::string JsonWriter::finish() && {
  while (depth_ > 0) close();
  if (repaired_) add("text_repaired", true);
  out_.push_back('}');
  return std::move(out_);
}

}  // namespace floorgate::drivers
