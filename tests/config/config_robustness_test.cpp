// Mangled configurations never throw or crash: every line of the example (with its commented
// buses enabled) is deleted, doubled, cut in half or given a wrong-typed value, and each variant
// must load or give positioned errors (and a loaded variant must survive to_yaml unchanged).

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "floorgate/config/config.hpp"

namespace floorgate::config {
namespace {

std::vector<std::string> example_lines() {
  std::ifstream in(std::filesystem::path(FLOORGATE_SOURCE_DIR) /
                   "config/examples/floorgate.example.yaml");
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    // Include the commented-out sas-tcp, g2s and UART buses.
    const auto at = line.find("#> ");
    if (at != std::string::npos) line = line.substr(0, at) + line.substr(at + 3);
    const auto tty = line.find("/dev/ttyS0");
    if (tty != std::string::npos) line.replace(tty, 10, "/dev/null");
    lines.push_back(line);
  }
  return lines;
}

std::string join_lines(const std::vector<std::string>& lines) {
  std::string text;
  for (const auto& l : lines) text += l + "\n";
  return text;
}

void check_variant(const std::string& text, const std::string& what) {
  LoadResult r;
  ASSERT_NO_THROW(r = load_string(text, "mangled.yaml")) << what;
  if (r.config) {
    EXPECT_TRUE(r.errors.empty());
    const LoadResult again = load_string(to_yaml(*r.config), "again.yaml");
    ASSERT_TRUE(again.config) << what;
    EXPECT_EQ(*again.config, *r.config) << what;
    return;
  }
  ASSERT_FALSE(r.errors.empty()) << what;
  for (const auto& e : r.errors) {
    EXPECT_GT(e.line, 0) << what << ": " << e.to_string();
    EXPECT_GT(e.column, 0) << what << ": " << e.to_string();
    EXPECT_FALSE(e.message.empty()) << what;
  }
}

TEST(ConfigRobustness, EveryLineMangledStillGivesAnAnswer) {
  const std::vector<std::string> lines = example_lines();
  ASSERT_GT(lines.size(), 50u);
  const char* replacements[] = {"[1, 2]", "{a: 1}", "-7", "\"\"", "0x", "~"};
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::vector<std::string> v = lines;
    v.erase(v.begin() + static_cast<std::ptrdiff_t>(i));
    check_variant(join_lines(v), "deleted line " + std::to_string(i + 1));

    v = lines;
    v.insert(v.begin() + static_cast<std::ptrdiff_t>(i), lines[i]);
    check_variant(join_lines(v), "doubled line " + std::to_string(i + 1));

    v = lines;
    v[i] = v[i].substr(0, v[i].size() / 2);
    check_variant(join_lines(v), "halved line " + std::to_string(i + 1));

    const auto colon = lines[i].find(": ");
    if (colon == std::string::npos || lines[i].find('#') < colon) continue;
    for (const char* r : replacements) {
      v = lines;
      v[i] = lines[i].substr(0, colon + 2) + r;
      check_variant(join_lines(v), "line " + std::to_string(i + 1) + " value " + r);
    }
  }
}

}  // namespace
}  // namespace floorgate::config
