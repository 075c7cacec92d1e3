// The key table (config/include/floorgate/config/schema.hpp) against the three things that must
// agree with it: the loader (every key accepted, ranges and choices enforced, defaults), the
// annotated example file (every key shown, its default and range in the comment) and the
// published JSON Schema (docs/schemas/config.schema.json is what the program prints).

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <boost/json.hpp>

#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>

#include "floorgate/config/config.hpp"
#include "floorgate/config/schema.hpp"

namespace floorgate::config::schema_test {
namespace {

namespace json = boost::json;

const std::filesystem::path kSource(FLOORGATE_SOURCE_DIR);

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string errors_of(const LoadResult& r) {
  std::string all;
  for (const auto& e : r.errors) all += e.to_string() + "\n";
  return all;
}

// A small valid file with every section and one bus of each driver (a uart bus on /dev/null, a
// character device every machine has). Keys under test are set into it.
YAML::Node minimal() {
  return YAML::Load(R"(
gateway: {id: gw, site: s}
logging: {}
store: {retention: {}}
mqtt: {tls: {}}
consumers: [{name: c1, route: {}}]
buses:
  - {id: b0, driver: sas-serial, port: /dev/null, egms: [{id: e0, address: 1}]}
  - {id: b1, driver: sas-tcp, endpoint: "127.0.0.1:4001", egms: [{id: e1, address: 1}]}
  - {id: b2, driver: g2s, listen_port: 9090, egms: [{id: e2, g2s_egm_id: G2, url: "http://127.0.0.1:9091/g2s"}]}
web:
  tls: {}
  users: [{name: u1, role: viewer, password_hash: "pbkdf2-sha256$100000$Zmxvb3JnYXRlLWRlbW8tcw==$PRDEgClxwstsCKPwC+ETBp5CNBnNqVT3rVFrUUZo41I="}]
)");
}

// The mapping of `section` in `doc` (list sections: their first item; bus sections: the first
// bus whose driver the key applies to).
YAML::Node section_node(YAML::Node doc, const KeySpec& k) {
  const std::string s(k.section);
  if (s.empty()) return doc;
  if (s.starts_with("buses[]")) {
    YAML::Node buses = doc["buses"];
    for (std::size_t i = 0; i < buses.size(); ++i) {
      const std::string d = buses[i]["driver"].as<std::string>();
      const unsigned bit = d == "sas-serial" ? kSasSerial : d == "sas-tcp" ? kSasTcp : kG2s;
      if (!(k.drivers & bit)) continue;
      return s == "buses[]" ? buses[i] : buses[i]["egms"][0];
    }
    ADD_FAILURE() << "no bus for " << s << "." << k.key;
    return doc;
  }
  YAML::Node n = doc;
  std::string part;
  std::istringstream in(s);
  while (std::getline(in, part, '.')) {
    const bool list = part.ends_with("[]");
    if (list) part.resize(part.size() - 2);
    n.reset(n[part]);
    if (list) n.reset(n[0]);
  }
  return n;
}

std::string key_path(const KeySpec& k) {
  return k.section.empty() ? std::string(k.key) : std::string(k.section) + "." + std::string(k.key);
}

LoadResult load_with(const KeySpec& k, const YAML::Node& value) {
  YAML::Node doc = minimal();
  YAML::Node sec = section_node(doc, k);
  sec[std::string(k.key)] = value;
  YAML::Emitter out;
  out << doc;
  return load_string(out.c_str(), "schema-test.yaml");
}

bool is_leaf(const KeySpec& k) { return k.kind != KeyKind::object && k.kind != KeyKind::object_list; }

TEST(ConfigSchema, EveryKeyOfTheTableIsAcceptedWithItsDefaultOrExample) {
  ASSERT_TRUE(load_string([] { YAML::Emitter e; e << minimal(); return std::string(e.c_str()); }(),
                          "minimal.yaml").config);
  int tried = 0;
  for (const KeySpec& k : config_keys()) {
    if (!is_leaf(k) || k.key == "driver") continue;
    YAML::Node v;
    if (!k.default_json.empty()) v = YAML::Load(std::string(k.default_json));
    else if (k.kind == KeyKind::integer) v = k.lo;
    else if (k.kind == KeyKind::choice) v = std::string(k.choices.front());
    else if (!k.example.empty() && k.kind == KeyKind::string_list) v.push_back(std::string(k.example));
    else if (!k.example.empty()) v = std::string(k.example);
    else continue;
    if (k.key == "password_hash" || (k.key == "port" && k.section == "buses[]")) continue;  // set
    const LoadResult r = load_with(k, v);
    EXPECT_TRUE(r.config) << key_path(k) << ": " << errors_of(r);
    ++tried;
  }
  EXPECT_GT(tried, 60);
}

TEST(ConfigSchema, AKeyTheTableLacksIsRejectedInEverySection) {
  for (const KeySpec& k : config_keys()) {
    if (k.kind != KeyKind::object && k.kind != KeyKind::object_list) continue;
    const std::string child = key_path(k) + (k.kind == KeyKind::object_list ? "[]" : "");
    const KeySpec unknown{.section = child, .key = "not_a_key", .kind = KeyKind::string, .help = ""};
    const LoadResult r = load_with(unknown, YAML::Node("x"));
    ASSERT_FALSE(r.config) << child;
    EXPECT_NE(errors_of(r).find("not_a_key"), std::string::npos) << errors_of(r);
  }
}

TEST(ConfigSchema, IntegerRangesAreTheLoadersRanges) {
  int checked = 0;
  for (const KeySpec& k : config_keys()) {
    if (k.kind != KeyKind::integer) continue;
    SCOPED_TRACE(key_path(k));
    EXPECT_TRUE(load_with(k, YAML::Node(k.lo)).config) << errors_of(load_with(k, YAML::Node(k.lo)));
    EXPECT_TRUE(load_with(k, YAML::Node(k.hi)).config) << errors_of(load_with(k, YAML::Node(k.hi)));
    const LoadResult below = load_with(k, YAML::Node(k.lo - 1));
    const LoadResult above = load_with(k, YAML::Node(k.hi + 1));
    if (k.zero_allowed) {
      EXPECT_TRUE(load_with(k, YAML::Node(0)).config);
    }
    if (!(k.zero_allowed && k.lo - 1 == 0)) {
      EXPECT_FALSE(below.config) << "accepts " << k.lo - 1;
      EXPECT_NE(errors_of(below).find(std::string(k.key)), std::string::npos) << errors_of(below);
    }
    EXPECT_FALSE(above.config) << "accepts " << k.hi + 1;
    EXPECT_NE(errors_of(above).find(std::string(k.key)), std::string::npos) << errors_of(above);
    ++checked;
  }
  EXPECT_GE(checked, 20);
}

TEST(ConfigSchema, ChoicesAreTheLoadersChoices) {
  for (const KeySpec& k : config_keys()) {
    if (k.kind != KeyKind::choice && k.kind != KeyKind::choice_list) continue;
    if (k.key == "driver") continue;  // a different driver needs different keys: tested below
    SCOPED_TRACE(key_path(k));
    for (auto c : k.choices) {
      YAML::Node v;
      if (k.kind == KeyKind::choice) v = std::string(c);
      else v.push_back(std::string(c));
      const LoadResult r = load_with(k, v);
      EXPECT_TRUE(r.config) << c << ": " << errors_of(r);
    }
    YAML::Node bad;
    if (k.kind == KeyKind::choice) bad = "bogus";
    else bad.push_back("bogus");
    EXPECT_FALSE(load_with(k, bad).config);
  }
  // driver: the minimal file has one bus of each; a fourth name is refused.
  const LoadResult r = load_with(*find_key("buses[]", "driver"), YAML::Node("sas-usb"));
  EXPECT_FALSE(r.config);
}

// The value of `k` in to_yaml(load(minimal)), as JSON text comparable with default_json.
std::string emitted(const YAML::Node& doc, const KeySpec& k) {
  const YAML::Node n = section_node(doc, k)[std::string(k.key)];
  if (!n.IsDefined()) return "<absent>";
  auto scalar = [&](const YAML::Node& s) -> json::value {
    if (k.kind == KeyKind::integer || k.kind == KeyKind::code_list)
      return json::value(std::stoll(s.Scalar(), nullptr, 0));
    if (k.kind == KeyKind::boolean) return json::value(s.as<bool>());
    return json::value(s.Scalar());
  };
  if (n.IsSequence()) {
    json::array a;
    for (const auto& item : n) a.push_back(scalar(item));
    return json::serialize(a);
  }
  return json::serialize(scalar(n));
}

TEST(ConfigSchema, DefaultsAreWhatTheLoaderFillsIn) {
  YAML::Emitter e;
  e << minimal();
  const LoadResult r = load_string(e.c_str(), "minimal.yaml");
  ASSERT_TRUE(r.config) << errors_of(r);
  const YAML::Node doc = YAML::Load(to_yaml(*r.config));
  int checked = 0;
  for (const KeySpec& k : config_keys()) {
    if (k.default_json.empty()) continue;
    if (k.key == "meter_codes") {
      // The writer leaves the default set out (a file then follows the default when it grows):
      // the loaded value is checked instead.
      EXPECT_EQ(emitted(doc, k), "<absent>");
      bool sas = false;
      for (const auto& bus : r.config->buses) {
        if (bus.driver == Driver::g2s) continue;
        sas = true;
        json::array codes;
        for (auto c : bus.egms.at(0).meter_codes) codes.push_back(json::value(c));
        EXPECT_EQ(json::serialize(codes), json::serialize(json::parse(k.default_json)));
      }
      EXPECT_TRUE(sas);
      ++checked;
      continue;
    }
    EXPECT_EQ(emitted(doc, k), json::serialize(json::parse(k.default_json))) << key_path(k);
    ++checked;
  }
  EXPECT_GE(checked, 45);
  // The computed defaults say what they compute.
  EXPECT_EQ(r.config->gateway.topic_root, "floor/v1/s/gw");
  EXPECT_EQ(find_key("gateway", "topic_root")->default_note, "floor/v1/<site>/<id>");
  EXPECT_EQ(r.config->mqtt.client_id, "floorgate-gw");
  EXPECT_EQ(find_key("mqtt", "client_id")->default_note, "floorgate-<gateway.id>");
}

// The example file with its "#> " blocks and its commented-out keys ("# key: value") opened up,
// so every key it documents is in the tree; `lines` keeps each line for its comment.
struct Example {
  YAML::Node doc;
  std::vector<std::string> lines;
};

Example open_example() {
  std::istringstream in(read_text(kSource / "config/examples/floorgate.example.yaml"));
  const std::regex commented_key(R"(^(\s*)# ([a-z_0-9]+): (.*)$)");
  Example ex;
  std::string line, text;
  while (std::getline(in, line)) {
    const auto at = line.find("#> ");
    if (at != std::string::npos) line = line.substr(0, at) + line.substr(at + 3);
    std::smatch m;
    if (std::regex_match(line, m, commented_key)) {
      bool known = false;
      for (const KeySpec& k : config_keys()) known |= k.key == m[2].str();
      if (known) line = m[1].str() + m[2].str() + ": " + m[3].str();
    }
    ex.lines.push_back(line);
    text += line + "\n";
  }
  ex.doc = YAML::Load(text);
  return ex;
}

// Every node in `doc` that stands for `k` (all list items, every bus the key applies to).
void occurrences(const YAML::Node& node, std::string_view section, const KeySpec& k,
                 std::vector<YAML::Node>& out) {
  if (section.empty()) {
    const YAML::Node v = node[std::string(k.key)];
    if (v.IsDefined()) out.push_back(v);
    return;
  }
  const auto dot = section.find('.');
  std::string part(section.substr(0, dot));
  const std::string_view rest = dot == std::string_view::npos ? "" : section.substr(dot + 1);
  const bool list = part.ends_with("[]");
  if (list) part.resize(part.size() - 2);
  const YAML::Node child = node[part];
  if (!child.IsDefined()) return;
  if (!list) return occurrences(child, rest, k, out);
  for (const auto& item : child) occurrences(item, rest, k, out);
}

std::string comment_of(const std::string& line) {
  const auto at = line.find(" # ");
  return at == std::string::npos ? "" : line.substr(at + 3);
}

TEST(ConfigSchema, TheExampleShowsEveryKeyWithItsDefaultAndRange) {
  const Example ex = open_example();
  for (const KeySpec& k : config_keys()) {
    SCOPED_TRACE(key_path(k));
    std::vector<YAML::Node> found;
    occurrences(ex.doc, k.section, k, found);
    if (found.empty()) {
      ADD_FAILURE() << "not in config/examples/floorgate.example.yaml";
      continue;
    }
    if (!is_leaf(k)) continue;
    std::vector<std::string> comments;
    for (const auto& n : found) {
      const std::string c = comment_of(ex.lines[static_cast<std::size_t>(n.Mark().line)]);
      if (!c.empty()) comments.push_back(c);
    }
    if (comments.empty()) {
      ADD_FAILURE() << "no comment on any line that sets it";
      continue;
    }
    // "default X" (not "default: ...", which describes a default in words).
    const std::regex default_re(R"(default ("[^"]*"|[^;,( ]+))");
    bool default_said = false;
    for (const auto& c : comments) {
      std::smatch m;
      if (!std::regex_search(c, m, default_re)) continue;
      std::string said = m[1].str();
      if (said.size() >= 2 && said.front() == '"') said = said.substr(1, said.size() - 2);
      std::string expected;
      if (!k.default_json.empty()) {
        const json::value d = json::parse(k.default_json);
        expected = d.is_string() ? std::string(d.as_string()) : json::serialize(d);
      } else {
        expected = std::string(k.default_note);
      }
      EXPECT_EQ(said, expected) << "comment: " << c;
      default_said = true;
    }
    if (!k.default_json.empty() && k.kind != KeyKind::code_list && k.kind != KeyKind::string_list &&
        k.kind != KeyKind::choice_list) {
      EXPECT_TRUE(default_said) << "no \"default X\" in its comments";
    }
    if (k.kind == KeyKind::integer) {
      const std::string range = std::to_string(k.lo) + "-" + std::to_string(k.hi);
      bool said = false;
      for (const auto& c : comments) said |= c.find(range) != std::string::npos;
      EXPECT_TRUE(said) << "range " << range << " not in its comments";
    }
  }
}

TEST(ConfigSchema, TheSchemaInDocsIsWhatTheProgramPrints) {
  EXPECT_EQ(read_text(kSource / "docs/schemas/config.schema.json"), config_schema_json())
      << "run: floorgate --print-config-schema > docs/schemas/config.schema.json";
  // Every table key is a property of its section in the schema.
  const json::value schema = json::parse(config_schema_json());
  for (const KeySpec& k : config_keys()) {
    const json::value* node = &schema;
    std::string s(k.section);
    std::istringstream in(s);
    std::string part;
    while (!s.empty() && std::getline(in, part, '.')) {
      const bool list = part.ends_with("[]");
      if (list) part.resize(part.size() - 2);
      node = &node->at("properties").at(part);
      if (list) node = &node->at("items");
    }
    EXPECT_TRUE(node->at("properties").as_object().contains(k.key)) << key_path(k);
  }
}

}  // namespace
}  // namespace floorgate::config::schema_test
