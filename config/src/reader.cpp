#include "reader.hpp"

#include <algorithm>
#include <charconv>
#include <cctype>
#include <set>

namespace floorgate::config::detail {

namespace {
// How much of a scalar an error message quotes.
constexpr std::size_t kDescribeChars = 60;
}  // namespace

std::string truncated(std::string_view text, std::size_t max) {
  if (text.size() <= max) return std::string(text);
  constexpr std::string_view kMark = "...";
  std::size_t cut = max > kMark.size() ? max - kMark.size() : 0;
  // Never split a UTF-8 sequence: back off over continuation bytes.
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return std::string(text.substr(0, cut)) + std::string(kMark);
}

Pos pos_of(const YAML::Node& node) {
  if (!node.IsDefined()) return {};
  const YAML::Mark m = node.Mark();
  if (m.is_null()) return {};
  return {m.line + 1, m.column + 1};
}

std::string describe(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar: {
      const std::string& v = node.Scalar();
      if (v.size() <= kDescribeChars) return "'" + v + "'";
      return "'" + truncated(v, kDescribeChars) + "' (" + std::to_string(v.size()) + " bytes)";
    }
    default:
      return "an empty value";
  }
}

namespace {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      const bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                        std::tolower(static_cast<unsigned char>(b[j - 1]));
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (same ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string list_names(const std::vector<std::string_view>& names) {
  std::string out;
  for (auto n : names) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

}  // namespace

std::string nearest(std::string_view word, const std::vector<std::string_view>& candidates) {
  std::string best;
  std::size_t best_d = std::max<std::size_t>(2, word.size() / 3) + 1;
  for (auto c : candidates) {
    std::size_t d = edit_distance(word, c);
    // A known key that is a prefix/suffix of the typo (e.g. "port_number") also counts.
    if (word.size() > c.size() + 1 && (word.starts_with(c) || word.ends_with(c))) d = 2;
    // ...and so does a truncated key (e.g. "password" for "password_file").
    if (word.size() >= 4 && c.size() > word.size() + 1 && c.starts_with(word)) d = 2;
    if (d < best_d) {
      best_d = d;
      best = std::string(c);
    }
  }
  return best;
}

std::string join(std::string_view path, std::string_view key) {
  if (path.empty()) return std::string(key);
  return std::string(path) + "." + std::string(key);
}

std::string index(std::string_view path, std::size_t i) {
  return std::string(path) + "[" + std::to_string(i) + "]";
}

void Reader::error(Pos pos, std::string_view path, std::string_view message) {
  // One slot stays free for the "N more" line added by take_errors.
  if (errors_.size() + 1 >= kMaxConfigErrors) {
    ++left_out_;
    return;
  }
  ConfigError e;
  e.file = truncated(file_, kMaxErrorMessageChars);
  e.line = pos.line;
  e.column = pos.column;
  const std::string_view sep = path.empty() ? "" : ": ";
  const std::string_view p = path.substr(0, kMaxErrorMessageChars);
  std::string text;
  text.reserve(std::min(p.size() + sep.size() + message.size(), kMaxErrorMessageChars + 1));
  text.append(p).append(sep).append(message.substr(0, kMaxErrorMessageChars + 1));
  e.message = truncated(text, kMaxErrorMessageChars);
  errors_.push_back(std::move(e));
}

std::vector<ConfigError> Reader::take_errors() {
  std::vector<ConfigError> out = std::move(errors_);
  errors_.clear();
  std::stable_sort(out.begin(), out.end(), [](const ConfigError& a, const ConfigError& b) {
    return std::tie(a.line, a.column) < std::tie(b.line, b.column);
  });
  if (left_out_ > 0) {
    ConfigError e;
    e.file = truncated(file_, kMaxErrorMessageChars);
    e.message = std::to_string(left_out_) + " more error" + (left_out_ == 1 ? "" : "s") +
                " not shown (at most " + std::to_string(kMaxConfigErrors) +
                " are reported); fix the ones above first";
    out.push_back(std::move(e));
    left_out_ = 0;
  }
  return out;
}

bool Reader::check_map(const YAML::Node& node, std::string_view path,
                       const std::vector<std::string_view>& known,
                       const std::vector<std::string_view>& other, std::string_view other_hint) {
  if (!node.IsMap()) {
    error(pos_of(node), path, "expected a mapping of keys, got " + describe(node));
    return false;
  }
  std::set<std::string> seen;
  for (auto it = node.begin(); it != node.end(); ++it) {
    const YAML::Node key = it->first;
    if (!key.IsScalar()) {
      error(pos_of(key), path, "keys must be plain names, got " + describe(key));
      continue;
    }
    const std::string& name = key.Scalar();
    if (!seen.insert(name).second) {
      error(pos_of(key), path, "duplicate key '" + name + "'; each key may appear once");
      continue;
    }
    if (std::find(known.begin(), known.end(), name) != known.end()) continue;
    if (std::find(other.begin(), other.end(), name) != other.end()) {
      error(pos_of(key), path, "key '" + name + "' " + std::string(other_hint));
      continue;
    }
    std::string msg = "unknown key '" + name + "'";
    const std::string near = nearest(name, known);
    if (!near.empty()) {
      msg += "; did you mean '" + near + "'?";
      const Pos mp = pos_of(node);
      suggested_.insert({mp.line, mp.column, near});
    } else {
      msg += "; allowed keys: " + list_names(known);
    }
    error(pos_of(key), path, msg);
  }
  return true;
}

YAML::Node Reader::find(const YAML::Node& map, std::string_view key) {
  if (map.IsMap()) {
    for (auto it = map.begin(); it != map.end(); ++it) {
      if (it->first.IsScalar() && it->first.Scalar() == key) return it->second;
    }
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

bool Reader::require(const YAML::Node& map, std::string_view path, std::string_view key,
                     std::string_view what) {
  const YAML::Node v = find(map, key);
  if (v.IsDefined() && !v.IsNull()) return true;
  // A misspelt key was already reported with "did you mean '<key>'?": say it once.
  const Pos mp = pos_of(map);
  if (suggested_.count({mp.line, mp.column, std::string(key)})) return false;
  const Pos p = v.IsDefined() ? pos_of(v) : pos_of(map);
  error(p, path, "missing required key '" + std::string(key) + "' (" + std::string(what) + ")");
  return false;
}

bool Reader::parse_int(std::string_view text, std::int64_t& out) {
  if (text.empty()) return false;
  bool neg = false;
  if (text.front() == '-' || text.front() == '+') {
    neg = text.front() == '-';
    text.remove_prefix(1);
  }
  int base = 10;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    base = 16;
    text.remove_prefix(2);
  }
  if (text.empty()) return false;
  std::int64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v, base);
  if (ec != std::errc() || ptr != text.data() + text.size()) return false;
  out = neg ? -v : v;
  return true;
}

bool Reader::read_string(const YAML::Node& map, std::string_view path, std::string_view key,
                         std::string& out, bool secret) {
  const YAML::Node v = find(map, key);
  if (!v.IsDefined()) return true;
  if (v.IsNull()) {
    out.clear();
    return true;
  }
  if (!v.IsScalar()) {
    error(pos_of(v), join(path, key),
          "expected a string, got " + (secret ? std::string("a non-string value") : describe(v)));
    return false;
  }
  out = v.Scalar();
  return true;
}

bool Reader::read_id(const YAML::Node& map, std::string_view path, std::string_view key,
                     std::string& out) {
  std::string s = out;
  if (!read_string(map, path, key, s)) return false;
  const YAML::Node v = find(map, key);
  if (!v.IsDefined()) return true;
  const bool ok = !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
  });
  if (!ok) {
    error(pos_of(v), join(path, key),
          "'" + s + "' is not a valid name; allowed: 1-64 characters from A-Z a-z 0-9 - _");
    return false;
  }
  out = std::move(s);
  return true;
}

bool Reader::read_int(const YAML::Node& map, std::string_view path, std::string_view key,
                      std::int64_t lo, std::int64_t hi, std::int64_t& out) {
  const YAML::Node v = find(map, key);
  if (!v.IsDefined()) return true;
  const std::string range = std::to_string(lo) + "-" + std::to_string(hi);
  std::int64_t n = 0;
  if (!v.IsScalar() || !parse_int(v.Scalar(), n)) {
    error(pos_of(v), join(path, key), "expected an integer " + range + ", got " + describe(v));
    return false;
  }
  if (n < lo || n > hi) {
    error(pos_of(v), join(path, key),
          std::to_string(n) + " is out of range; allowed " + range);
    return false;
  }
  out = n;
  return true;
}

bool Reader::read_int(const YAML::Node& map, std::string_view path, std::string_view key,
                      std::int64_t lo, std::int64_t hi, int& out) {
  std::int64_t v = out;
  if (!read_int(map, path, key, lo, hi, v)) return false;
  out = static_cast<int>(v);
  return true;
}

bool Reader::read_bool(const YAML::Node& map, std::string_view path, std::string_view key,
                       bool& out) {
  const YAML::Node v = find(map, key);
  if (!v.IsDefined()) return true;
  if (v.IsScalar()) {
    std::string s = v.Scalar();
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (s == "true" || s == "yes" || s == "on") {
      out = true;
      return true;
    }
    if (s == "false" || s == "no" || s == "off") {
      out = false;
      return true;
    }
  }
  error(pos_of(v), join(path, key), "expected true or false, got " + describe(v));
  return false;
}

bool Reader::read_choice(const YAML::Node& map, std::string_view path, std::string_view key,
                         const std::vector<std::string_view>& names, int& out) {
  const YAML::Node v = find(map, key);
  if (!v.IsDefined()) return true;
  if (v.IsScalar()) {
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (v.Scalar() == names[i]) {
        out = static_cast<int>(i);
        return true;
      }
    }
  }
  std::string allowed;
  for (auto n : names) allowed += (allowed.empty() ? "" : " | ") + std::string(n);
  error(pos_of(v), join(path, key), "expected one of " + allowed + ", got " + describe(v));
  return false;
}

bool Reader::read_string_list(const YAML::Node& map, std::string_view path, std::string_view key,
                              std::vector<std::string>& values, std::vector<Pos>& positions) {
  const YAML::Node v = find(map, key);
  if (!v.IsDefined() || v.IsNull()) return true;
  if (!v.IsSequence()) {
    error(pos_of(v), join(path, key), "expected a list, e.g. [a, b], got " + describe(v));
    return false;
  }
  values.clear();
  positions.clear();
  bool ok = true;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const YAML::Node item = v[i];
    if (!item.IsScalar()) {
      error(pos_of(item), index(join(path, key), i), "expected a string, got " + describe(item));
      ok = false;
      continue;
    }
    values.push_back(item.Scalar());
    positions.push_back(pos_of(item));
  }
  return ok;
}

}  // namespace floorgate::config::detail
