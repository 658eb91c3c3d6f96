// Runs from a checkpoint file (issue 19; config/checkpoint_source.h): an experiment cell's
// checkpoint: section read strictly, its relative path joined to checkpoints_dir (--set > the
// caller's REPRO_CHECKPOINTS_DIR > the file's key > the file's directory), the run named by the
// file's SHA-256 and train.seed (digests from
// sha256sum and the FIPS 180-2 "abc" vector, not from repro), and its task graph: no train task,
// sample tasks on the file at once. A trained cell beside it keeps the ids it had without it.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>

#include "base/util/errors.h"
#include "base/util/strings.h"
#include "config/train_identity.h"
#include "runner/experiment/expand.h"
#include "runner/orchestrate/task_files.h"
#include "runner/plan/task_graph.h"
#include "runner/plan/task_spec.h"
#include "tests/support/test_support.h"

using namespace repro;
using namespace repro::runner;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// SHA-256("abc"), FIPS 180-2 appendix B.1.
const char* kAbcDigest = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

const char* kTrainedBase = R"(base:
  model: {image_size: 8, num_channels: 32, channel_mult: [1, 1], num_res_blocks: 1,
          attention_resolutions: [4], num_head_channels: 32, learn_sigma: true}
  diffusion: {diffusion_steps: 40}
  train: {batch_size: 4, iterations: 20, save_interval: 10, log_interval: 5, seed: 0}
  data: {path: a.npz}
  eval: {sampling_steps: [10], num_samples: 64, reference: ref.npz}
)";

// A trained cell and a released one whose checkpoint: section is `checkpoint` (a YAML flow map).
std::string source_experiment(const std::string& checkpoint, const std::string& top = "") {
  return "name: released\n" + top + kTrainedBase +
         "matrix:\n  source:\n    - {name: trained, train: {seed: 0}}\n"
         "    - {name: released, checkpoint: " +
         checkpoint + "}\n";
}

// The experiment written as dir/exp.yaml, expanded with `sets`.
Expansion expand_text(const test::TempDir& dir, const std::string& text, const std::vector<std::string>& sets = {},
                      const ExpandOptions& options = {}) {
  return expand(read_experiment_file(dir.write("exp.yaml", text)), sets, {}, options);
}

ExpandOptions lenient() {
  ExpandOptions o;
  o.lenient = true;
  return o;
}

// As `repro run` passes REPRO_CHECKPOINTS_DIR when it is `env`.
ExpandOptions with_env(const std::string& env) {
  ExpandOptions o;
  o.checkpoints_dir_env = env;
  return o;
}

// The run of the cell with these labels (a copy: callers pass temporaries).
PlannedRun cell(const Expansion& e, const std::string& labels) {
  for (const auto& r : e.runs)
    if (r.label_string() == labels) return r;
  ADD_FAILURE() << "no cell " << labels;
  return {};
}

// Writes `bytes` as dir/<name> (its folders made); returns the path.
std::string write_bytes(const fs::path& dir, const std::string& name, const std::string& bytes) {
  const fs::path p = dir / name;
  fs::create_directories(p.parent_path());
  std::ofstream(p, std::ios::binary) << bytes;
  return p.string();
}

// sha256sum's digest of the file (coreutils, not repro's hash).
std::string sha256sum(const std::string& path) {
  std::string out;
  EXPECT_EQ(test::run_command("sha256sum " + shell_quote(path), &out), 0) << out;
  return out.substr(0, 64);
}

const TaskSpec* find_task(const std::vector<TaskSpec>& tasks, const std::string& run_id, const std::string& kind) {
  for (const auto& t : tasks)
    if (t.run_id == run_id && t.kind == kind) return &t;
  return nullptr;
}

}  // namespace

TEST(CheckpointSource, SectionIsReadWithThePathRelativeToTheFile) {
  test::TempDir dir;
  write_bytes(dir.path(), "ckpt/ema.pt", "abc");
  std::string upper = kAbcDigest;
  for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  const auto e =
      expand_text(dir, source_experiment("{path: ckpt/ema.pt, sha256: " + upper + ", iteration: 7, ema: 0.999}"));
  ASSERT_EQ(e.runs.size(), 2u);
  EXPECT_FALSE(cell(e, "source=trained").checkpoint.has_value());
  const auto c = cell(e, "source=released").checkpoint;
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->path, dir.file("ckpt/ema.pt"));
  EXPECT_EQ(c->sha256, kAbcDigest);  // stored in lowercase
  EXPECT_EQ(c->actual_sha256, kAbcDigest);
  EXPECT_EQ(c->iteration, 7);
  EXPECT_EQ(c->ema, "0.999");
  // Defaults: no pin, iteration 0, the 0.9999 EMA; "model" for raw weights.
  const auto d = expand_text(dir, source_experiment("{path: ckpt/ema.pt}"));
  const auto dc = cell(d, "source=released").checkpoint;
  EXPECT_EQ(dc->sha256, "");
  EXPECT_EQ(dc->iteration, 0);
  EXPECT_EQ(dc->ema, "0.9999");
  EXPECT_EQ(dc->identity_sha256(), kAbcDigest);
  EXPECT_EQ(
      cell(expand_text(dir, source_experiment("{path: ckpt/ema.pt, ema: model}")), "source=released").checkpoint->ema,
      "model");
  // An absolute path stays as it is.
  const std::string abs = write_bytes(dir.path() / "elsewhere", "x.pt", "abc");
  EXPECT_EQ(cell(expand_text(dir, source_experiment("{path: " + abs + "}")), "source=released").checkpoint->path, abs);
}

// --set checkpoints_dir= > the caller's REPRO_CHECKPOINTS_DIR (ExpandOptions; expand() reads no
// environment) > the file's checkpoints_dir: > the file's folder.
TEST(CheckpointSource, CheckpointsDirComesFromSetThenEnvThenTheFile) {
  test::TempDir dir;
  // One file name in four folders, four contents: the digest says which folder was read.
  const std::string in_file_dir = write_bytes(dir.path(), "m.pt", "file dir");
  const std::string in_key_dir = write_bytes(dir.path() / "from_key", "m.pt", "key");
  const std::string in_env_dir = write_bytes(dir.path() / "from_env", "m.pt", "env");
  const std::string in_set_dir = write_bytes(dir.path() / "from_set", "m.pt", "set");
  const std::string plain = source_experiment("{path: m.pt}");
  const std::string with_key = source_experiment("{path: m.pt}", "checkpoints_dir: from_key\n");
  const std::string set = "checkpoints_dir=" + (dir.path() / "from_set").string();
  const ExpandOptions env = with_env((dir.path() / "from_env").string());
  auto read = [&](const std::string& text, const std::vector<std::string>& sets, const ExpandOptions& o) {
    const auto c = *cell(expand_text(dir, text, sets, o), "source=released").checkpoint;
    EXPECT_EQ(c.actual_sha256, sha256sum(c.path)) << c.path;
    return c.path;
  };
  EXPECT_EQ(read(plain, {}, {}), in_file_dir);
  EXPECT_EQ(read(with_key, {}, {}), in_key_dir);  // relative to the experiment file
  EXPECT_EQ(read(with_key, {set}, {}), in_set_dir);
  EXPECT_EQ(read(plain, {}, env), in_env_dir);
  EXPECT_EQ(read(with_key, {}, env), in_env_dir);
  EXPECT_EQ(read(with_key, {set}, env), in_set_dir);
  // The variable's value relative to the working directory, as --set's.
  const std::string relative = fs::relative(dir.path() / "from_env").string();
  EXPECT_EQ(read(with_key, {}, with_env(relative)), in_env_dir);
  // checkpoints_dir is no config key: the run's config and the trained cell do not see it.
  const auto unset = expand_text(dir, with_key);
  const auto moved = expand_text(dir, with_key, {set}, env);
  EXPECT_EQ(cell(unset, "source=trained").run_id, cell(moved, "source=trained").run_id);
  EXPECT_EQ(cell(unset, "source=trained").identity_json, cell(moved, "source=trained").identity_json);
}

TEST(CheckpointSource, EmptyCheckpointsDirSetIsAConfigError) {
  test::TempDir dir;
  write_bytes(dir.path(), "m.pt", "abc");
  const ConfigError err =
      test::config_error([&] { expand_text(dir, source_experiment("{path: m.pt}"), {"checkpoints_dir="}); });
  const std::string message = err.what();
  EXPECT_NE(message.find("--set"), std::string::npos) << message;
  EXPECT_NE(message.find("checkpoints_dir=DIR"), std::string::npos) << message;  // what it expects
}

TEST(CheckpointSource, BadSectionsNameTheKey) {
  test::TempDir dir;
  write_bytes(dir.path(), "m.pt", "abc");
  auto error = [&](const std::string& checkpoint) {
    return test::config_error([&] { expand_text(dir, source_experiment(checkpoint)); });
  };
  struct Case {
    std::string checkpoint, key, in_message;
  };
  for (const Case& c : std::vector<Case>{
           {"{path: m.pt, sha256: xyz}", "checkpoint.sha256", "64 hex digits"},
           {"{path: m.pt, sha256: " + std::string(kAbcDigest).substr(1) + "}", "checkpoint.sha256", "64 hex digits"},
           {"{path: m.pt, sha256: " + std::string(kAbcDigest).replace(0, 1, "g") + "}", "checkpoint.sha256", "hex"},
           {"{path: m.pt, iteration: -1}", "checkpoint.iteration", ">= 0"},
           {"{path: m.pt, ema: 1.5}", "checkpoint.ema", "[0, 1)"},
           {"{path: m.pt, ema: fast}", "checkpoint.ema", "fast"},
           {"{path: m.pt, step: 2}", "checkpoint.step", "unknown key"},
           {"{iteration: 2}", "checkpoint.path", "missing"},
       }) {
    const ConfigError err = error(c.checkpoint);
    EXPECT_EQ(err.key_path(), c.key) << c.checkpoint << ": " << err.what();
    EXPECT_NE(std::string(err.what()).find(c.in_message), std::string::npos) << c.checkpoint << ": " << err.what();
    EXPECT_NE(std::string(err.what()).find("source=released"), std::string::npos) << err.what();  // the cell
    EXPECT_NE(std::string(err.what()).find(dir.file("exp.yaml")), std::string::npos) << err.what();
  }
}

// With lenient (the dry run; the whole matrix beside --only) the cell is unnamed, not excluded:
// nothing in the file leaves it out.
TEST(CheckpointSource, MissingUnpinnedFileIsAConfigErrorOrWithLenientAnUnnamedCell) {
  test::TempDir dir;
  const std::string text = source_experiment("{path: gone/ema.pt, iteration: 2}");
  const ConfigError err = test::config_error([&] { expand_text(dir, text); });
  EXPECT_EQ(err.key_path(), "checkpoint.path") << err.what();
  EXPECT_NE(std::string(err.what()).find(dir.file("gone/ema.pt")), std::string::npos) << err.what();
  EXPECT_NE(std::string(err.what()).find("checkpoints_dir"), std::string::npos) << err.what();  // the way out

  const auto e = expand_text(dir, text, {}, lenient());
  ASSERT_EQ(e.runs.size(), 1u);
  EXPECT_EQ(e.runs[0].label_string(), "source=trained");
  EXPECT_TRUE(e.excluded.empty());
  EXPECT_EQ(e.unnamed,
            (std::vector<std::pair<std::string, std::string>>{{"source=released", dir.file("gone/ema.pt")}}));
}

TEST(CheckpointSource, PinnedDigestNamesTheRunWhetherOrNotTheFileIsThere) {
  test::TempDir dir;
  const std::string text = source_experiment("{path: ema.pt, sha256: " + std::string(kAbcDigest) + ", iteration: 2}");
  const auto missing = expand_text(dir, text);
  ASSERT_EQ(missing.runs.size(), 2u);
  const PlannedRun r = cell(missing, "source=released");
  EXPECT_EQ(r.checkpoint->actual_sha256, "");  // left to the pre-flight
  EXPECT_EQ(json::parse(r.identity_json)["checkpoint"], (json{{"sha256", kAbcDigest}}));
  const auto tasks = plan_tasks(missing.runs);
  EXPECT_NE(find_task(tasks, r.run_id, "sample"), nullptr);
  // The file there, "abc": the same run. Another file there: still the run the pin names.
  write_bytes(dir.path(), "ema.pt", "abc");
  EXPECT_EQ(cell(expand_text(dir, text), "source=released").run_id, r.run_id);
  write_bytes(dir.path(), "ema.pt", "abd");
  const PlannedRun other = cell(expand_text(dir, text), "source=released");
  EXPECT_EQ(other.run_id, r.run_id);
  EXPECT_EQ(other.checkpoint->actual_sha256, sha256sum(dir.file("ema.pt")));
  EXPECT_NE(other.checkpoint->actual_sha256, kAbcDigest);
}

TEST(CheckpointSource, IdentityIsTheDigestWithModelDiffusionAndSeed) {
  test::TempDir dir;
  write_bytes(dir.path(), "ema.pt", "abc");
  const auto e = expand_text(dir, source_experiment("{path: ema.pt, iteration: 2}"));
  const PlannedRun released = cell(e, "source=released");
  const PlannedRun trained = cell(e, "source=trained");
  const json id = json::parse(released.identity_json);
  const json trained_id = json::parse(trained.identity_json);
  // Exactly these members, in nlohmann's (sorted) order: of train: the seed alone, no data:.
  EXPECT_EQ(id, (json{{"checkpoint", {{"sha256", kAbcDigest}}},
                      {"diffusion", trained_id["diffusion"]},
                      {"model", trained_id["model"]},
                      {"train", {{"seed", 0}}}}));
  EXPECT_EQ(id["model"], config::model_identity(released.train.model));
  EXPECT_EQ(id["diffusion"], config::diffusion_identity(released.train.diffusion));
  EXPECT_EQ(released.identity_json, id.dump());  // the compact dump is what is hashed
  // The run id: the first 12 hex digits of the dump's SHA-256, by sha256sum.
  const std::string dump = dir.write("identity.json", released.identity_json);
  EXPECT_EQ(released.run_id, sha256sum(dump).substr(0, 12));
  EXPECT_EQ(released.identity(), id);
  // The trained run's identity has the usual members.
  std::set<std::string> keys;
  for (const auto& [k, v] : trained_id.items()) keys.insert(k);
  EXPECT_EQ(keys, (std::set<std::string>{"data", "diffusion", "model", "train"}));
}

// train.seed seeds a released run's sampler: one file at two seeds is two runs, each planned; at
// one seed twice, the same config.
TEST(CheckpointSource, CellsOnOneFileWithOtherSeedsAreOtherRuns) {
  test::TempDir dir;
  write_bytes(dir.path(), "ema.pt", "abc");
  auto seeds = [](const std::string& a, const std::string& b) {
    return std::string("name: seeds\n") + kTrainedBase + "  checkpoint: {path: ema.pt, iteration: 20}\n" +
           "matrix:\n  seed:\n    - {name: first, train: {seed: " + a + "}}\n" +
           "    - {name: second, train: {seed: " + b + "}}\n";
  };
  const auto e = expand_text(dir, seeds("0", "1"));
  ASSERT_EQ(e.runs.size(), 2u);
  const PlannedRun zero = cell(e, "seed=first"), one = cell(e, "seed=second");
  EXPECT_NE(zero.run_id, one.run_id);
  EXPECT_EQ(zero.identity()["train"], (json{{"seed", 0}}));
  EXPECT_EQ(one.identity()["train"], (json{{"seed", 1}}));
  EXPECT_EQ(zero.identity()["checkpoint"], one.identity()["checkpoint"]);
  std::map<std::string, uint64_t> sample_seeds;  // run id -> its sample task's seed
  for (const auto& t : plan_tasks(e.runs))
    if (t.kind == "sample") sample_seeds[t.run_id] = t.sample_spec().seed;
  EXPECT_EQ(sample_seeds, (std::map<std::string, uint64_t>{{zero.run_id, 0}, {one.run_id, 1}}));

  const ConfigError err = test::config_error([&] { expand_text(dir, seeds("3", "3")); });
  EXPECT_EQ(err.key_path(), "matrix") << err.what();
  EXPECT_NE(std::string(err.what()).find("same config"), std::string::npos) << err.what();
  EXPECT_NE(std::string(err.what())
                .find("checkpoint files hold the same bytes (SHA-256 " + zero.checkpoint->identity_sha256() + ")"),
            std::string::npos)
      << err.what();
}

TEST(CheckpointSource, DigestOfALargerFileMatchesSha256sum) {
  test::TempDir dir;
  std::string bytes(200000, '\0');  // several hash blocks and a partial last one
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>((i * 131 + i / 7) & 0xff);
  const std::string path = write_bytes(dir.path(), "big.pt", bytes);
  const auto c = *cell(expand_text(dir, source_experiment("{path: big.pt}")), "source=released").checkpoint;
  EXPECT_EQ(c.actual_sha256, sha256sum(path));
}

TEST(CheckpointSource, RunIdFollowsTheBytesNotThePath) {
  test::TempDir dir;
  std::string bytes(5000, 'x');
  write_bytes(dir.path() / "a", "ema.pt", bytes);
  write_bytes(dir.path() / "b", "ema.pt", bytes);
  bytes[2500] = 'y';
  write_bytes(dir.path() / "c", "ema.pt", bytes);
  const std::string text = source_experiment("{path: ema.pt, iteration: 2}");
  auto from = [&](const std::string& folder) {
    return expand_text(dir, text, {"checkpoints_dir=" + (dir.path() / folder).string()});
  };
  const auto a = from("a"), b = from("b"), c = from("c");
  const PlannedRun ra = cell(a, "source=released"), rb = cell(b, "source=released"), rc = cell(c, "source=released");
  EXPECT_NE(ra.checkpoint->path, rb.checkpoint->path);
  EXPECT_EQ(ra.run_id, rb.run_id);
  EXPECT_EQ(ra.identity_json, rb.identity_json);
  EXPECT_NE(ra.run_id, rc.run_id);  // one byte
  // The moved file keeps every task id (the path is in the task file, not the spec).
  std::vector<std::string> ids_a, ids_b;
  for (const auto& t : plan_tasks(a.runs)) ids_a.push_back(t.task_id);
  for (const auto& t : plan_tasks(b.runs)) ids_b.push_back(t.task_id);
  EXPECT_EQ(ids_a, ids_b);
}

TEST(CheckpointSource, PlanHasNoTrainTaskAndSamplesTheFileAtOnce) {
  test::TempDir dir;
  write_bytes(dir.path(), "ema.pt", "abc");
  const auto e = expand_text(dir, source_experiment("{path: ema.pt, iteration: 300000, ema: 0.999}"));
  const PlannedRun released = cell(e, "source=released");
  const PlannedRun trained = cell(e, "source=trained");
  const auto tasks = plan_tasks(e.runs);
  int released_samples = 0, released_evals = 0;
  for (const auto& t : tasks) {
    if (t.run_id != released.run_id) continue;
    ASSERT_NE(t.kind, "train") << t.task_id;
    if (t.kind == "eval") {
      ++released_evals;
      EXPECT_EQ(t.depends_on.size(), 1u);  // its sample task
      EXPECT_TRUE(t.checkpoint_path.empty());
      EXPECT_FALSE(task_file_json("/p", t).contains("released"));
      continue;
    }
    ++released_samples;
    EXPECT_TRUE(t.depends_on.empty()) << t.task_id;
    EXPECT_TRUE(t.early_start_file.empty()) << t.task_id;
    const SampleTaskSpec s = t.sample_spec();
    EXPECT_EQ(s.checkpoint_sha256, kAbcDigest);
    EXPECT_EQ(s.checkpoint_step, 300000);
    EXPECT_EQ(s.ema, "0.999");  // the checkpoint's, not eval.ema's default
    EXPECT_EQ(t.checkpoint_path, dir.file("ema.pt"));
    EXPECT_EQ(t.run_config, train_yaml(released));
    EXPECT_EQ(t.run_config.find("checkpoint"), std::string::npos) << t.run_config;
    EXPECT_EQ(t.run_config.find("eval:"), std::string::npos) << t.run_config;
    const json file = task_file_json("/p", t);
    EXPECT_EQ(file["released"], (json{{"checkpoint", dir.file("ema.pt")}, {"config", t.run_config}}));
    EXPECT_TRUE(file["depends_on"].empty());
    EXPECT_EQ(file["spec"]["checkpoint_sha256"], kAbcDigest);
  }
  EXPECT_EQ(released_samples, 1);
  EXPECT_EQ(released_evals, 1);
  // The trained cell as ever: a train task its sample waits for, no digest in its spec.
  const TaskSpec* train = find_task(tasks, trained.run_id, "train");
  const TaskSpec* sample = find_task(tasks, trained.run_id, "sample");
  ASSERT_NE(train, nullptr);
  ASSERT_NE(sample, nullptr);
  EXPECT_EQ(sample->depends_on, std::vector<std::string>{train->task_id});
  EXPECT_EQ(sample->spec.find("checkpoint_sha256"), std::string::npos) << sample->spec;
  EXPECT_TRUE(sample->checkpoint_path.empty());
  EXPECT_FALSE(task_file_json("/p", *sample).contains("released"));
  int trains = 0;
  for (const auto& t : tasks) trains += t.kind == "train" ? 1 : 0;
  EXPECT_EQ(trains, 1);
}

TEST(CheckpointSource, EvalStepsOtherThanTheIterationAreAConfigError) {
  test::TempDir dir;
  write_bytes(dir.path(), "ema.pt", "abc");
  const std::string released = "{path: ema.pt, iteration: 10}";
  // The trained cell saves at 10 and 20; the released file is step 10 only.
  const ConfigError err =
      test::config_error([&] { expand_text(dir, source_experiment(released), {"eval.at_iterations=[10, 20]"}); });
  EXPECT_EQ(err.key_path(), "eval.at_iterations") << err.what();
  EXPECT_NE(std::string(err.what()).find("source=released"), std::string::npos) << err.what();
  EXPECT_NE(std::string(err.what()).find("20"), std::string::npos) << err.what();
  const auto e = expand_text(dir, source_experiment(released), {"eval.at_iterations=[10]"});
  EXPECT_EQ(e.runs.size(), 2u);
}

TEST(CheckpointSource, ReleasedCellNeedsNoTrainingData) {
  test::TempDir dir;
  write_bytes(dir.path(), "ema.pt", "abc");
  const auto e = expand_text(dir, R"(name: only_released
base:
  model: {image_size: 8, num_channels: 32, channel_mult: [1, 1], num_res_blocks: 1,
          attention_resolutions: [4], num_head_channels: 32, learn_sigma: true}
  diffusion: {diffusion_steps: 40}
  eval: {sampling_steps: [10], num_samples: 64, reference: ref.npz}
  checkpoint: {path: ema.pt, iteration: 5}
)");
  ASSERT_EQ(e.runs.size(), 1u);
  EXPECT_EQ(e.runs[0].train.data.path, "");
  const auto tasks = plan_tasks(e.runs);
  ASSERT_EQ(tasks.size(), 2u);
  EXPECT_EQ(tasks[0].kind, "sample");
  EXPECT_EQ(tasks[1].kind, "eval");
}

TEST(CheckpointSource, TrainedCellKeepsItsIds) {
  test::TempDir dir;
  write_bytes(dir.path(), "ema.pt", "abc");
  const auto with = expand_text(dir, source_experiment("{path: ema.pt, iteration: 20}"));
  // The same trained run in a file without the released cell (the base alone).
  const auto without = expand_text(dir, std::string("name: plain\n") + kTrainedBase);
  ASSERT_EQ(without.runs.size(), 1u);
  const PlannedRun trained = cell(with, "source=trained");
  EXPECT_EQ(trained.run_id, without.runs[0].run_id);
  EXPECT_EQ(trained.identity_json, without.runs[0].identity_json);
  EXPECT_EQ(trained.run_id,
            config::run_id(config::train_identity(trained.train, trained.train.train.planned_world_size())));
  std::vector<std::string> ids_with, ids_without;
  for (const auto& t : plan_tasks(with.runs))
    if (t.run_id == trained.run_id) ids_with.push_back(t.task_id + " " + t.spec);
  for (const auto& t : plan_tasks(without.runs)) ids_without.push_back(t.task_id + " " + t.spec);
  EXPECT_EQ(ids_with, ids_without);
}
