// The project's string helpers (base/util/strings.h), with expectations written out by hand.
#include "base/util/strings.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace repro {
namespace {

TEST(Strings, JoinPutsTheSeparatorBetweenItemsOnly) {
  EXPECT_EQ(join({"a", "b", "c"}, ", "), "a, b, c");
  EXPECT_EQ(join({"a"}, ", "), "a");
  EXPECT_EQ(join({}, ", "), "");
  EXPECT_EQ(join({"x", "y"}, ""), "xy");
  // Empty items keep their separators: three items, two separators.
  EXPECT_EQ(join({"", "b", ""}, "/"), "/b/");
}

TEST(Strings, JoinWithAFormatter) {
  const std::vector<int64_t> shape = {2, 3, 32};
  EXPECT_EQ(join(shape, ", ", [](int64_t d) { return std::to_string(d); }), "2, 3, 32");
  const std::map<std::string, std::string> dims = {{"method", "adm"}, {"dataset", "cifar10"}};
  EXPECT_EQ(join(dims, " ", [](const auto& kv) { return kv.first + "=" + kv.second; }), "dataset=cifar10 method=adm");
  EXPECT_EQ(join(std::vector<double>{}, ",", [](double) { return std::string("never"); }), "");
}

TEST(Strings, TrimDropsAsciiWhitespaceAtBothEnds) {
  EXPECT_EQ(trim("  a b \t"), "a b");
  EXPECT_EQ(trim("\r\n\f\vx\n"), "x");
  EXPECT_EQ(trim("x"), "x");
  EXPECT_EQ(trim(" \t\n "), "");
  EXPECT_EQ(trim(""), "");
}

TEST(Strings, Contains) {
  const std::vector<std::string> v = {"fid", "is", ""};
  EXPECT_TRUE(contains(v, "fid"));
  EXPECT_TRUE(contains(v, ""));
  EXPECT_FALSE(contains(v, "fi"));
  EXPECT_FALSE(contains({}, "fid"));
}

TEST(Strings, PrefixesAndSuffixes) {
  EXPECT_TRUE(starts_with("cuda:1", "cuda:"));
  EXPECT_TRUE(starts_with("abc", ""));
  EXPECT_TRUE(starts_with("abc", "abc"));
  EXPECT_FALSE(starts_with("ab", "abc"));
  EXPECT_FALSE(starts_with("xabc", "abc"));
  EXPECT_TRUE(ends_with("model.bn.weight", "bn.weight"));
  EXPECT_TRUE(ends_with("abc", ""));
  EXPECT_FALSE(ends_with("bc", "abc"));
  EXPECT_FALSE(ends_with("abcx", "abc"));
}

TEST(Strings, SplitKeepsEmptyPieces) {
  EXPECT_EQ(split("a,,b", ','), (std::vector<std::string>{"a", "", "b"}));
  EXPECT_EQ(split("a", ','), (std::vector<std::string>{"a"}));
  EXPECT_EQ(split("", ','), (std::vector<std::string>{""}));
  EXPECT_EQ(split(",a,", ','), (std::vector<std::string>{"", "a", ""}));
}

TEST(Strings, ShellQuoteMakesOneWordOfAnything) {
  EXPECT_EQ(shell_quote("plain"), "'plain'");
  EXPECT_EQ(shell_quote(""), "''");
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
  EXPECT_EQ(shell_quote("$HOME; rm -rf /"), "'$HOME; rm -rf /'");
}

}  // namespace
}  // namespace repro
