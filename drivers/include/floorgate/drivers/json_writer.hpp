#pragma once
// A tiny append-only JSON object builder for Event::attrs_json. Drivers may not depend on a
// JSON library (layering), and attrs are small flat-ish objects, so this is all they need.
// Money is always an integer in the smallest unit (cents or millicents): never floats.

#include <cstdint>
#include <string>
#include <string_view>

namespace floorgate::drivers {

class JsonWriter {
 public:
  JsonWriter() { out_ = "{"; }
  JsonWriter& add(std::string_view key, std::string_view value);
  JsonWriter& add(std::string_view key, const char* value) { return add(key, std::string_view(value)); }
  JsonWriter& add(std::string_view key, std::int64_t value);
  JsonWriter& add(std::string_view key, std::uint64_t value);
  JsonWriter& add(std::string_view key, int value) { return add(key, static_cast<std::int64_t>(value)); }
  JsonWriter& add(std::string_view key, unsigned value) { return add(key, static_cast<std::uint64_t>(value)); }
  JsonWriter& add(std::string_view key, bool value);
  // Inserts already-serialized JSON (an object or array built by another JsonWriter).
  JsonWriter& add_raw(std::string_view key, std::string_view json);
  // A nested object written in place: open(key), add(...)s, close(). Cheaper than a second
  // writer and add_raw (no second buffer, no copy) where objects are built per event.
  JsonWriter& open(std::string_view key);
  JsonWriter& close();
  // Closes the object and returns it; the writer must not be used afterwards. When any key or
  // value was not valid UTF-8, the object ends with "text_repaired":true.
  std::string finish() &&;

  // Appends `s` as a quoted, escaped JSON string. Text from a peer may be anything: every
  // byte sequence that is not valid UTF-8 (stray bytes, overlong forms, UTF-16 surrogates as
  // XML character references decode them, code points above U+10FFFF, cut-off sequences)
  // becomes U+FFFD, so the result always parses as strict JSON. Returns false when it replaced
  // something.
  static bool append_quoted(std::string& out, std::string_view s);

 private:
  void key(std::string_view k);
  std::string out_;
  bool first_ = true;
  bool repaired_ = false;
  int depth_ = 0;  // objects open()ed and not yet close()d
};

}  // namespace floorgate::drivers
