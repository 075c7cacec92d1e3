// JsonWriter: attribute JSON is always strict JSON, whatever bytes a peer sent (issue 17.5).
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "floorgate/drivers/json_writer.hpp"

using floorgate::drivers::JsonWriter;

namespace {

std::string quoted(std::string_view s, bool* clean = nullptr) {
  std::string out;
  bool ok = JsonWriter::append_quoted(out, s);
  if (clean) *clean = ok;
  return out;
}

}  // namespace

TEST(JsonWriter, ValidUtf8PassesUnchanged) {
  for (std::string s : {"plain", "caf\xC3\xA9", "\xE2\x82\xAC 5", "\xF0\x9F\x8E\xB0 slot",
                        "\xEF\xBF\xBD", "\xF4\x8F\xBF\xBF", "\xED\x9F\xBF"}) {
    bool clean = false;
    EXPECT_EQ(quoted(s, &clean), "\"" + s + "\"") << s;
    EXPECT_TRUE(clean) << s;
  }
}

TEST(JsonWriter, InvalidSequencesBecomeReplacementCharacters) {
  const std::string fffd = "\xEF\xBF\xBD";
  struct Case {
    std::string in, out;
  };
  const Case cases[] = {
      {"a\xFF" "b", "a" + fffd + "b"},                      // a byte that never starts UTF-8
      {"\xC0\xAF", fffd + fffd},                            // overlong '/'
      {"\xE0\x80\xAF", fffd + fffd + fffd},                 // overlong, 3 bytes
      {"\xED\xA0\x80", fffd + fffd + fffd},                 // U+D800 (a lone surrogate)
      {"\xF4\x90\x80\x80", fffd + fffd + fffd + fffd},      // above U+10FFFF
      {"\xE2\x82", fffd + fffd},                            // cut off at the end
      {"\xE2\x82x", fffd + fffd + "x"},                     // cut off in the middle
      {"\x80", fffd},                                       // lone continuation byte
  };
  for (const auto& c : cases) {
    bool clean = true;
    EXPECT_EQ(quoted(c.in, &clean), "\"" + c.out + "\"");
    EXPECT_FALSE(clean);
  }
}

TEST(JsonWriter, RepairedObjectsSayTheyWereRepairedAndParseStrictly) {
  JsonWriter w;
  w.add("text", "door \xFF open").add("k\xC0", "v").add("n", 1);
  std::string json = std::move(w).finish();
  boost::system::error_code ec;
  auto v = boost::json::parse(json, ec);  // strict: invalid UTF-8 is an error
  ASSERT_FALSE(ec) << json;
  EXPECT_TRUE(v.at("text_repaired").as_bool());
  EXPECT_EQ(v.at("text").as_string(), "door \xEF\xBF\xBD open");
  JsonWriter clean;
  clean.add("text", "fine");
  EXPECT_EQ(std::move(clean).finish(), R"({"text":"fine"})");
}

// Every byte string of length 1-3 (and a sample of longer ones) gives strict JSON.
TEST(JsonWriter, EveryShortByteStringGivesStrictJson) {
  std::string s;
  auto check = [&] {
    JsonWriter w;
    w.add("t", s);
    std::string json = std::move(w).finish();
    boost::system::error_code ec;
    boost::json::parse(json, ec);
    return !ec;
  };
  for (int a = 0; a < 256; ++a) {
    for (int b = 0; b < 256; b += 3) {
      s = {static_cast<char>(a), static_cast<char>(b), static_cast<char>((a * 7 + b) & 0xFF)};
      ASSERT_TRUE(check()) << a << " " << b;
    }
  }
}

TEST(JsonWriter, NestedObjectsAreWrittenInPlace) {
  JsonWriter w;
  w.add("a", 1);
  w.open("m").open("coin_in").add("value", std::uint64_t{5}).close();
  w.open("empty").close();
  w.open("x").add("k", "v").close().close();
  w.add("b", true);
  EXPECT_EQ(std::move(w).finish(),
            R"({"a":1,"m":{"coin_in":{"value":5},"empty":{},"x":{"k":"v"}},"b":true})");
  // finish() closes what is still open, so the result is always one complete object.
  JsonWriter open_ended;
  open_ended.open("m").open("n").add("v", 2);
  const std::string s = std::move(open_ended).finish();
  EXPECT_EQ(s, R"({"m":{"n":{"v":2}}})");
  EXPECT_NO_THROW(boost::json::parse(s));
}
