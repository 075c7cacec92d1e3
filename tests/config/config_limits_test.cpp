// Hostile configurations cost bounded work: the pre-scan limits (input size, nodes, aliases,
// expanded nodes and bytes) each give one error naming the limit, errors are capped in number
// and length, and the meter-code duplicate check is linear. Assertions are on results only.

#include <gtest/gtest.h>

#include <string>

#include "floorgate/config/config.hpp"

namespace floorgate::config {
namespace {

const std::string kHead =
    "gateway: {id: gw, site: s}\n"
    "buses:\n"
    "  - id: b0\n"
    "    driver: sas-tcp\n"
    "    endpoint: '10.0.0.5:4001'\n"
    "    egms:\n";

// An EGM line in a flow mapping, with `codes` as its meter_codes value.
std::string egm(int n, const std::string& codes) {
  return "      - {id: e" + std::to_string(n) + ", address: " + std::to_string(n) +
         ", meter_codes: " + codes + "}\n";
}

std::string code_list(int first, int count) {
  std::string out = "[";
  for (int i = 0; i < count; ++i) {
    if (i) out += ", ";
    out += std::to_string(first + i);
  }
  return out + "]";
}

void expect_one_error_saying(const LoadResult& r, const std::string& says) {
  EXPECT_FALSE(r.config);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].message.find(says), std::string::npos) << r.errors[0].message;
  EXPECT_LE(r.errors[0].message.size(), kMaxErrorMessageChars);
}

TEST(ConfigLimits, ALegitimateConfigWithAliasesStillLoads) {
  std::string yaml = kHead + egm(1, "&mc " + code_list(0, 40));
  for (int n = 2; n <= 20; ++n) yaml += egm(n, "*mc");
  const LoadResult r = load_string(yaml, "ok.yaml");
  ASSERT_TRUE(r.config) << (r.errors.empty() ? "" : r.errors[0].to_string());
  ASSERT_EQ(r.config->buses[0].egms.size(), 20u);
  EXPECT_EQ(r.config->buses[0].egms[19].meter_codes.size(), 40u);
}

TEST(ConfigLimits, InputLargerThanFourMiBIsOneError) {
  std::string yaml = kHead + "# " + std::string(kMaxConfigBytes, 'x') + "\n";
  const LoadResult r = load_string(yaml, "big.yaml");
  expect_one_error_saying(r, "at most " + std::to_string(kMaxConfigBytes) + " bytes");
}

TEST(ConfigLimits, TooManyNodesIsOneErrorNamingTheLimit) {
  // 50,000 written codes in one list: over the node limit, no aliases involved.
  const LoadResult r = load_string(kHead + egm(1, code_list(0, 50'000)), "nodes.yaml");
  expect_one_error_saying(r, "too many YAML nodes: at most " + std::to_string(kMaxYamlNodes));
  EXPECT_EQ(r.errors[0].line, 7);
}

TEST(ConfigLimits, TooManyAliasesIsOneErrorNamingTheLimit) {
  std::string yaml = kHead + egm(1, "&c [1]") + "x: [";
  for (std::size_t i = 0; i <= kMaxYamlAliases; ++i) yaml += "*c, ";
  yaml += "*c]\n";
  const LoadResult r = load_string(yaml, "aliases.yaml");
  expect_one_error_saying(r, "too many aliases (*name): at most " +
                                 std::to_string(kMaxYamlAliases));
}

TEST(ConfigLimits, TheMeterCodeAliasAttackIsStoppedBeforeAnyCheck) {
  // The attack from issue 17: all 65,536 codes anchored once, aliased into 60 machines.
  std::string yaml = kHead + egm(1, "&mc " + code_list(0, 0x10000));
  for (int n = 2; n <= 60; ++n) yaml += egm(n, "*mc");
  // Written once that is over the node limit too; lift the written list under it by splitting
  // the anchor into nested aliases so only the expanded count can catch it.
  std::string nested = kHead + "x: &a " + code_list(0, 30'000) + "\ny: &b [*a, *a, *a, *a, *a]\n";
  for (int n = 1; n <= 60; ++n) nested += "z" + std::to_string(n) + ": *b\n";
  const LoadResult direct = load_string(yaml, "attack.yaml");
  expect_one_error_saying(direct, "at most");
  const LoadResult expanded = load_string(nested, "nested.yaml");
  expect_one_error_saying(expanded, "expands to too many nodes once aliases are replaced: at most " +
                                        std::to_string(kMaxYamlExpandedNodes));
}

TEST(ConfigLimits, AHugeScalarAliasedManyTimesIsRejectedWithoutEchoingIt) {
  // 400 KB anchored scalar aliased 1,000 times into a list: 400 MB once expanded.
  std::string yaml = kHead + egm(1, "[1]") + "big: &s '" + std::string(400'000, 'A') + "'\n" +
                     "list: [";
  for (int i = 0; i < 1000; ++i) yaml += "*s, ";
  yaml += "*s]\n";
  const LoadResult r = load_string(yaml, "scalar.yaml");
  expect_one_error_saying(r, "expands to too much text once aliases are replaced: at most " +
                                 std::to_string(kMaxYamlExpandedBytes) + " bytes");
}

TEST(ConfigLimits, LongValuesAreNotEchoedInFull) {
  // A 100 KB wrong-typed value under a key that expects a number.
  const std::string yaml = "gateway: {id: gw, site: s}\nmqtt: {port: '" +
                           std::string(100'000, '9') + "x'}\n";
  const LoadResult r = load_string(yaml, "long.yaml");
  ASSERT_FALSE(r.errors.empty());
  for (const auto& e : r.errors) {
    EXPECT_LE(e.message.size(), kMaxErrorMessageChars) << e.message.substr(0, 80);
    EXPECT_EQ(e.message.find(std::string(200, '9')), std::string::npos);
  }
}

TEST(ConfigLimits, AtMostFiftyErrorsAndTheLastSaysHowManyWereLeftOut) {
  // 1,000 duplicate meter codes: 999 errors found, 50 reported.
  std::string codes = "[";
  for (int i = 0; i < 1000; ++i) codes += "7, ";
  codes += "7]";
  const LoadResult r = load_string(kHead + egm(1, codes), "many.yaml");
  EXPECT_FALSE(r.config);
  ASSERT_EQ(r.errors.size(), kMaxConfigErrors);
  for (std::size_t i = 0; i + 1 < r.errors.size(); ++i) {
    EXPECT_NE(r.errors[i].message.find("is listed twice"), std::string::npos);
    if (i > 0) {
      EXPECT_LE(r.errors[i - 1].column, r.errors[i].column);  // file order
    }
  }
  EXPECT_NE(r.errors.back().message.find("951 more errors not shown (at most 50"),
            std::string::npos)
      << r.errors.back().message;
}

TEST(ConfigLimits, MeterCodeDuplicatesFoundInALongList) {
  // 30,000 distinct codes then one repeat: exactly one error, at the repeat (a linear check
  // finds it like the quadratic one did; the expanded-size limit keeps lists this size rare).
  const std::string list = code_list(0, 30'000);
  const std::string codes = list.substr(0, list.size() - 1) + ", 0x0005]";
  const LoadResult r = load_string(kHead + egm(1, codes), "dup.yaml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].message.find("meter code 0x0005 is listed twice"), std::string::npos)
      << r.errors[0].message;
}

TEST(ConfigLimits, ASelfReferencingAliasDoesNotHang) {
  const LoadResult r = load_string(kHead + egm(1, "[1]") + "loop: &l [*l, *l]\n", "loop.yaml");
  EXPECT_FALSE(r.config);
  EXPECT_FALSE(r.errors.empty());
}

}  // namespace
}  // namespace floorgate::config
