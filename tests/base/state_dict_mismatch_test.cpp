// compare_state_shapes and its message, on hand-written key lists.
#include "base/nn/state_dict_mismatch.h"

#include <gtest/gtest.h>

namespace repro::core {
namespace {

TEST(StateDictMismatch, ListsMissingUnexpectedAndMisShapedKeys) {
  const StateShapes model = {{"a.weight", {4, 3}}, {"a.bias", {4}}, {"b.weight", {2}}};
  const StateShapes file = {{"a.weight", {4, 3}}, {"a.bias", {5}}, {"c.weight", {2}}, {"step", {}}};
  const StateDictMismatch m = compare_state_shapes(model, file);
  EXPECT_EQ(m.missing, (std::vector<std::string>{"b.weight [2]"}));
  EXPECT_EQ(m.unexpected, (std::vector<std::string>{"c.weight [2]", "step []"}));
  EXPECT_EQ(m.mis_shaped, (std::vector<std::string>{"a.bias: checkpoint [5], model [4]"}));
  EXPECT_FALSE(m.empty());
  EXPECT_EQ(m.describe("; "),
            "the checkpoint does not match the model (1 missing, 2 unexpected, 1 mis-shaped keys); check that the "
            "model config matches the one the checkpoint was trained with; missing: b.weight [2]; unexpected: "
            "c.weight [2]; unexpected: step []; mis-shaped: a.bias: checkpoint [5], model [4]");
}

TEST(StateDictMismatch, SameKeysInAnotherOrderMatch) {
  const StateShapes model = {{"a", {1}}, {"b", {2, 2}}};
  EXPECT_TRUE(compare_state_shapes(model, {{"b", {2, 2}}, {"a", {1}}}).empty());
}

TEST(StateDictMismatch, ListsTwentyOfEachKindThenCounts) {
  StateShapes model;
  for (int i = 0; i < 25; ++i) model.push_back({"k" + std::to_string(i), {1}});
  const StateDictMismatch m = compare_state_shapes(model, {});
  ASSERT_EQ(m.missing.size(), 25u);
  const std::string text = m.describe("\n");
  EXPECT_NE(text.find("\nmissing: k19 [1]\n... and 5 more missing keys"), std::string::npos) << text;
  EXPECT_EQ(text.find("k20"), std::string::npos) << text;
}

}  // namespace
}  // namespace repro::core
