// One mistake per case: exactly one error, at the right line:column, saying what is wrong.

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "floorgate/config/config.hpp"

namespace floorgate::config {
namespace {

// Each file in tests/config/invalid/ holds one mistake; its first line says where the one error
// must be and what it must say: "# expect: <line>:<col>: <text the message contains>".
// The daemon's end-to-end tests reuse these files for `floorgate --check-config`.
struct Mistake {
  std::filesystem::path file;
  int line = 0;
  int column = 0;
  std::string says;
};

// Names the case by its file in gtest output.
void PrintTo(const Mistake& m, std::ostream* os) { *os << m.file.filename().string(); }

std::vector<Mistake> mistakes() {
  std::vector<Mistake> out;
  const auto dir = std::filesystem::path(FLOORGATE_SOURCE_DIR) / "tests/config/invalid";
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".yaml") continue;
    std::ifstream in(entry.path());
    std::string first;
    std::getline(in, first);
    Mistake m;
    m.file = entry.path();
    char colon = 0;
    std::istringstream head(first.substr(first.find(':') + 1));
    head >> m.line >> colon >> m.column >> colon;
    std::getline(head >> std::ws, m.says);
    out.push_back(m);
  }
  std::sort(out.begin(), out.end(), [](const Mistake& a, const Mistake& b) { return a.file < b.file; });
  return out;
}

class ConfigMistake : public ::testing::TestWithParam<Mistake> {};

TEST_P(ConfigMistake, GivesOnePreciseError) {
  const Mistake& m = GetParam();
  ASSERT_GT(m.line, 0) << m.file << ": first line must be '# expect: <line>:<col>: <text>'";
  const LoadResult r = load_file(m.file);
  EXPECT_FALSE(r.config.has_value());
  ASSERT_EQ(r.errors.size(), 1u) << [&] {
    std::string all;
    for (const auto& e : r.errors) all += e.to_string() + "\n";
    return all;
  }();
  const ConfigError& e = r.errors.front();
  EXPECT_EQ(e.file, m.file.string());
  EXPECT_EQ(e.line, m.line) << e.to_string();
  EXPECT_EQ(e.column, m.column) << e.to_string();
  EXPECT_NE(e.message.find(m.says), std::string::npos) << e.to_string();
  const std::string prefix =
      m.file.string() + ":" + std::to_string(m.line) + ":" + std::to_string(m.column) + ": ";
  EXPECT_EQ(e.to_string().rfind(prefix, 0), 0u) << e.to_string();
}

INSTANTIATE_TEST_SUITE_P(Kinds, ConfigMistake, ::testing::ValuesIn(mistakes()),
                         [](const ::testing::TestParamInfo<Mistake>& p) {
                           std::string name = p.param.file.stem().string();
                           for (char& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

TEST(ConfigErrors, AtLeastFifteenKindsOfMistakesAreCovered) { EXPECT_GE(mistakes().size(), 15u); }

TEST(ConfigErrors, ReportsEveryErrorInFileOrder) {
  const LoadResult r = load_string(
      "gateway: {id: gw, site: s}\n"
      "mqtt:\n"
      "  port: 0\n"
      "  keepalive_s: nope\n"
      "web: {port: 99999, colour: red}\n",
      "multi.yaml");
  ASSERT_EQ(r.errors.size(), 4u);
  EXPECT_EQ(r.errors[0].line, 3);
  EXPECT_EQ(r.errors[1].line, 4);
  EXPECT_EQ(r.errors[2].line, 5);
  EXPECT_EQ(r.errors[3].line, 5);
  EXPECT_LT(r.errors[2].column, r.errors[3].column);
}

TEST(ConfigErrors, SecretsAreNeverEchoed) {
  const LoadResult r = load_string(
      "gateway: {id: gw, site: s}\n"
      "mqtt: {password: hunter2-secret}\n"
      "web:\n"
      "  users:\n"
      "    - {name: tech, role: technician, password_hash: 'pbkdf2-sha256$5$c2FsdHNhbHQ=$s3cr3t'}\n",
      "secret.yaml");
  ASSERT_EQ(r.errors.size(), 2u);
  for (const auto& e : r.errors) {
    EXPECT_EQ(e.message.find("hunter2"), std::string::npos) << e.message;
    EXPECT_EQ(e.message.find("s3cr3t"), std::string::npos) << e.message;
    EXPECT_EQ(e.message.find("c2FsdHNhbHQ"), std::string::npos) << e.message;
  }
  EXPECT_NE(r.errors[0].message.find("did you mean 'password_file'?"), std::string::npos);
  EXPECT_NE(r.errors[1].message.find("value not shown"), std::string::npos);
}

TEST(ConfigErrors, MissingFileIsOneError) {
  const LoadResult r = load_file("/nonexistent/floorgate/floorgate.yaml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_FALSE(r.config);
  EXPECT_NE(r.errors[0].to_string().find("/nonexistent/floorgate/floorgate.yaml:0:0: cannot open"),
            std::string::npos);
}

}  // namespace
}  // namespace floorgate::config
