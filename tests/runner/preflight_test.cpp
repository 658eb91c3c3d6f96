// The dry run's pre-flight: missing inputs, a weights file whose name pins a digest it does not
// have, a prepared dataset whose fingerprint is not the one its run trained on, one check per
// file however many runs read it, and nothing checked for work that is done.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "base/eval/inception_weights_file.h"
#include "base/util/sha256.h"
#include "runner/experiment/expand.h"
#include "runner/plan/preflight.h"
#include "tests/support/test_support.h"

using namespace repro;
using namespace repro::runner;

namespace {

// Two runs (seeds) reading one data folder, evaluated with the real Inception weights.
const char* kExperiment = R"(name: pre
base:
  model: {image_size: 8, num_channels: 32, channel_mult: [1], num_res_blocks: 1, attention_resolutions: []}
  diffusion: {diffusion_steps: 10}
  train: {batch_size: 2, iterations: 4, save_interval: 4}
  data: {path: data}
  eval: {sampling_steps: [5], num_samples: 4, batch_size: 4, reference: ref.npz, features: inception}
matrix:
  seed: {key: train.seed, values: [0, 1]}
)";

struct Fixture {
  test::TempDir dir;
  Expansion e;
  std::vector<TaskSpec> tasks;
  Fixture() {
    std::ofstream(dir.file("exp.yaml")) << kExperiment;
    e = expand(read_experiment_file(dir.file("exp.yaml")));
    tasks = plan_tasks(e.runs);
  }
  std::vector<PreflightCheck> run(const PreflightOptions& o, const std::map<std::string, RunHistory>& h = {},
                                  std::vector<bool> to_run = {}) const {
    if (to_run.empty()) to_run.assign(tasks.size(), true);
    return preflight(e.runs, tasks, to_run, h, o);
  }
  const PreflightCheck& find(const std::vector<PreflightCheck>& checks, const std::string& what) const {
    for (const auto& c : checks)
      if (c.what == what) return c;
    throw std::runtime_error("no check " + what);
  }
};

}  // namespace

TEST(Preflight, MissingInputsFailOncePerFile) {
  Fixture fx;
  const auto checks = fx.run({fx.dir.file("inception-2015-12-05.pt"), nullptr});
  ASSERT_EQ(checks.size(), 3u);  // data, reference, weights: each once for both runs
  for (const auto& c : checks) {
    EXPECT_FALSE(c.ok) << c.what;
    EXPECT_EQ(c.runs, 2) << c.what;
    EXPECT_EQ(c.message.rfind("missing", 0), 0u) << c.message;
  }
  EXPECT_EQ(fx.find(checks, "data").path, fx.dir.file("data"));
  EXPECT_EQ(first_failure(checks), &checks[0]);
}

TEST(Preflight, WeightsNamedLikeAPublishedFileMustHaveItsDigest) {
  Fixture fx;
  std::filesystem::create_directory(fx.dir.file("data"));
  std::ofstream(fx.dir.file("ref.npz")) << "x";
  std::ofstream(fx.dir.file("inception-2015-12-05.pt")) << "not the weights";
  auto checks = fx.run({fx.dir.file("inception-2015-12-05.pt"), nullptr});
  const auto& w = fx.find(checks, "inception weights");
  EXPECT_FALSE(w.ok);
  EXPECT_NE(w.message.find(sha256_hex("not the weights")), std::string::npos) << w.message;
  EXPECT_NE(w.message.find(metrics::kNvidiaInceptionSha256), std::string::npos) << w.message;
  EXPECT_TRUE(fx.find(checks, "data").ok);
  EXPECT_TRUE(fx.find(checks, "reference").ok);
  // Any other name pins nothing: its digest is shown, as the eval task records it.
  std::ofstream(fx.dir.file("my-weights.pt")) << "not the weights";
  checks = fx.run({fx.dir.file("my-weights.pt"), nullptr});
  EXPECT_TRUE(fx.find(checks, "inception weights").ok);
  EXPECT_EQ(first_failure(checks), nullptr);
}

TEST(Preflight, APreparedDatasetMustBeTheOneItsRunTrainedOn) {
  Fixture fx;
  std::filesystem::create_directory(fx.dir.file("data"));
  std::ofstream(fx.dir.file("data/manifest.json")) << "{}";
  std::ofstream(fx.dir.file("ref.npz")) << "x";
  std::ofstream(fx.dir.file("w.pt")) << "w";
  PreflightOptions o{fx.dir.file("w.pt"), [](const std::string&) { return std::string(64, 'a'); }};
  std::map<std::string, RunHistory> history;
  EXPECT_TRUE(fx.find(fx.run(o, history), "data").ok);  // nothing recorded yet
  history[fx.e.runs[1].run_id].data_fingerprint = std::string(64, 'a');
  EXPECT_TRUE(fx.find(fx.run(o, history), "data").ok);
  history[fx.e.runs[0].run_id].data_fingerprint = std::string(64, 'b');
  const auto bad = fx.find(fx.run(o, history), "data");
  EXPECT_FALSE(bad.ok);
  EXPECT_NE(bad.message.find(std::string(64, 'b')), std::string::npos) << bad.message;
  // An unreadable manifest is a failed check with the reader's message, not an exception.
  o.manifest_fingerprint = [](const std::string& d) -> std::string { throw IoError(d + ": not a manifest"); };
  EXPECT_NE(fx.find(fx.run(o), "data").message.find("not a manifest"), std::string::npos);
}

TEST(Preflight, DoneWorkNeedsNoInputs) {
  Fixture fx;
  std::vector<bool> to_run(fx.tasks.size(), false);
  EXPECT_TRUE(fx.run({fx.dir.file("w.pt"), nullptr}, {}, to_run).empty());
  // Only the first run's eval left: its reference and the weights, not the data.
  for (size_t i = 0; i < fx.tasks.size(); ++i)
    if (fx.tasks[i].kind == "eval" && fx.tasks[i].run_id == fx.e.runs[0].run_id) to_run[i] = true;
  const auto checks = fx.run({fx.dir.file("w.pt"), nullptr}, {}, to_run);
  ASSERT_EQ(checks.size(), 2u);
  EXPECT_EQ(checks[0].what, "reference");
  EXPECT_EQ(checks[0].runs, 1);
  EXPECT_EQ(checks[1].what, "inception weights");
}
