// load_file / load_string: parse with yaml-cpp, walk the sections, collect every error.

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <optional>
#include <sstream>

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/parser.h>

#include "floorgate/config/config.hpp"
#include "floorgate/core/utf8.hpp"
#include "reader.hpp"
#include "sections.hpp"

namespace floorgate::config {

namespace {

LoadResult load_node(const YAML::Node& root, detail::Reader& r) {
  using detail::Reader;
  Config cfg;
  if (r.check_map(root, "", section_keys(""))) {
    detail::read_gateway(r, root, cfg);
    const YAML::Node store = Reader::find(root, "store");
    if (store.IsDefined() && !store.IsNull()) detail::read_store(r, store, cfg.store);
    const YAML::Node mqtt = Reader::find(root, "mqtt");
    if (mqtt.IsDefined() && !mqtt.IsNull()) detail::read_mqtt(r, mqtt, cfg.mqtt);
    const YAML::Node web = Reader::find(root, "web");
    if (web.IsDefined() && !web.IsNull()) detail::read_web(r, web, cfg.web);
    detail::read_buses(r, Reader::find(root, "buses"), cfg.web.enabled ? cfg.web.port : 0,
                       cfg.buses);
    detail::read_consumers(r, Reader::find(root, "consumers"), cfg.buses, cfg.consumers);
  }
  if (cfg.gateway.topic_root.empty())
    cfg.gateway.topic_root = "floor/v1/" + cfg.gateway.site + "/" + cfg.gateway.id;
  if (cfg.mqtt.client_id.empty()) cfg.mqtt.client_id = "floorgate-" + cfg.gateway.id;
  if (cfg.mqtt.hosts.empty()) cfg.mqtt.hosts.push_back({cfg.mqtt.host, cfg.mqtt.port});

  LoadResult result;
  result.errors = r.take_errors();  // in file order
  if (result.errors.empty()) result.config = std::move(cfg);
  return result;
}

// A limit of the pre-scan was crossed at `mark`.
struct YamlLimitExceeded {
  YAML::Mark mark;
  std::string message;
};

// Walks the parser's events once (no tree is built) and counts nodes, aliases and the
// nodes/scalar bytes the document amounts to once every alias is expanded; throws
// YamlLimitExceeded as soon as a limit is crossed. Cost is linear in the input.
class YamlPrescan final : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override { leaf(mark, anchor, 0); }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                const std::string& value) override {
    leaf(mark, anchor, value.size());
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    if (++aliases_ > kMaxYamlAliases)
      throw YamlLimitExceeded{mark, "too many aliases (*name): at most " +
                                        std::to_string(kMaxYamlAliases) + " are allowed"};
    written(mark);
    // An alias to an anchor still open (a cycle) counts as one node.
    const Size s = anchor < anchored_.size() && anchored_[anchor].nodes > 0 ? anchored_[anchor]
                                                                             : Size{1, 0};
    add(mark, s);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open(mark, anchor);
  }
  void OnSequenceEnd() override { close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    open(mark, anchor);
  }
  void OnMapEnd() override { close(); }

 private:
  // Size of a subtree with its aliases expanded.
  struct Size {
    std::uint64_t nodes = 0;
    std::uint64_t bytes = 0;
  };
  struct Open {
    YAML::anchor_t anchor;
    Size size;
  };

  void written(const YAML::Mark& mark) {
    if (++nodes_ > kMaxYamlNodes)
      throw YamlLimitExceeded{mark, "too many YAML nodes: at most " +
                                        std::to_string(kMaxYamlNodes) + " are allowed"};
  }
  // Adds `s` to the whole document and to the innermost open collection.
  void add(const YAML::Mark& mark, Size s) {
    expanded_.nodes += s.nodes;
    expanded_.bytes += s.bytes;
    if (expanded_.nodes > kMaxYamlExpandedNodes)
      throw YamlLimitExceeded{mark, "the YAML expands to too many nodes once aliases are "
                                    "replaced: at most " +
                                        std::to_string(kMaxYamlExpandedNodes) + " are allowed"};
    if (expanded_.bytes > kMaxYamlExpandedBytes)
      throw YamlLimitExceeded{mark, "the YAML expands to too much text once aliases are "
                                    "replaced: at most " +
                                        std::to_string(kMaxYamlExpandedBytes) +
                                        " bytes of values are allowed"};
    if (!open_.empty()) {
      open_.back().size.nodes += s.nodes;
      open_.back().size.bytes += s.bytes;
    }
  }
  void remember(YAML::anchor_t anchor, Size s) {
    if (anchor == YAML::NullAnchor) return;
    // Anchor ids are small consecutive numbers; each is defined once per document.
    if (anchor >= anchored_.size()) anchored_.resize(anchor + 1);
    anchored_[anchor] = s;
  }
  void leaf(const YAML::Mark& mark, YAML::anchor_t anchor, std::size_t bytes) {
    written(mark);
    const Size s{1, bytes};
    add(mark, s);
    remember(anchor, s);
  }
  void open(const YAML::Mark& mark, YAML::anchor_t anchor) {
    written(mark);
    // The collection itself counts once, in the whole document and in its parent.
    add(mark, Size{1, 0});
    open_.push_back(Open{anchor, Size{1, 0}});
  }
  void close() {
    if (open_.empty()) return;
    const Open done = open_.back();
    open_.pop_back();
    // Its contents were already added to the document; pass them up to the parent only.
    if (!open_.empty()) {
      open_.back().size.nodes += done.size.nodes - 1;
      open_.back().size.bytes += done.size.bytes;
    }
    remember(done.anchor, done.size);
  }

  std::size_t nodes_ = 0;
  std::size_t aliases_ = 0;
  Size expanded_;
  std::vector<Open> open_;
  std::vector<Size> anchored_;
};

}  // namespace

namespace {

// Line and column (1-based, columns in bytes) of the first byte that is not well-formed UTF-8;
// nullopt when all is fine.
std::optional<detail::Pos> first_invalid_utf8(std::string_view s) {
  int line = 1, col = 1;
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = core::utf8_sequence_length(s, i);
    if (n == 0) return detail::Pos{line, col};
    if (s[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
    i += n;
  }
  return std::nullopt;
}

}  // namespace

LoadResult load_string(std::string_view yaml, std::string_view filename) {
  detail::Reader r{std::string(filename)};
  if (yaml.size() > kMaxConfigBytes) {
    r.error({}, "", "the configuration is " + std::to_string(yaml.size()) +
                        " bytes; at most " + std::to_string(kMaxConfigBytes) +
                        " bytes (4 MiB) are allowed");
    return LoadResult{std::nullopt, r.take_errors()};
  }
  // YAML is UTF-8, and MQTT topics and JSON must be too: a stray byte would be published in a
  // topic root or an id (found by config_fuzz), so refuse it where it is.
  if (auto bad = first_invalid_utf8(yaml)) {
    r.error(*bad, "", "the file is not valid UTF-8 here (save it as UTF-8)");
    return LoadResult{std::nullopt, r.take_errors()};
  }
  YAML::Node root;
  try {
    {
      // Bounded pre-scan of the first document (the one YAML::Load reads) before any tree.
      std::istringstream in{std::string(yaml)};
      YAML::Parser parser(in);
      YamlPrescan prescan;
      parser.HandleNextDocument(prescan);
    }
    root = YAML::Load(std::string(yaml));
  } catch (const YamlLimitExceeded& e) {
    const detail::Pos p =
        e.mark.is_null() ? detail::Pos{} : detail::Pos{e.mark.line + 1, e.mark.column + 1};
    r.error(p, "", e.message);
    return LoadResult{std::nullopt, r.take_errors()};
  } catch (const YAML::Exception& e) {
    const YAML::Mark m = e.mark;
    const detail::Pos p = m.is_null() ? detail::Pos{} : detail::Pos{m.line + 1, m.column + 1};
    r.error(p, "", "YAML syntax error: " + e.msg);
    return LoadResult{std::nullopt, r.take_errors()};
  }
  // An empty file is an empty mapping (so the error is "missing gateway", not "not a mapping").
  if (!root.IsDefined() || root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  try {
    return load_node(root, r);
  } catch (const YAML::Exception& e) {
    // Defensive: yaml-cpp throws on misuse; report rather than crash the caller.
    r.error({}, "", std::string("internal error while reading the YAML tree: ") + e.what());
    return LoadResult{std::nullopt, r.take_errors()};
  }
}

LoadResult load_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ConfigError e{path.string(), 0, 0, "cannot open the configuration file for reading"};
    return LoadResult{std::nullopt, {e}};
  }
  std::ostringstream text;
  text << in.rdbuf();
  return load_string(text.str(), path.string());
}

Config default_config() {
  LoadResult r = load_string(default_config_yaml(), "<defaults>");
  return r.config ? *r.config : Config{};
}

}  // namespace floorgate::config
