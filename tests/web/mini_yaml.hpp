#pragma once
// Test-only: parses the block-YAML subset the web page's form emitter writes (maps, "- "
// sequences, JSON-quoted strings, numbers, true/false/null, [] and {}) into Boost.JSON, so
// the fake backend can "validate" what the page sends. Not a YAML parser for anything else.

#include <boost/json.hpp>

#include <cctype>
#include <optional>
#include <string>
#include <vector>

namespace floorgate::testing::mini_yaml {

struct Line {
  int indent;
  std::string text;
  int number;  // 1-based
};

struct Error {
  int line = 0;
  std::string message;
};

class Parser {
 public:
  explicit Parser(const std::string& text) {
    int n = 0;
    std::size_t pos = 0;
    while (pos <= text.size()) {
      auto nl = text.find('\n', pos);
      std::string raw = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
      ++n;
      pos = nl == std::string::npos ? text.size() + 1 : nl + 1;
      if (!raw.empty() && raw.back() == '\r') raw.pop_back();
      std::size_t ind = raw.find_first_not_of(' ');
      if (ind == std::string::npos || raw[ind] == '#') continue;
      if (raw.find('\t') != std::string::npos) {
        error_ = Error{n, "tab characters are not allowed in YAML indentation"};
      }
      lines_.push_back({static_cast<int>(ind), raw.substr(ind), n});
    }
  }

  // The parsed document, or nullopt with error() set.
  std::optional<boost::json::value> parse() {
    if (error_) return std::nullopt;
    if (lines_.empty()) return boost::json::value(boost::json::object{});
    auto v = block(lines_[0].indent);
    if (!error_ && i_ < lines_.size()) fail(lines_[i_].number, "unexpected indentation");
    if (error_) return std::nullopt;
    return v;
  }
  const std::optional<Error>& error() const { return error_; }

 private:
  void fail(int line, std::string msg) {
    if (!error_) error_ = Error{line, std::move(msg)};
  }
  static bool is_item(const std::string& t) { return t == "-" || t.rfind("- ", 0) == 0; }
  static std::optional<std::size_t> key_end(const std::string& t) {
    std::size_t k = 0;
    while (k < t.size() && (std::isalnum(static_cast<unsigned char>(t[k])) || t[k] == '_' ||
                            t[k] == '-' || t[k] == '.'))
      ++k;
    if (k == 0 || k >= t.size() || t[k] != ':') return std::nullopt;
    if (k + 1 < t.size() && t[k + 1] != ' ') return std::nullopt;
    return k;
  }

  boost::json::value scalar(const std::string& s, int line) {
    if (s.empty() || s == "null" || s == "~") return nullptr;
    if (s == "true") return true;
    if (s == "false") return false;
    if (s == "[]") return boost::json::array{};
    if (s == "{}") return boost::json::object{};
    boost::system::error_code ec;
    if (s[0] == '"' || s[0] == '-' || std::isdigit(static_cast<unsigned char>(s[0]))) {
      auto v = boost::json::parse(s, ec);
      if (!ec) return v;
      if (s[0] == '"') {
        fail(line, "bad quoted string");
        return nullptr;
      }
    }
    return boost::json::string(s);
  }

  boost::json::value nested(int parent_indent, int line) {
    if (i_ < lines_.size() && lines_[i_].indent > parent_indent) return block(lines_[i_].indent);
    (void)line;
    return nullptr;
  }

  boost::json::value block(int indent) {
    if (is_item(lines_[i_].text)) return sequence(indent);
    return mapping(indent);
  }

  boost::json::value mapping(int indent) {
    boost::json::object obj;
    while (i_ < lines_.size() && !error_ && lines_[i_].indent == indent &&
           !is_item(lines_[i_].text)) {
      Line l = lines_[i_++];
      auto k = key_end(l.text);
      if (!k) {
        fail(l.number, "expected 'key: value'");
        break;
      }
      std::string key = l.text.substr(0, *k);
      std::string rest = *k + 2 <= l.text.size() ? l.text.substr(*k + 2) : "";
      if (obj.contains(key)) fail(l.number, "duplicate key '" + key + "'");
      obj[key] = rest.empty() ? nested(indent, l.number) : scalar(rest, l.number);
    }
    if (i_ < lines_.size() && !error_ && lines_[i_].indent > indent) {
      fail(lines_[i_].number, "unexpected indentation");
    }
    return obj;
  }

  boost::json::value sequence(int indent) {
    boost::json::array arr;
    while (i_ < lines_.size() && !error_ && lines_[i_].indent == indent &&
           is_item(lines_[i_].text)) {
      Line& l = lines_[i_];
      std::string rest = l.text.size() > 2 ? l.text.substr(2) : "";
      if (rest.empty()) {
        ++i_;
        arr.push_back(nested(indent, l.number));
      } else if (key_end(rest)) {
        l.indent = indent + 2;  // "- a: 1" opens a mapping at the item's content column
        l.text = rest;
        arr.push_back(mapping(indent + 2));
      } else {
        ++i_;
        arr.push_back(scalar(rest, l.number));
      }
    }
    return arr;
  }

  std::vector<Line> lines_;
  std::size_t i_ = 0;
  std::optional<Error> error_;
};

}  // namespace floorgate::testing::mini_yaml
