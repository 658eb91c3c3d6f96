// train.keep (base/train/keep_policy.h): which checkpoint files a save or `repro gc` deletes, with
// the expected names written out by hand.
#include "base/train/keep_policy.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace repro::core {
namespace {

using Names = std::vector<std::string>;

// Every file a save at `step` writes (one EMA), as trainer_checkpoint.cpp names them.
Names checkpoint_at(const std::string& k) {
  Names out;
  for (const std::string& f :
       {"model" + k + ".pt", "ema_0.9999_" + k + ".pt", "opt" + k + ".pt", "state" + k + ".json"}) {
    out.push_back(f);
    out.push_back(f + ".sha256");
  }
  return out;
}

Names three_saves() {
  Names all;
  for (const char* k : {"000100", "000200", "000300"})
    for (auto& f : checkpoint_at(k)) all.push_back(f);
  return all;
}

TEST(KeepPolicy, SavedStepsEndWithTheLastIteration) {
  EXPECT_EQ(saved_steps(100, 300), (std::vector<int64_t>{100, 200, 300}));
  EXPECT_EQ(saved_steps(100, 250), (std::vector<int64_t>{100, 200, 250}));
  EXPECT_EQ(saved_steps(0, 250), std::vector<int64_t>{});
}

TEST(KeepPolicy, EvaluatedKeepsEvaluatedStepsUpToTheLatest) {
  const KeepPlan p = keep_plan("evaluated", {100, 200, 300}, {300, 100, 100, 500}, 200);
  EXPECT_EQ(p.model_steps, (std::vector<int64_t>{100, 200}));  // 500 is not saved yet; 200 is the latest
  EXPECT_EQ(p.optimizer_step, 200);
  EXPECT_FALSE(p.keep_everything);
  EXPECT_TRUE(keep_plan("all", {100, 200, 300}, {}, 300).keep_everything);
}

TEST(KeepPolicy, ClassifiesEveryPerStepFile) {
  using K = CheckpointFile::Kind;
  const auto ema = classify_checkpoint_file("ema_0.9999_1234567.pt.sha256");
  ASSERT_TRUE(ema);
  EXPECT_EQ(ema->kind, K::kWeights);
  EXPECT_EQ(ema->step, 1234567);
  EXPECT_TRUE(ema->checksum);
  EXPECT_EQ(classify_checkpoint_file("state000010.json")->kind, K::kState);
  EXPECT_EQ(classify_checkpoint_file("opt000010.pt")->kind, K::kOptimizer);
  EXPECT_FALSE(classify_checkpoint_file("opt000010.pt")->checksum);
  for (const char* stray : {"opt000010.pt.tmp-123", "model.pt", "ema__000010.pt", "ema_0.99_x.pt", "notes.txt",
                            "state99999999999999999999.json", "modelabc.pt"})
    EXPECT_FALSE(classify_checkpoint_file(stray)) << stray;
}

TEST(KeepPolicy, PrunesUnevaluatedWeightsAndOldOptimizersStateFilesFirst) {
  Names names = three_saves();
  names.push_back("opt000300.pt.tmp-4242");  // a save in progress elsewhere: not ours
  names.push_back("README");
  const KeepPlan p = keep_plan("evaluated", {100, 200, 300}, {100}, 300);
  const Names want = {
      "state000100.json",     "state000100.json.sha256",     "state000200.json", "state000200.json.sha256",
      "opt000100.pt",         "opt000100.pt.sha256",         "opt000200.pt",     "opt000200.pt.sha256",
      "ema_0.9999_000200.pt", "ema_0.9999_000200.pt.sha256", "model000200.pt",   "model000200.pt.sha256"};
  EXPECT_EQ(files_to_prune(names, p), want);
}

TEST(KeepPolicy, NeverPrunesTheLatestNorNewerStepsNorUnderAll) {
  const Names names = three_saves();
  // The latest complete checkpoint is 200 (300 is being written or broken): 300 is left alone.
  const Names got = files_to_prune(names, keep_plan("evaluated", {100, 200, 300}, {}, 200));
  const Names want = {"state000100.json",     "state000100.json.sha256",     "opt000100.pt",   "opt000100.pt.sha256",
                      "ema_0.9999_000100.pt", "ema_0.9999_000100.pt.sha256", "model000100.pt", "model000100.pt.sha256"};
  EXPECT_EQ(got, want);
  EXPECT_TRUE(files_to_prune(names, keep_plan("all", {100, 200, 300}, {}, 300)).empty());
  EXPECT_TRUE(files_to_prune(names, keep_plan("evaluated", {100, 200, 300}, {}, 0)).empty());
}

}  // namespace
}  // namespace repro::core
