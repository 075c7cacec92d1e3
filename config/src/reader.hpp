#pragma once
// Private: typed, position-aware access to a yaml-cpp tree. Every problem becomes a
// ConfigError (1-based line:column) collected in one list; nothing throws past this class.

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <set>
#include <string>
#include <tuple>
#include <string_view>
#include <vector>

#include "floorgate/config/config.hpp"

namespace floorgate::config::detail {

// A 1-based source position (0:0 when unknown).
struct Pos {
  int line = 0;
  int column = 0;
};

// The position of a node (its first character).
Pos pos_of(const YAML::Node& node);

// "mapping", "sequence", "an empty value", or the quoted scalar (a long one cut, with its size).
std::string describe(const YAML::Node& node);

// The nearest of `candidates` to `word` when it is close enough to be a likely typo, else "".
std::string nearest(std::string_view word, const std::vector<std::string_view>& candidates);

// Collects errors for one file and reads typed values out of mappings.
class Reader {
 public:
  explicit Reader(std::string file) : file_(std::move(file)) {}

  // Records one error at `pos`. `path` (e.g. "mqtt.port") prefixes the message when non-empty.
  // The message is cut to kMaxErrorMessageChars; past kMaxConfigErrors - 1 errors only a
  // count is kept (see take_errors).
  void error(Pos pos, std::string_view path, std::string_view message);
  const std::vector<ConfigError>& errors() const { return errors_; }
  // The errors in file order; when some were left out, a last error (0:0) says how many.
  std::vector<ConfigError> take_errors();

  // True when `node` is a mapping; otherwise records "expected a mapping". Also reports each
  // duplicate key and each key not in `known` (with the nearest known key as a suggestion;
  // keys in `other` get `other_hint` instead).
  bool check_map(const YAML::Node& node, std::string_view path,
                 const std::vector<std::string_view>& known,
                 const std::vector<std::string_view>& other = {}, std::string_view other_hint = {});

  // The value under `key` in a mapping (an undefined node when absent).
  static YAML::Node find(const YAML::Node& map, std::string_view key);

  // Required-key check: records "missing required key" at the mapping and returns false.
  bool require(const YAML::Node& map, std::string_view path, std::string_view key,
               std::string_view what);

  // Typed readers: when `key` is absent the output keeps its default and true is returned;
  // when present and invalid an error is recorded and false is returned.
  bool read_string(const YAML::Node& map, std::string_view path, std::string_view key,
                   std::string& out, bool secret = false);
  bool read_id(const YAML::Node& map, std::string_view path, std::string_view key,
               std::string& out);
  bool read_int(const YAML::Node& map, std::string_view path, std::string_view key,
                std::int64_t lo, std::int64_t hi, std::int64_t& out);
  bool read_int(const YAML::Node& map, std::string_view path, std::string_view key,
                std::int64_t lo, std::int64_t hi, int& out);
  bool read_bool(const YAML::Node& map, std::string_view path, std::string_view key, bool& out);
  // Reads one of `names` and stores its index.
  bool read_choice(const YAML::Node& map, std::string_view path, std::string_view key,
                   const std::vector<std::string_view>& names, int& out);
  // A sequence of scalars (absent or null = empty); `values` gets each scalar, `positions`
  // where it was.
  bool read_string_list(const YAML::Node& map, std::string_view path, std::string_view key,
                        std::vector<std::string>& values, std::vector<Pos>& positions);

  // Parses a decimal or 0x-hex integer scalar; false when it is not one.
  static bool parse_int(std::string_view text, std::int64_t& out);

 private:
  std::string file_;
  std::vector<ConfigError> errors_;
  std::size_t left_out_ = 0;  // errors past the cap
  // (map line, map column, key) for each "did you mean" given, so require() stays quiet.
  std::set<std::tuple<int, int, std::string>> suggested_;
};

// `text` cut to at most `max` bytes on a UTF-8 character boundary, "..." marking the cut.
std::string truncated(std::string_view text, std::size_t max);

// Joins a path and a child key ("mqtt" + "port" -> "mqtt.port").
std::string join(std::string_view path, std::string_view key);
// "buses" + 2 -> "buses[2]".
std::string index(std::string_view path, std::size_t i);

}  // namespace floorgate::config::detail
