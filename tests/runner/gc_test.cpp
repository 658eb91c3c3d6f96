// `repro gc` as a library (runner/gc/gc.h): a project made here (checkpoint files of known sizes,
// store rows through the store API), the files a dry run lists and a real run deletes, written out
// by hand, the bytes summed from what the test wrote, and what must survive: the latest complete
// checkpoint, a pending sample task's checkpoint, a newer checkpoint being written.
#include "runner/gc/gc.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "base/util/errors.h"
#include "base/util/sha256.h"
#include "runner/gc/latest_checkpoint.h"
#include "runner/orchestrate/project_lock.h"
#include "runner/plan/task_spec.h"
#include "store/records.h"
#include "tests/support/test_support.h"

namespace repro::runner {
namespace {

namespace fs = std::filesystem;
using Names = std::vector<std::string>;

std::string train_yaml(const std::string& keep) {
  return "model: {image_size: 8, num_channels: 32, channel_mult: [1, 1], attention_resolutions: [4]}\n"
         "train: {save_interval: 100, iterations: 400, keep: " +
         keep + "}\ndata: {path: a.npz}\n";
}

// A project with run r1: complete checkpoints at 100..400 (EMA 0.9999), and model000500.pt of a
// save in progress. Sample tasks: done at step 100 (EMA), pending at 300 (model).
struct GcProject {
  explicit GcProject(const std::string& keep = "evaluated") {
    fs::create_directories(ckpt);
    for (int64_t k = 100; k <= 400; k += 100) save(k);
    write("model000500.pt", std::string(1500, 'x'));
    put_experiment(store, {"exp", "exp.yaml", std::string(64, 'a')});
    put_run(store, {"r1", "exp", "{}", 0, "{}", run_dir.string()});
    put_task(store, {"r1-train400", "r1", TaskKind::kTrain, spec_text(TrainTaskSpec{train_yaml(keep), "{}", 400, {}})});
    add_sample("r1-sample-a", 100, "0.9999", TaskState::kDone);
    add_sample("r1-sample-b", 300, "model", TaskState::kPending);
  }

  void add_sample(const std::string& id, int64_t step, const std::string& ema, TaskState state) {
    SampleTaskSpec s;
    s.batch_size = 4;
    s.checkpoint_step = step;
    s.ema = ema;
    s.num_samples = 4;
    s.sampler = "ancestral";
    s.steps = 10;
    put_task(store, {id, "r1", TaskKind::kSample, spec_text(s)});
    set_task_state(store, id, state);
  }

  void write(const std::string& name, const std::string& bytes) {
    std::ofstream(ckpt / name, std::ios::binary) << bytes;
    sizes[name] = bytes.size();
  }
  // A file and its .sha256 as the trainer writes them; returns the digest.
  std::string write_checked(const std::string& name, const std::string& bytes) {
    write(name, bytes);
    std::string hex = sha256_hex(bytes);
    write(name + ".sha256", hex + "  " + name + "\n");
    return hex;
  }
  // A complete checkpoint at k as the trainer writes it; `drop` (a JSON pointer, "/rng/train")
  // names a member its state file then lacks.
  void save(int64_t k, const std::string& drop = "") {
    char step[16];
    std::snprintf(step, sizeof(step), "%06lld", static_cast<long long>(k));
    nlohmann::json files;
    const std::string s = step;
    files["model" + s + ".pt"] = write_checked("model" + s + ".pt", std::string(1000, char('a' + k / 100)));
    files["ema_0.9999_" + s + ".pt"] = write_checked("ema_0.9999_" + s + ".pt", std::string(1000, char('k' + k / 100)));
    files["opt" + s + ".pt"] = write_checked("opt" + s + ".pt", std::string(2000, char('u' + k / 100)));
    nlohmann::json state = {{"format", "repro-train-state"},
                            {"version", 1},
                            {"step", k},
                            {"sampler", "uniform"},
                            {"data", "{}"},
                            {"rng", {{"train", "00"}, {"global", "01"}, {"cuda", ""}}},
                            {"world_size", 1},
                            {"rank_rngs", {{{"global", "01"}, {"cuda", ""}}}},
                            {"files", files}};
    if (!drop.empty()) {
      const nlohmann::json::json_pointer ptr(drop);
      state.at(ptr.parent_pointer()).erase(ptr.back());
    }
    write_checked("state" + s + ".json", state.dump(1) + "\n");
  }

  std::set<std::string> on_disk() const {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(ckpt)) names.insert(e.path().filename());
    return names;
  }
  uintmax_t bytes_of(const Names& names) const {
    uintmax_t sum = 0;
    for (const auto& n : names) sum += sizes.at(n);
    return sum;
  }
  GcReport gc(bool dry_run) {
    GcOptions o;
    o.project_dir = project.string();
    o.dry_run = dry_run;
    return collect_garbage(store, gc_run_ids(store, "exp"), o);
  }

  test::TempDir dir;
  fs::path project = dir.path() / "project";
  fs::path run_dir = project / "runs" / "r1";
  fs::path ckpt = run_dir / "checkpoints";
  Store store{(fs::create_directories(project), (project / "repro.db").string())};
  std::map<std::string, uintmax_t> sizes;
};

// Each name with its .sha256 after it.
Names with_checksums(const Names& names) {
  Names out;
  for (const auto& n : names) {
    out.push_back(n);
    out.push_back(n + ".sha256");
  }
  return out;
}

Names paths_of(const GcRun& run) {
  Names out;
  for (const auto& f : run.files) out.push_back(f.path.substr(std::string("checkpoints/").size()));
  return out;
}

// Latest 400: the state and optimizer files of 100..300 and the weights of 200 (nobody samples it).
const Names kPrunedAt400 = with_checksums({"state000100.json", "state000200.json", "state000300.json", "opt000100.pt",
                                           "opt000200.pt", "opt000300.pt", "ema_0.9999_000200.pt", "model000200.pt"});

TEST(Gc, DryRunListsTheExactFilesAndBytesAndDeletesNothing) {
  GcProject p;
  const auto before = p.on_disk();
  const GcReport r = p.gc(true);
  ASSERT_EQ(r.runs.size(), 1u);
  EXPECT_EQ(r.runs[0].latest, 400);
  EXPECT_EQ(r.runs[0].keep, "evaluated");
  EXPECT_EQ(r.runs[0].model_steps, (std::vector<int64_t>{100, 300, 400}));
  EXPECT_EQ(paths_of(r.runs[0]), kPrunedAt400);
  EXPECT_EQ(r.files, kPrunedAt400.size());
  EXPECT_EQ(r.bytes, p.bytes_of(kPrunedAt400));
  EXPECT_EQ(r.bytes, r.runs[0].bytes);
  EXPECT_EQ(p.on_disk(), before);
}

TEST(Gc, DeletesExactlyWhatThePolicyDoesNotKeepAndTheRunStaysResumable) {
  GcProject p;
  const auto before = p.on_disk();
  const GcReport r = p.gc(false);
  EXPECT_EQ(r.bytes, p.bytes_of(kPrunedAt400));
  std::set<std::string> want = before;
  for (const auto& n : kPrunedAt400) want.erase(n);
  EXPECT_EQ(p.on_disk(), want);
  // The pending sample task's checkpoint, the done one's, the latest and the save in progress.
  for (const char* kept :
       {"model000300.pt", "ema_0.9999_000100.pt", "opt000400.pt", "state000400.json", "model000500.pt"})
    EXPECT_TRUE(want.count(kept)) << kept;
  EXPECT_EQ(latest_complete_checkpoint(p.ckpt.string()), 400);
  EXPECT_EQ(p.gc(false).files, 0u);  // nothing left to do
}

TEST(Gc, ABrokenLatestCheckpointMovesTheLatestBackAndDeletesLess) {
  GcProject p;
  p.write("opt000400.pt", std::string(2001, 'z'));  // no longer its recorded SHA-256
  std::vector<std::string> skipped;
  EXPECT_EQ(latest_complete_checkpoint(p.ckpt.string(), &skipped), 300);
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_NE(skipped[0].find("opt000400.pt does not match its SHA-256"), std::string::npos) << skipped[0];
  const GcReport r = p.gc(false);
  const Names want = with_checksums({"state000100.json", "state000200.json", "opt000100.pt", "opt000200.pt",
                                     "ema_0.9999_000200.pt", "model000200.pt"});
  EXPECT_EQ(paths_of(r.runs[0]), want);
  EXPECT_TRUE(fs::exists(p.ckpt / "state000400.json"));  // after the latest: not gc's to judge
  EXPECT_EQ(latest_complete_checkpoint(p.ckpt.string()), 300);
}

TEST(Gc, AStateFileThatDoesNotMatchItsChecksumIsNotComplete) {
  GcProject p;
  std::ofstream(p.ckpt / "state000400.json", std::ios::app) << " ";
  std::vector<std::string> skipped;
  EXPECT_EQ(latest_complete_checkpoint(p.ckpt.string(), &skipped), 300);
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_NE(skipped[0].find("state000400.json does not match its SHA-256"), std::string::npos) << skipped[0];
  EXPECT_EQ(latest_complete_checkpoint((p.dir.path() / "none").string()), std::nullopt);
}

// A resume needs the sampler, data and RNG states too (base/train/state_file.h): a newest state
// file without rng.train is not what a resume reads, so gc must not take it as the latest and
// delete the optimizer and state of 300, the checkpoint the resume falls back to.
TEST(Gc, AStateFileMissingAMemberAResumeNeedsIsNotTheLatest) {
  for (const char* member : {"/rng/train", "/sampler", "/rank_rngs/0/global"}) {
    GcProject p;
    p.save(400, member);
    std::vector<std::string> skipped;
    EXPECT_EQ(latest_complete_checkpoint(p.ckpt.string(), &skipped), 300) << member;
    ASSERT_EQ(skipped.size(), 1u) << member;
    EXPECT_NE(skipped[0].find("state000400.json"), std::string::npos) << skipped[0];
    const GcReport r = p.gc(false);
    EXPECT_EQ(r.runs[0].latest, 300) << member;
    for (const char* kept : {"opt000300.pt", "state000300.json", "model000300.pt", "state000400.json"})
      EXPECT_TRUE(fs::exists(p.ckpt / kept)) << member << ": " << kept;
    EXPECT_FALSE(fs::exists(p.ckpt / "opt000200.pt")) << member;  // gc still did its work below 300
  }
}

TEST(Gc, AListedFileNamedOutsideTheFolderIsNotComplete) {
  GcProject p;
  p.write("../escape.pt", "x");
  std::ifstream in(p.ckpt / "state000400.json");
  nlohmann::json state = nlohmann::json::parse(in);
  state["files"]["../escape.pt"] = sha256_hex("x");
  p.write_checked("state000400.json", state.dump(1) + "\n");
  std::vector<std::string> skipped;
  EXPECT_EQ(latest_complete_checkpoint(p.ckpt.string(), &skipped), 300);
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_NE(skipped[0].find("bad entry '../escape.pt'"), std::string::npos) << skipped[0];
}

// Hostile YAML in a train spec's config (the store is not trusted): the bounds guard every reader
// uses refuses it quickly, and gc leaves the run as it is with a note naming the task.
TEST(Gc, AHostileTrainConfigInTheStoreIsANoteNotACrash) {
  std::string laughs = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (char c = 'b'; c <= 'i'; ++c) {
    laughs += std::string(1, c) + ": &" + c + " [";
    for (int i = 0; i < 9; ++i) laughs += std::string(i ? ", " : "") + "*" + static_cast<char>(c - 1);
    laughs += "]\n";
  }
  const std::map<std::string, std::string> hostile = {
      {"expands past the limit of", train_yaml("evaluated") + laughs},
      {"a node contains an alias to itself", train_yaml("evaluated") + "loop: &x [*x]\n"},
      {"deeper than 100 levels",
       train_yaml("evaluated") + "deep: " + std::string(200, '[') + std::string(200, ']') + "\n"}};
  for (const auto& [want, config] : hostile) {
    GcProject p;
    put_task(p.store, {"r1-train500", "r1", TaskKind::kTrain, spec_text(TrainTaskSpec{config, "{}", 500, {}})});
    const auto before = p.on_disk();
    const auto start = std::chrono::steady_clock::now();
    const GcReport r = p.gc(false);
    EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(), 5.0) << want;
    EXPECT_EQ(r.files, 0u) << want;
    ASSERT_EQ(r.runs[0].notes.size(), 1u) << want;
    const std::string& note = r.runs[0].notes[0];
    EXPECT_NE(note.find("task r1-train500 spec.config:"), std::string::npos) << note;
    EXPECT_NE(note.find(want), std::string::npos) << note;
    EXPECT_EQ(p.on_disk(), before) << want;
  }
}

TEST(Gc, KeepAllDeletesNothing) {
  GcProject p("all");
  const auto before = p.on_disk();
  const GcReport r = p.gc(false);
  EXPECT_EQ(r.runs[0].keep, "all");
  EXPECT_EQ(r.files, 0u);
  EXPECT_EQ(p.on_disk(), before);
}

TEST(Gc, RefusedWhileTheProjectIsLockedButADryRunGoes) {
  GcProject p;
  const auto before = p.on_disk();
  ProjectLock held(p.project.string());
  const std::string m = test::error_message([&] { p.gc(false); });
  EXPECT_NE(m.find("repro.lock"), std::string::npos) << m;
  EXPECT_NE(m.find("`repro run`"), std::string::npos) << m;
  EXPECT_THROW(p.gc(false), IoError);
  EXPECT_EQ(p.gc(true).files, kPrunedAt400.size());
  EXPECT_EQ(p.on_disk(), before);
}

TEST(Gc, ARunWhoseSpecsCannotBeReadIsLeftAsItIs) {
  GcProject p;
  put_task(p.store, {"r1-sample-bad", "r1", TaskKind::kSample, R"({"checkpoint_step":"x"})"});
  const auto before = p.on_disk();
  const GcReport r = p.gc(false);
  EXPECT_EQ(r.files, 0u);
  ASSERT_FALSE(r.runs[0].notes.empty());
  EXPECT_NE(r.runs[0].notes[0].find("r1-sample-bad"), std::string::npos) << r.runs[0].notes[0];
  EXPECT_EQ(p.on_disk(), before);
}

TEST(Gc, AnUnknownExperimentIsAConfigError) {
  GcProject p;
  EXPECT_THROW(gc_run_ids(p.store, "nope"), ConfigError);
  EXPECT_EQ(gc_run_ids(p.store, ""), (std::vector<std::string>{"r1"}));
}

}  // namespace
}  // namespace repro::runner
