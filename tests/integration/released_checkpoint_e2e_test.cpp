// Issue 19 end to end on the tiny CPU model: checkpoint files as "released" runs. A checkpoint
// written by `repro train` (and the same weights re-saved by Python's torch.save) sampled and
// evaluated beside the run that trained it: the same samples, the same FID. One written by
// torch.save from the Python replica: dry run, run, report. A wrong digest, a missing file and a
// checkpoint of another model fail before anything launches with the documented exit codes (dry
// run 7; run 3 for the file, 4 for its keys, 2 for a missing file with no pinned digest). The
// run's train.yaml has no data: section. The run id follows the file's bytes, not its path:
// moved (found through REPRO_CHECKPOINTS_DIR) it keeps its results; one byte changed, another run.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/util/strings.h"
#include "tests/support/replica_fixtures.h"
#include "tests/support/test_support.h"
#include "tests/support/tiny_project.h"

using namespace repro;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

using test::repro_cli;

// tiny_project.h's model, diffusion, training (train.method as its `adm` cell: the same run) and
// eval without at_iterations: a released cell samples its checkpoint.iteration.
const char* kBase = R"(base:
  model: {image_size: 8, num_channels: 32, channel_mult: [1, 1], num_res_blocks: 1,
          attention_resolutions: [4], num_head_channels: 32, learn_sigma: true}
  diffusion: {diffusion_steps: 20}
  train: {batch_size: 4, iterations: 2, save_interval: 2, log_interval: 1, method: adm}
  data: {path: data.npz}
  eval: {sampling_steps: [5], num_samples: 6, batch_size: 6, reference: ref.npz,
         metrics: [fid], features: random-inception}
)";

// The tiny model for the replica (make_fixtures.py's --config); `channels` 32 is the experiment's.
test::KV tiny_model(int channels) {
  return {{"image_size", "8"},     {"num_channels", std::to_string(channels)}, {"channel_mult", "[1, 1]"},
          {"num_res_blocks", "1"}, {"attention_resolutions", "[4]"},           {"num_head_channels", "32"},
          {"learn_sigma", "true"}};
}

// An experiment `name` whose axis `source` has the given values (YAML flow maps with a name).
std::string experiment(const std::string& name, const std::vector<std::string>& sources) {
  std::string text = "name: " + name + "\n" + kBase + "matrix:\n  source:\n";
  for (const auto& s : sources) text += "    - " + s + "\n";
  return text;
}

// coreutils' digest of the file: the truth the messages are checked against.
std::string sha256sum(const std::string& path) {
  std::string out;
  EXPECT_EQ(test::run_command("sha256sum " + shell_quote(path), &out), 0) << out;
  return out.substr(0, 64);
}

// The JSON object in a command's output (stderr lines may come first).
json json_in(const std::string& out) {
  const auto start = out.find('{');
  if (start == std::string::npos) {
    ADD_FAILURE() << "no JSON in:\n" << out;
    return json::object();
  }
  return json::parse(out.substr(start));
}

// Cell labels -> run id of a dry run's JSON.
std::map<std::string, std::string> run_ids(const json& plan) {
  std::map<std::string, std::string> ids;
  for (const auto& r : plan["runs"]) ids[r["cell"].get<std::string>()] = r["run_id"].get<std::string>();
  return ids;
}

// kind -> action of the run's tasks in a dry run's JSON (a run from a file has one of each kind).
std::multimap<std::string, std::string> actions_of(const json& plan, const std::string& run_id) {
  std::multimap<std::string, std::string> actions;
  for (const auto& t : plan["tasks"])
    if (t["task_id"].get<std::string>().rfind(run_id + "-", 0) == 0)
      actions.emplace(t["kind"].get<std::string>(), t["action"].get<std::string>());
  return actions;
}

// The failed pre-flight rows of a dry run's JSON.
std::vector<json> failed_checks(const json& plan) {
  std::vector<json> failed;
  for (const auto& c : plan["preflight"])
    if (!c["ok"].get<bool>()) failed.push_back(c);
  return failed;
}

// The FID of each `source` cell in a report's JSON.
std::map<std::string, double> fids(const json& report) {
  std::map<std::string, double> out;
  for (const auto& v : report["values"])
    if (v["metric"] == "fid" && v["mean"].is_number()) out[v["dims"]["source"].get<std::string>()] = v["mean"];
  return out;
}

// The files under `dir` (recursively) whose names end in `suffix`.
std::vector<std::string> files_ending(const fs::path& dir, const std::string& suffix) {
  std::vector<std::string> found;
  if (!fs::exists(dir)) return found;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    const std::string p = e.path().string();
    if (e.is_regular_file() && p.size() >= suffix.size() &&
        p.compare(p.size() - suffix.size(), suffix.size(), suffix) == 0)
      found.push_back(p);
  }
  return found;
}

// The task attempts' logs and events files in the project: a task that was launched has both.
std::vector<std::string> attempts(const std::string& project) {
  auto found = files_ending(project + "/runs", ".log");
  for (auto& f : files_ending(project + "/runs", ".events.jsonl")) found.push_back(std::move(f));
  return found;
}

// How often `what` occurs in `text`.
size_t count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

class ReleasedCheckpointE2e : public ::testing::Test {
 protected:
  void SetUp() override {
    // The tests set REPRO_CHECKPOINTS_DIR themselves (the tasks inherit it); the caller's is put back.
    if (const char* env = std::getenv(kCheckpointsEnv)) saved_env_ = env;
    unsetenv(kCheckpointsEnv);
    ASSERT_EQ(test::run_python("import numpy as np\nrng = np.random.default_rng(0)\n"
                               "np.savez('data.npz', rng.integers(0, 256, (16, 8, 8, 3), dtype=np.uint8))\n"
                               "np.savez('ref.npz', rng.integers(0, 256, (10, 8, 8, 3), dtype=np.uint8))\n",
                               dir_.path()),
              0);
  }

  void TearDown() override {
    if (saved_env_)
      setenv(kCheckpointsEnv, saved_env_->c_str(), 1);
    else
      unsetenv(kCheckpointsEnv);
  }

  // `repro run` of dir/<file> in dir/proj with `extra` options.
  int run(const std::string& file, const std::string& extra, std::string* out) {
    return repro_cli("run " + dir_.file(file) + " --project " + project() + " " + extra, out);
  }
  // The dry run's JSON (and its exit code in *rc).
  json dry_run(const std::string& file, const std::string& extra, int* rc) {
    std::string out;
    *rc = run(file, "--dry-run --json " + extra, &out);
    return json_in(out);
  }
  std::string project() const { return dir_.file("proj"); }

  // A torch.save of the replica's tiny model (random weights) with `channels` base channels, as
  // dir/<name>.
  std::string replica_checkpoint(const std::string& name, int channels) {
    std::string folder = "replica-" + name;
    std::replace(folder.begin(), folder.end(), '/', '_');
    const fs::path out = dir_.path() / folder;
    fs::create_directories(out);
    test::make_fixtures("model " + shell_quote(out.string()) + " --config " +
                        shell_quote(test::kv_json(tiny_model(channels))) + " --seed 5");
    fs::create_directories(fs::path(dir_.file(name)).parent_path());
    fs::copy_file(out / "model.pt", dir_.file(name), fs::copy_options::overwrite_existing);
    return dir_.file(name);
  }

  // tiny_project's run; its EMA checkpoint copied to dir/released and re-saved there by Python's
  // torch.save; src.yaml: the trained cell and a released cell per file.
  void write_source_experiment() {
    std::string out;
    ASSERT_EQ(test::run_tiny_project(dir_, project(), &out), 0) << out;
    const auto trained_ckpts = files_ending(project() + "/runs", "/checkpoints/ema_0.9999_000002.pt");
    ASSERT_EQ(trained_ckpts.size(), 1u);
    fs::create_directories(dir_.file("released"));
    fs::copy_file(trained_ckpts[0], dir_.file("released/ema_0.9999_000002.pt"));
    ASSERT_EQ(test::run_python("import torch\n"
                               "sd = torch.load('released/ema_0.9999_000002.pt')\n"
                               "torch.save(sd, 'released/resaved.pt')\n",
                               dir_.path()),
              0);
    std::ofstream(dir_.file("src.yaml")) << "checkpoints_dir: released\n"
                                         << experiment("src", {"{name: trained, train: {seed: 0}}",
                                                               "{name: released, checkpoint: {path: "
                                                               "ema_0.9999_000002.pt, iteration: 2}}",
                                                               "{name: resaved, checkpoint: {path: resaved.pt, "
                                                               "iteration: 2}}"});
  }

  // After src.yaml ran (`ids`: its dry run's): its files moved and found through the environment
  // are the same runs, every task done; one byte changed (found through --set, before the
  // environment) is another run.
  void expect_ids_follow_the_bytes(const std::map<std::string, std::string>& ids) {
    fs::rename(dir_.file("released"), dir_.file("moved"));
    setenv(kCheckpointsEnv, dir_.file("moved").c_str(), 1);
    int rc = 0;
    const json moved = dry_run("src.yaml", "", &rc);
    EXPECT_EQ(rc, 0) << moved["preflight"].dump();
    EXPECT_EQ(run_ids(moved), ids);
    for (const auto& t : moved["tasks"]) EXPECT_EQ(t["action"], "skip") << t.dump();
    // One byte of the local header's modification time changed: the file still loads.
    fs::create_directories(dir_.file("changed"));
    fs::copy_file(dir_.file("moved/resaved.pt"), dir_.file("changed/resaved.pt"));
    std::string bytes = test::read_text(dir_.file("moved/ema_0.9999_000002.pt"));
    ASSERT_GT(bytes.size(), 10u);
    bytes[10] = static_cast<char>(bytes[10] ^ 1);
    std::ofstream(dir_.file("changed/ema_0.9999_000002.pt"), std::ios::binary) << bytes;
    const json changed = dry_run("src.yaml", "--set checkpoints_dir=" + dir_.file("changed"), &rc);
    EXPECT_EQ(rc, 0) << changed["preflight"].dump();
    auto changed_ids = run_ids(changed);
    EXPECT_NE(changed_ids["source=released"], ids.at("source=released"));
    EXPECT_EQ(changed_ids["source=resaved"], ids.at("source=resaved"));
    EXPECT_EQ(changed_ids["source=trained"], ids.at("source=trained"));
    EXPECT_EQ(actions_of(changed, changed_ids["source=released"]),
              (std::multimap<std::string, std::string>{{"eval", "wait"}, {"sample", "launch"}}));
  }

  static constexpr const char* kCheckpointsEnv = "REPRO_CHECKPOINTS_DIR";
  std::optional<std::string> saved_env_;
  test::TempDir dir_;
};

}  // namespace

// a + e: the trained run's EMA checkpoint as a released file, and the same tensors re-saved by
// Python's torch.save; then the files moved, and one byte changed.
TEST_F(ReleasedCheckpointE2e, TrainedCheckpointSamplesAsItsRunDidAndKeepsItsIdWhenMoved) {
  ASSERT_NO_FATAL_FAILURE(write_source_experiment());
  int rc = 0;
  const json plan = dry_run("src.yaml", "", &rc);
  ASSERT_EQ(rc, 0) << plan["preflight"].dump();
  const auto ids = run_ids(plan);
  ASSERT_EQ(ids.size(), 3u) << plan["preflight"].dump();
  const std::string trained = ids.at("source=trained"), released = ids.at("source=released");
  EXPECT_NE(released, trained);
  EXPECT_NE(released, ids.at("source=resaved"));  // other bytes, another run
  // The trained cell is tiny_project's run, done; the released ones sample and evaluate only.
  EXPECT_EQ(actions_of(plan, trained),
            (std::multimap<std::string, std::string>{{"eval", "skip"}, {"sample", "skip"}, {"train", "skip"}}));
  for (const auto& cell : {"source=released", "source=resaved"})
    EXPECT_EQ(actions_of(plan, ids.at(cell)),
              (std::multimap<std::string, std::string>{{"eval", "wait"}, {"sample", "launch"}}))
        << cell;
  std::string out;
  ASSERT_EQ(run("src.yaml", "--dry-run", &out), 0) << out;
  EXPECT_NE(out.find(released + "  source=released"), std::string::npos) << out;

  ASSERT_EQ(run("src.yaml", "", &out), 0) << out;
  EXPECT_NE(out.find("done 4, already done 3, failed 0"), std::string::npos) << out;
  // The same weights and seed: the same samples, byte for byte, and the same FID.
  const auto trained_samples = files_ending(project() + "/runs/" + trained + "/samples", ".npz");
  const auto released_samples = files_ending(project() + "/runs/" + released + "/samples", ".npz");
  ASSERT_EQ(trained_samples.size(), 1u);
  ASSERT_EQ(released_samples.size(), 1u);
  EXPECT_EQ(test::read_text(released_samples[0]), test::read_text(trained_samples[0]));
  ASSERT_EQ(repro_cli("report src --project " + project() + " --format json", &out), 0) << out;
  const auto fid = fids(json_in(out));
  ASSERT_EQ(fid.size(), 3u) << out;
  EXPECT_EQ(fid.at("released"), fid.at("trained"));
  EXPECT_EQ(fid.at("resaved"), fid.at("trained"));
  ASSERT_EQ(repro_cli("report src --project " + project() + " --format csv", &out), 0) << out;
  EXPECT_NE(out.find("src,results,released,fid,"), std::string::npos) << out;
  EXPECT_NE(out.find("src,results,trained,fid,"), std::string::npos) << out;
  expect_ids_follow_the_bytes(ids);
}

// b: a state dict written by torch.save from the Python replica, a run from it to a report.
TEST_F(ReleasedCheckpointE2e, ReplicaCheckpointRunsToAReport) {
  replica_checkpoint("ckpt/replica.pt", 32);
  std::ofstream(dir_.file("rep.yaml")) << experiment(
      "rep", {"{name: replica, checkpoint: {path: ckpt/replica.pt, iteration: 0, ema: model}}"});
  int rc = 0;
  const json plan = dry_run("rep.yaml", "", &rc);
  ASSERT_EQ(rc, 0) << plan["preflight"].dump();
  const std::string id = run_ids(plan)["source=replica"];
  EXPECT_EQ(actions_of(plan, id), (std::multimap<std::string, std::string>{{"eval", "wait"}, {"sample", "launch"}}));
  std::string out;
  ASSERT_EQ(run("rep.yaml", "", &out), 0) << out;
  EXPECT_NE(out.find("done 2, already done 0, failed 0"), std::string::npos) << out;
  // The run's config as the sample task wrote it: the experiment's model, no checkpoint: or data:.
  const std::string config = test::read_text(project() + "/runs/" + id + "/train.yaml");
  EXPECT_NE(config.find("num_channels: 32"), std::string::npos) << config;
  EXPECT_EQ(config.find("checkpoint"), std::string::npos) << config;
  EXPECT_EQ(config.find("data:"), std::string::npos) << config;  // it trained on no data of ours
  ASSERT_EQ(repro_cli("report rep --project " + project() + " --format json", &out), 0) << out;
  const auto fid = fids(json_in(out));
  ASSERT_EQ(fid.count("replica"), 1u) << out;
  EXPECT_TRUE(std::isfinite(fid.at("replica")) && fid.at("replica") >= 0) << out;
  ASSERT_EQ(run("rep.yaml", "", &out), 0) << out;  // a rerun: nothing to do
  EXPECT_NE(out.find("done 0, already done 2, failed 0"), std::string::npos) << out;
}

// c: a pinned digest the file does not have, and a pinned file that is not there: the dry run's
// pre-flight fails (exit 7) naming the path and both digests; `repro run` exits 3 launching nothing.
TEST_F(ReleasedCheckpointE2e, DigestMismatchAndMissingFileFailBeforeLaunching) {
  const std::string path = replica_checkpoint("ckpt/replica.pt", 32);
  const std::string actual = sha256sum(path);
  const std::string pinned = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";  // SHA-256("abc")
  ASSERT_NE(actual, pinned);
  std::ofstream(dir_.file("pin.yaml")) << experiment(
      "pin", {"{name: released, checkpoint: {path: ckpt/replica.pt, sha256: " + pinned + ", iteration: 2}}"});
  int rc = 0;
  const json plan = dry_run("pin.yaml", "", &rc);
  EXPECT_EQ(rc, 7) << plan["preflight"].dump();
  const std::string id = run_ids(plan)["source=released"];
  const auto failed = failed_checks(plan);
  EXPECT_EQ(failed.size(), 1u) << plan["preflight"].dump();
  if (!failed.empty()) {
    EXPECT_EQ(failed[0]["what"], "checkpoint");
    EXPECT_EQ(failed[0]["path"], path);
    const std::string message = failed[0]["message"];
    EXPECT_NE(message.find(pinned), std::string::npos) << message;
    EXPECT_NE(message.find(actual), std::string::npos) << message;
  }
  std::string out;
  EXPECT_EQ(run("pin.yaml", "--dry-run", &out), 7) << out;
  EXPECT_NE(out.find("FAILED"), std::string::npos) << out;
  EXPECT_NE(out.find(path), std::string::npos) << out;

  EXPECT_EQ(run("pin.yaml", "", &out), 3) << out;
  EXPECT_NE(out.find(path), std::string::npos) << out;
  EXPECT_NE(out.find(actual), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(project() + "/runs/" + id + "/samples"));
  EXPECT_TRUE(attempts(project()).empty());

  // Pinned, and not there: the run is named by the pin; the pre-flight says the file is missing.
  fs::remove(path);
  const json missing = dry_run("pin.yaml", "", &rc);
  EXPECT_EQ(rc, 7) << missing["preflight"].dump();
  EXPECT_EQ(run_ids(missing)["source=released"], id);
  const auto gone = failed_checks(missing);
  EXPECT_EQ(gone.size(), 1u) << missing["preflight"].dump();
  if (!gone.empty()) {
    EXPECT_EQ(gone[0]["what"], "checkpoint");
    EXPECT_EQ(gone[0]["path"], path);
  }
  EXPECT_EQ(run("pin.yaml", "", &out), 3) << out;
  EXPECT_NE(out.find(path), std::string::npos) << out;
  EXPECT_TRUE(attempts(project()).empty());
}

// Not pinned and not there: the run has no name. The dry run plans the other cells and fails the
// pre-flight (exit 7) naming the path; `repro run` stops at expansion, a config error (exit 2).
TEST_F(ReleasedCheckpointE2e, UnpinnedMissingFileFailsTheDryRunAndIsAConfigErrorToRun) {
  const std::string path = dir_.file("ckpt/replica.pt");
  std::ofstream(dir_.file("unpinned.yaml"))
      << experiment("unpinned", {"{name: trained, train: {seed: 0}}",
                                 "{name: released, checkpoint: {path: ckpt/replica.pt, iteration: 2}}"});
  int rc = 0;
  const json plan = dry_run("unpinned.yaml", "", &rc);
  EXPECT_EQ(rc, 7) << plan.dump();
  const auto ids = run_ids(plan);
  ASSERT_EQ(ids.size(), 1u) << plan["runs"].dump();  // the trained cell alone
  ASSERT_EQ(ids.count("source=trained"), 1u);
  for (const auto& t : plan["tasks"])
    EXPECT_EQ(t["task_id"].get<std::string>().rfind(ids.at("source=trained") + "-", 0), 0u) << t.dump();
  const auto failed = failed_checks(plan);
  ASSERT_EQ(failed.size(), 1u) << plan["preflight"].dump();
  EXPECT_EQ(failed[0]["what"], "checkpoint");
  EXPECT_EQ(failed[0]["path"], path);
  const std::string message = failed[0]["message"];
  EXPECT_EQ(message.rfind("missing, and no checkpoint.sha256 is pinned", 0), 0u) << message;
  EXPECT_NE(message.find("source=released"), std::string::npos) << message;
  std::string out;
  EXPECT_EQ(run("unpinned.yaml", "--dry-run", &out), 7) << out;
  EXPECT_NE(out.find("FAILED"), std::string::npos) << out;
  EXPECT_NE(out.find(path), std::string::npos) << out;

  EXPECT_EQ(run("unpinned.yaml", "", &out), 2) << out;
  EXPECT_NE(out.find(path), std::string::npos) << out;
  EXPECT_NE(out.find("sha256"), std::string::npos) << out;
  EXPECT_TRUE(attempts(project()).empty());
}

// d: checkpoints of another model (64 base channels; a renamed key): the dry run lists the
// mismatches (exit 7); `repro run` exits 4 before any sampling.
TEST_F(ReleasedCheckpointE2e, CheckpointOfAnotherModelFailsBeforeSampling) {
  const std::string wide = replica_checkpoint("ckpt/wide.pt", 64);
  const std::string renamed = replica_checkpoint("ckpt/renamed.pt", 32);
  ASSERT_EQ(test::run_python("import torch\nsd = torch.load('ckpt/renamed.pt')\n"
                             "sd['out.2.bias_renamed'] = sd.pop('out.2.bias')\n"
                             "torch.save(sd, 'ckpt/renamed.pt')\n",
                             dir_.path()),
            0);
  std::ofstream(dir_.file("keys.yaml")) << experiment(
      "keys", {"{name: wide, checkpoint: {path: ckpt/wide.pt, iteration: 2}}",
               "{name: renamed, checkpoint: {path: ckpt/renamed.pt, iteration: 2}}"});
  int rc = 0;
  const json plan = dry_run("keys.yaml", "", &rc);
  EXPECT_EQ(rc, 7) << plan["preflight"].dump();
  std::map<std::string, std::string> messages;  // path -> message
  for (const auto& c : failed_checks(plan)) {
    EXPECT_EQ(c["what"], "checkpoint") << c.dump();
    messages[c["path"].get<std::string>()] = c["message"].get<std::string>();
  }
  EXPECT_EQ(messages.size(), 2u) << plan["preflight"].dump();
  // [64, 3, 3, 3] in the file, [32, 3, 3, 3] in the model.
  EXPECT_NE(messages[wide].find("input_blocks.0.0.weight"), std::string::npos) << messages[wide];
  EXPECT_NE(messages[renamed].find("out.2.bias_renamed"), std::string::npos) << messages[renamed];
  EXPECT_GT(count(messages[renamed], "out.2.bias"), count(messages[renamed], "out.2.bias_renamed"))
      << messages[renamed];  // missing too

  std::string out;
  EXPECT_EQ(run("keys.yaml", "", &out), 4) << out;
  EXPECT_NE(out.find("input_blocks.0.0.weight"), std::string::npos) << out;
  EXPECT_TRUE(files_ending(project() + "/runs", ".npz").empty());
  EXPECT_TRUE(attempts(project()).empty());
}
