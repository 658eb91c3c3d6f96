// The plan of every experiment file is pinned: run ids, resolved configs, task ids, kinds, specs,
// dependencies, cells, process counts, early-start files, the task files `repro task` reads and the
// training YAML of each run hash to the digests in plan_digests.txt. They were recorded before the
// task contract became typed; a refactoring that changes any of them changes behaviour.
// Regenerate only for an intended change: REPRO_UPDATE_GOLDEN=1 rewrites the file.
// Run identities hash absolute data paths, so the files are read from a copy at a fixed place
// (kFixedDir): the digests do not depend on where the checkout lies. (They were first recorded in
// the checkout itself before the refactoring, and the refactored code matched them there; then
// re-recorded from the fixed place with that code.) The released checkpoints the files name are
// stand-ins at a fixed place too (stand_in_checkpoints.h): their runs are named by the stand-ins'
// digests and their task files name the stand-ins' paths.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "base/util/sha256.h"
#include "runner/experiment/expand.h"
#include "runner/experiment/experiment_file.h"
#include "runner/orchestrate/orchestrator.h"
#include "runner/plan/task_graph.h"
#include "tests/runner/stand_in_checkpoints.h"
#include "tests/support/test_support.h"

using namespace repro;
using namespace repro::runner;

namespace {

namespace fs = std::filesystem;

// Absolute paths (data.path, the project directory) depend on where the checkout lies.
std::string relocatable(std::string text) {
  const std::string src = test::source_dir();
  for (size_t at = text.find(src); at != std::string::npos; at = text.find(src, at))
    text.replace(at, src.size(), "<src>");
  return text;
}

std::string plan_text(const fs::path& path) {
  const ExperimentFile file = read_experiment_file(path.string());
  const Expansion expansion = expand(file, {test::stand_in_checkpoints("/tmp/repro-plan-digest/checkpoints")});
  const Plan plan = make_plan({file.name, "experiments/" + path.filename().string(), "sha"}, expansion);
  std::ostringstream out;
  for (const auto& r : plan.runs)
    out << r.run_id << ' ' << r.position << ' ' << r.axes.dump() << ' ' << r.config << '\n';
  for (const auto& r : expansion.runs) out << train_yaml(r) << '\n';
  for (const auto& t : plan.tasks) {
    out << t.task_id << ' ' << t.run_id << ' ' << t.kind << ' ' << t.spec << ' ' << t.processes << ' '
        << t.early_start_file;
    for (const auto& d : t.depends_on) out << " d:" << d;
    for (const auto& c : t.cells) out << " c:" << c;
    out << ' ' << task_file_json("/project", t).dump() << '\n';
  }
  return relocatable(out.str());
}

const char* const kFixedDir = "/tmp/repro-plan-digest/experiments";

// The experiment files copied to kFixedDir; returns their paths there.
std::vector<fs::path> fixed_copies() {
  fs::create_directories(kFixedDir);
  std::vector<fs::path> copies;
  for (const auto& entry : fs::directory_iterator(test::source_dir() + "/experiments")) {
    if (entry.path().extension() != ".yaml") continue;
    copies.push_back(fs::path(kFixedDir) / entry.path().filename());
    fs::copy_file(entry.path(), copies.back(), fs::copy_options::overwrite_existing);
  }
  return copies;
}

std::string golden_path() { return test::source_dir() + "/tests/runner/plan_digests.txt"; }

std::map<std::string, std::string> read_golden() {
  std::map<std::string, std::string> digests;
  std::ifstream in(golden_path());
  std::string name, digest;
  while (in >> name >> digest) digests[name] = digest;
  return digests;
}

TEST(PlanDigest, EveryExperimentFilePlansAsRecorded) {
  std::map<std::string, std::string> now;
  for (const auto& path : fixed_copies()) {
    const std::string text = plan_text(path);
    now[path.filename().string()] = sha256_hex(text);
    // REPRO_DUMP_PLAN_DIR: the hashed texts, to diff what changed.
    if (const char* dump = std::getenv("REPRO_DUMP_PLAN_DIR"))
      std::ofstream(fs::path(dump) / (path.filename().string() + ".txt")) << text;
  }
  ASSERT_GE(now.size(), 10u);
  if (std::getenv("REPRO_UPDATE_GOLDEN")) {
    std::ofstream out(golden_path());
    for (const auto& [name, digest] : now) out << name << ' ' << digest << '\n';
    GTEST_SKIP() << "rewrote " << golden_path();
  }
  const auto golden = read_golden();
  EXPECT_EQ(golden.size(), now.size()) << "experiment files added or removed: update " << golden_path();
  for (const auto& [name, digest] : now) {
    const auto it = golden.find(name);
    ASSERT_NE(it, golden.end()) << name << " has no recorded digest";
    EXPECT_EQ(it->second, digest) << name << ": the plan changed";
  }
}

// A model trained in fp16 (use_fp16) or fp32, its eval: section with `eval_extra` ("" or ", key:
// value"). Written at a fixed place: run ids hash the absolute data path. Its tasks; the first
// sample task (sample_task_with).
const char* const kPinDir = "/tmp/repro-plan-digest/sampling-pins";
std::vector<TaskSpec> tasks_with(const std::string& eval_extra, bool use_fp16 = true,
                                 const std::string& sampling_steps = "[10]") {
  const std::string experiment = std::string(R"(name: sampling_pins
base:
  model: {image_size: 8, num_channels: 32, channel_mult: [1, 1], num_res_blocks: 1,
          attention_resolutions: [4], num_head_channels: 32, learn_sigma: true, use_fp16: )") +
                                 (use_fp16 ? "true" : "false") + R"(}
  diffusion: {diffusion_steps: 40}
  train: {batch_size: 4, iterations: 20, save_interval: 10, log_interval: 5, seed: 0}
  data: {path: a.npz}
  eval: {sampling_steps: )" + sampling_steps +
                                 ", num_samples: 64, reference: ref.npz" + eval_extra + "}\n";
  fs::create_directories(kPinDir);
  const fs::path path = fs::path(kPinDir) / "exp.yaml";
  std::ofstream(path) << experiment;
  return plan_tasks(expand(read_experiment_file(path.string())).runs);
}
TaskSpec sample_task_with(const std::string& eval_extra, bool use_fp16 = true) {
  for (auto& t : tasks_with(eval_extra, use_fp16))
    if (t.kind == "sample") return t;
  ADD_FAILURE() << "no sample task";
  return {};
}

}  // namespace

// The sample spec omits precision where it is the model's training precision and to_uint8 where it
// is truncate, so that those tasks keep the ids they had before either existed; other values are
// written out and make other tasks. The texts are written by hand; the ids (the hash of the run id
// and the text) were checked with Python's hashlib.
TEST(PlanDigest, SamplingPrecisionAndUint8ArePinned) {
  const std::string head = R"({"batch_size":64,"checkpoint_step":20,"clip_denoised":true,"ema":"0.9999","eta":0.0,)"
                           R"("num_samples":64,)";
  const std::string tail = R"("sampler":"ancestral","seed":0,"steps":10)";
  const TaskSpec plain = sample_task_with("");
  EXPECT_EQ(plain.spec, head + tail + "}");
  EXPECT_EQ(plain.task_id, plain.run_id + "-sample-faa66504d71c");
  for (const char* same : {", precision: auto", ", precision: fp16", ", to_uint8: truncate"}) {
    const TaskSpec t = sample_task_with(same);
    EXPECT_EQ(t.spec, plain.spec) << same;
    EXPECT_EQ(t.task_id, plain.task_id) << same;
  }
  const TaskSpec fp32 = sample_task_with(", precision: fp32");
  EXPECT_EQ(fp32.spec, head + R"("precision":"fp32",)" + tail + "}");
  EXPECT_EQ(fp32.task_id, plain.run_id + "-sample-d3674d1de894");
  const TaskSpec bf16 = sample_task_with(", precision: bf16");
  EXPECT_EQ(bf16.spec, head + R"("precision":"bf16",)" + tail + "}");
  EXPECT_EQ(bf16.task_id, plain.run_id + "-sample-4d836c2d5ba5");
  const TaskSpec round = sample_task_with(", precision: fp32, to_uint8: round");
  EXPECT_EQ(round.spec, head + R"("precision":"fp32",)" + tail + R"(,"to_uint8":"round"})");
  EXPECT_EQ(round.task_id, plain.run_id + "-sample-7b367f6f837f");
}

// A model trained in fp32 (no use_fp16): precision fp32 is its own and is left out; fp16 is not.
TEST(PlanDigest, SamplingPrecisionResolvesAgainstTheModel) {
  const TaskSpec plain = sample_task_with("", false);
  const TaskSpec fp32 = sample_task_with(", precision: fp32", false);
  EXPECT_EQ(fp32.task_id, plain.task_id);
  EXPECT_EQ(fp32.spec.find("precision"), std::string::npos) << fp32.spec;
  const TaskSpec fp16 = sample_task_with(", precision: fp16", false);
  EXPECT_NE(fp16.spec.find(R"("precision":"fp16")"), std::string::npos) << fp16.spec;
  EXPECT_NE(fp16.task_id, plain.task_id);
}

// Epsilon Scaling, chains from data and exposure tasks: written into the sample spec only where they
// differ from the defaults (lambda 1, from noise, no exposure), so the texts and ids above stay; the
// texts are written by hand, the ids (the hash of the run id and the text) checked with Python's
// hashlib.
TEST(PlanDigest, EpsScaleStartAndExposureArePinned) {
  const std::string head = R"({"batch_size":64,"checkpoint_step":20,"clip_denoised":true,)";
  const std::string tail = R"("num_samples":64,"sampler":"ancestral","seed":0,)";
  const TaskSpec plain = sample_task_with("");
  for (const char* same :
       {", eps_scale: {b: 1}", ", eps_scale: {b: 1.0, k: 0}", ", eps_scale: [{b: 1}]", ", start: {from: noise}"}) {
    const TaskSpec t = sample_task_with(same);
    EXPECT_EQ(t.spec, plain.spec) << same;
    EXPECT_EQ(t.task_id, plain.task_id) << same;
  }
  const TaskSpec es = sample_task_with(", eps_scale: {b: 1.017}");
  EXPECT_EQ(es.spec, head + R"("ema":"0.9999","eps_scale_b":1.017,"eta":0.0,)" + tail + R"("steps":10})");
  EXPECT_EQ(es.task_id, plain.run_id + "-sample-9c78c2f97939");
  const TaskSpec ramp = sample_task_with(", eps_scale: {b: 1, k: 0.001}");
  EXPECT_EQ(ramp.spec, head + R"("ema":"0.9999","eps_scale_k":0.001,"eta":0.0,)" + tail + R"("steps":10})");
  EXPECT_EQ(ramp.task_id, plain.run_id + "-sample-1d12a4ca5ae0");
  // From data: the full 40-step process from K = 7, on the reference batch.
  const std::string data = R"("data":"/tmp/repro-plan-digest/sampling-pins/ref.npz",)";
  const auto from_data = tasks_with(", start: {from: data, t: 7}", true, "[]");
  ASSERT_EQ(from_data.size(), 3u);
  EXPECT_EQ(from_data[1].spec, head + data + R"("ema":"0.9999","eta":0.0,)" + tail + R"("start_t":7,"steps":40})");
  EXPECT_EQ(from_data[1].task_id, plain.run_id + "-sample-3c85898643d6");
  // An exposure task beside the plain sample task (whose id it leaves as it was).
  const auto exposure = tasks_with(", exposure: {num: 16, mode: step}");
  ASSERT_EQ(exposure.size(), 4u);
  EXPECT_EQ(exposure[1].task_id, plain.task_id);
  EXPECT_EQ(exposure[3].spec, head + data + R"("ema":"0.9999","eta":0.0,"exposure_mode":"step","exposure_num":16,)" +
                                  R"("num_samples":16,"sampler":"ancestral","seed":0,"steps":10})");
  EXPECT_EQ(exposure[3].task_id, plain.run_id + "-sample-3cadd0d0bdcf");
  EXPECT_EQ(tasks_with(", exposure: {num: 16}")[3].spec,
            head + data + R"("ema":"0.9999","eta":0.0,"exposure_num":16,)" +
                R"("num_samples":16,"sampler":"ancestral","seed":0,"steps":10})");
}
