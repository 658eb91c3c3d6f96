// The pre-flight of a released checkpoint (runner/plan/preflight.h, checkpoint_checks): files
// written with repro::write_state_dict_file (torch-free) whose keys and shapes match a tiny
// UNetConfig or not; digests from sha256sum. Each row: ok, missing, a pinned digest that is not
// the file's, a renamed key and a wrong shape (both listed), a file that is no checkpoint.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "base/nn/unet_state_shapes.h"
#include "base/util/strings.h"
#include "base/util/torch_pickle.h"
#include "runner/experiment/expand.h"
#include "runner/plan/preflight.h"
#include "tests/support/test_support.h"

using namespace repro;
using namespace repro::runner;

namespace {

// One level of 32 channels at 8px: 70 tensors (time_embed 4, input conv 2, one ResBlock 10, the
// middle block's two ResBlocks and attention 26, two output ResBlocks with a 1x1 skip 24, out 4).
const char* kModel =
    "{image_size: 8, num_channels: 32, channel_mult: [1], num_res_blocks: 1, attention_resolutions: [], "
    "num_head_channels: 32}";

core::UNetConfig tiny_model() {
  core::UNetConfig c;
  c.image_size = 8, c.num_channels = 32, c.channel_mult = {1}, c.num_res_blocks = 1, c.attention_resolutions = {};
  c.num_head_channels = 32;
  return c;
}

// A float32 state dict of these keys and shapes (zeros) at `path`.
void write_checkpoint(const std::string& path, const core::StateShapes& shapes) {
  std::vector<TensorBlob> blobs;
  for (const auto& [name, shape] : shapes) {
    int64_t numel = 1;
    for (int64_t d : shape) numel *= d;
    blobs.push_back({name, "float32", shape, std::string(static_cast<size_t>(numel) * 4, '\0')});
  }
  write_state_dict_file(path, blobs);
}

std::string sha256sum(const std::string& path) {
  std::string out;
  EXPECT_EQ(test::run_command("sha256sum " + shell_quote(path), &out), 0) << out;
  return out.substr(0, 64);
}

// A released run per `checkpoints` entry (YAML flow maps), axis `file`, label f0, f1, ...
Expansion expand_released(const test::TempDir& dir, const std::vector<std::string>& checkpoints) {
  std::string text = std::string("name: released\nbase:\n  model: ") + kModel +
                     "\n  diffusion: {diffusion_steps: 10}\n  train: {batch_size: 2, iterations: 4, seed: 0}\n"
                     "  eval: {sampling_steps: [5], num_samples: 4, batch_size: 4, reference: ref.npz}\n"
                     "matrix:\n  file:\n";
  for (size_t i = 0; i < checkpoints.size(); ++i)
    text += "    - {name: f" + std::to_string(i) + ", checkpoint: " + checkpoints[i] + "}\n";
  return expand(read_experiment_file(dir.write("exp.yaml", text)), {"checkpoints_dir=" + dir.path().string()});
}

std::set<std::string> all_runs(const Expansion& e) {
  std::set<std::string> ids;
  for (const auto& r : e.runs) ids.insert(r.run_id);
  return ids;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST(PreflightCheckpoint, MatchingFileIsOkWithItsDigestAndTensorCount) {
  test::TempDir dir;
  write_checkpoint(dir.file("ema.pt"), core::unet_state_shapes(tiny_model()));
  const std::string digest = sha256sum(dir.file("ema.pt"));
  for (const bool pin : {false, true}) {
    const Expansion e = expand_released(dir, {pin ? "{path: ema.pt, sha256: " + digest + "}" : "{path: ema.pt}"});
    const auto rows = checkpoint_checks(e.runs, all_runs(e));
    ASSERT_EQ(rows.size(), 1u);
    const auto& row = rows[0];
    EXPECT_TRUE(row.check.ok) << row.check.message;
    EXPECT_EQ(row.fault, CheckpointFault::kNone);
    EXPECT_EQ(row.check.what, "checkpoint");
    EXPECT_EQ(row.check.path, dir.file("ema.pt"));
    EXPECT_EQ(row.check.runs, 1);
    EXPECT_EQ(row.check.message, "SHA-256 " + digest.substr(0, 12) + (pin ? "... as pinned" : "... (not pinned)") +
                                     ", 70 tensors match the model");
  }
}

TEST(PreflightCheckpoint, MissingPinnedFileFailsNamingTheDigest) {
  test::TempDir dir;
  const std::string pinned(64, 'a');
  const Expansion e = expand_released(dir, {"{path: gone.pt, sha256: " + pinned + "}"});
  const auto rows = checkpoint_checks(e.runs, all_runs(e));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_FALSE(rows[0].check.ok);
  EXPECT_EQ(rows[0].fault, CheckpointFault::kFile);
  EXPECT_EQ(rows[0].check.path, dir.file("gone.pt"));
  EXPECT_EQ(rows[0].check.message.rfind("missing (expected SHA-256 " + pinned, 0), 0u) << rows[0].check.message;
  EXPECT_TRUE(contains(rows[0].check.message, "checkpoints_dir")) << rows[0].check.message;
}

TEST(PreflightCheckpoint, PinnedDigestThatIsNotTheFilesFails) {
  test::TempDir dir;
  write_checkpoint(dir.file("ema.pt"), core::unet_state_shapes(tiny_model()));
  const std::string pinned(64, 'b');
  const Expansion e = expand_released(dir, {"{path: ema.pt, sha256: " + pinned + "}"});
  const auto rows = checkpoint_checks(e.runs, all_runs(e));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_FALSE(rows[0].check.ok);
  EXPECT_EQ(rows[0].fault, CheckpointFault::kFile);
  EXPECT_EQ(rows[0].check.message,
            "SHA-256 " + sha256sum(dir.file("ema.pt")) + " is not the pinned " + pinned + " (checkpoint.sha256)");
}

TEST(PreflightCheckpoint, RenamedKeyAndWrongShapeAreBothListed) {
  test::TempDir dir;
  core::StateShapes shapes = core::unet_state_shapes(tiny_model());
  for (auto& [name, shape] : shapes) {
    if (name == "out.2.bias") name = "out.2.b";
    if (name == "time_embed.0.weight") shape = {128, 16};
  }
  write_checkpoint(dir.file("other.pt"), shapes);
  const Expansion e = expand_released(dir, {"{path: other.pt}"});
  const auto rows = checkpoint_checks(e.runs, all_runs(e));
  ASSERT_EQ(rows.size(), 1u);
  const std::string& m = rows[0].check.message;
  EXPECT_FALSE(rows[0].check.ok);
  EXPECT_EQ(rows[0].fault, CheckpointFault::kContent);
  EXPECT_TRUE(contains(m, "(1 missing, 1 unexpected, 1 mis-shaped keys)")) << m;
  EXPECT_TRUE(contains(m, "missing: out.2.bias [3]")) << m;
  EXPECT_TRUE(contains(m, "unexpected: out.2.b [3]")) << m;
  EXPECT_TRUE(contains(m, "mis-shaped: time_embed.0.weight: checkpoint [128, 16], model [128, 32]")) << m;
}

TEST(PreflightCheckpoint, AFileThatIsNoCheckpointIsAFailedRowNotAnException) {
  test::TempDir dir;
  dir.write("notes.pt", "not a zip");
  const Expansion e = expand_released(dir, {"{path: notes.pt}"});
  const auto rows = checkpoint_checks(e.runs, all_runs(e));
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_FALSE(rows[0].check.ok);
  EXPECT_EQ(rows[0].fault, CheckpointFault::kFile);
  EXPECT_TRUE(contains(rows[0].check.message, "not a torch.save checkpoint")) << rows[0].check.message;
}

TEST(PreflightCheckpoint, PreflightChecksTheFilesOfRunsThatSample) {
  test::TempDir dir;
  write_checkpoint(dir.file("ema.pt"), core::unet_state_shapes(tiny_model()));
  const Expansion e = expand_released(dir, {"{path: ema.pt}"});
  const std::vector<TaskSpec> tasks = plan_tasks(e.runs);
  std::vector<bool> to_run(tasks.size(), true);
  auto checks = preflight(e.runs, tasks, to_run, {}, {});
  ASSERT_FALSE(checks.empty());
  EXPECT_EQ(checks[0].what, "checkpoint");
  EXPECT_TRUE(checks[0].ok) << checks[0].message;
  // Sampling done: the file is not read again.
  for (size_t i = 0; i < tasks.size(); ++i) to_run[i] = tasks[i].kind != "sample";
  checks = preflight(e.runs, tasks, to_run, {}, {});
  for (const auto& c : checks) EXPECT_NE(c.what, "checkpoint");
  EXPECT_TRUE(checkpoint_checks(e.runs, {}).empty());
}
