// Experiment files: the matrix in declared order, composition base <- axes <- overrides <- --set,
// exclusions and inclusions, --only, strict errors with file:line and the run's labels, and the
// identity that names runs (stable under cosmetic changes, sensitive to real ones), and the slurm:
// section (strict, under the command line's options, outside every id).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include "base/util/errors.h"
#include "base/util/sha256.h"
#include "config/train_identity.h"
#include "runner/experiment/expand.h"
#include "runner/plan/task_graph.h"
#include "tests/runner/stand_in_checkpoints.h"
#include "tests/support/test_support.h"

using namespace repro;
using namespace repro::runner;

namespace {

const char* kBase = R"(name: demo
description: ADM vs ADM-IP on two toy datasets
base:
  model: {image_size: 8, num_channels: 32, channel_mult: [1, 1], num_res_blocks: 1,
          attention_resolutions: [4], num_head_channels: 32, learn_sigma: true}
  diffusion: {diffusion_steps: 40}
  train: {batch_size: 4, iterations: 20, save_interval: 10, log_interval: 5, seed: 0}
  data: {path: a.npz}
  eval: {at_iterations: [10, 20], sampling_steps: [10, 20], num_samples: 64, reference: ref.npz}
matrix:
  dataset: [a, b]
  method:
    - {name: adm, train: {method: adm}}
    - {name: adm-ip, train: {method: adm-ip, gamma: 0.1}}
overrides:
  dataset.a: {data: {path: a.npz}}
  dataset.b: {data: {path: b.npz}, train: {batch_size: 8}}
)";

std::string write(const test::TempDir& dir, const std::string& text, const std::string& name = "exp.yaml") {
  return dir.write(name, text);
}

}  // namespace

TEST(Expand, ProductInDeclaredOrderWithComposedConfigs) {
  test::TempDir dir;
  auto f = read_experiment_file(write(dir, kBase));
  EXPECT_EQ(f.name, "demo");
  auto e = expand(f);
  ASSERT_EQ(e.runs.size(), 4u);
  const std::vector<std::string> want = {"dataset=a method=adm", "dataset=a method=adm-ip", "dataset=b method=adm",
                                         "dataset=b method=adm-ip"};
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(e.runs[i].label_string(), want[i]);
  const auto& b_ip = e.runs[3].train;
  EXPECT_EQ(b_ip.train.method, "adm-ip");
  EXPECT_DOUBLE_EQ(b_ip.train.gamma, 0.1);
  EXPECT_EQ(b_ip.train.batch_size, 8);             // from the override
  EXPECT_EQ(e.runs[1].train.train.batch_size, 4);  // from base
  EXPECT_EQ(b_ip.data.path, dir.file("b.npz"));    // relative to the experiment file
  ASSERT_TRUE(e.runs[0].eval.has_value());
  EXPECT_EQ(e.runs[0].eval->reference, dir.file("ref.npz"));
  // Four different trainings, four run ids.
  std::set<std::string> ids;
  for (const auto& r : e.runs) ids.insert(r.run_id);
  EXPECT_EQ(ids.size(), 4u);
}

TEST(Expand, SetOnlyExcludeAndInclude) {
  test::TempDir dir;
  auto f = read_experiment_file(
      write(dir, std::string(kBase) + "exclude:\n  - {when: {dataset: b, method: adm}, reason: not in the paper}\n"));
  auto e = expand(f, {"train.iterations=30", "eval.num_samples=128"});
  ASSERT_EQ(e.runs.size(), 3u);
  ASSERT_EQ(e.excluded.size(), 1u);
  EXPECT_EQ(e.excluded[0].first, "dataset=b method=adm");
  EXPECT_EQ(e.excluded[0].second, "not in the paper");
  EXPECT_EQ(e.runs[0].train.train.iterations, 30);
  EXPECT_EQ(e.runs[0].eval->num_samples, 128);
  auto only = expand(f, {}, {"method=adm-ip"});
  ASSERT_EQ(only.runs.size(), 2u);
  EXPECT_EQ(only.runs[1].label_string(), "dataset=b method=adm-ip");
  EXPECT_EQ(expand(f, {}, {"dataset=a,b", "method=adm"}).runs.size(), 1u);  // b/adm stays excluded
  // include brings an excluded cell back.
  auto g = read_experiment_file(write(dir, std::string(kBase) + "exclude:\n  - {when: {dataset: b}, reason: later}\n"
                                                                "include:\n  - {dataset: b, method: adm-ip}\n"));
  auto gi = expand(g);
  ASSERT_EQ(gi.runs.size(), 3u);
  EXPECT_EQ(gi.runs[2].label_string(), "dataset=b method=adm-ip");
}

// only: keeps the cells matching any entry (an entry naming some axes takes every value of the
// others), in the product's order whatever the entries' order; exclude removes from them, include
// adds back, --only filters last.
TEST(Expand, OnlyKeepsTheCellsItNamesInProductOrder) {
  test::TempDir dir;
  const std::string seeds = "seeds: [0, 1]\n";
  auto f = read_experiment_file(
      write(dir, std::string(kBase) + seeds + "only:\n  - {dataset: b, method: adm-ip}\n  - {dataset: a}\n"));
  ASSERT_EQ(f.only.size(), 2u);
  auto e = expand(f);
  std::vector<std::string> got;
  for (const auto& r : e.runs) got.push_back(r.label_string());
  EXPECT_EQ(got, (std::vector<std::string>{"dataset=a method=adm seed=0", "dataset=a method=adm seed=1",
                                           "dataset=a method=adm-ip seed=0", "dataset=a method=adm-ip seed=1",
                                           "dataset=b method=adm-ip seed=0", "dataset=b method=adm-ip seed=1"}));
  EXPECT_TRUE(e.excluded.empty());  // cells outside only: are not in the matrix, not excluded ones
  // The same cells and run ids as the full product's.
  auto all = expand(read_experiment_file(write(dir, std::string(kBase) + seeds, "all.yaml")));
  for (const auto& r : e.runs) {
    bool found = false;
    for (const auto& a : all.runs) found |= a.label_string() == r.label_string() && a.run_id == r.run_id;
    EXPECT_TRUE(found) << r.label_string();
  }
  // exclude removes from the selection (and lists what it removed), include adds back at the end,
  // --only filters what is left.
  auto g = read_experiment_file(write(dir, std::string(kBase) + seeds +
                                               "only:\n  - {dataset: a}\n"
                                               "exclude:\n  - {when: {seed: \"1\"}, reason: one seed for now}\n"
                                               "include:\n  - {dataset: b, method: adm, seed: \"1\"}\n"));
  auto ge = expand(g);
  got.clear();
  for (const auto& r : ge.runs) got.push_back(r.label_string());
  EXPECT_EQ(got, (std::vector<std::string>{"dataset=a method=adm seed=0", "dataset=a method=adm-ip seed=0",
                                           "dataset=b method=adm seed=1"}));
  ASSERT_EQ(ge.excluded.size(), 2u);
  EXPECT_EQ(ge.excluded[0].first, "dataset=a method=adm seed=1");
  EXPECT_EQ(ge.excluded[1].second, "one seed for now");
  EXPECT_EQ(expand(g, {}, {"method=adm"}).runs.size(), 2u);
  // Full label sets: the form of table3.yaml, the same runs as excluding every cell and including them.
  const std::string cells = "  - {dataset: b, method: adm}\n  - {dataset: a, method: adm-ip}\n";
  auto only = expand(read_experiment_file(write(dir, std::string(kBase) + "only:\n" + cells, "only.yaml")));
  auto old = expand(read_experiment_file(
      write(dir, std::string(kBase) + "exclude:\n  - {when: {}, reason: two cells}\ninclude:\n" + cells, "old.yaml")));
  ASSERT_EQ(only.runs.size(), 2u);
  ASSERT_EQ(old.runs.size(), 2u);
  // Product order for only:, the include list's order for include:.
  EXPECT_EQ(only.runs[0].run_id, old.runs[1].run_id);
  EXPECT_EQ(only.runs[1].run_id, old.runs[0].run_id);
}

TEST(Expand, OnlyErrorsSayWhereAndWhat) {
  test::TempDir dir;
  auto err = [&](const std::string& tail) {
    return test::error_message([&] { expand(read_experiment_file(write(dir, std::string(kBase) + tail))); });
  };
  // An unknown axis or label: file:line:column of the key or value, key path, expected and got.
  const std::string entry_line = std::to_string(std::count(kBase, kBase + std::strlen(kBase), '\n') + 2);
  std::string m = err("only:\n  - {size: a}\n");
  EXPECT_NE(m.find("exp.yaml:" + entry_line +
                   ":6: key 'only[0].size': no axis named 'size' in matrix (axes: dataset, method)"),
            std::string::npos)
      << m;
  m = err("only:\n  - {dataset: a}\n  - {method: adm, dataset: z}\n");
  EXPECT_NE(m.find("key 'only[1].dataset': axis dataset has no value 'z' (values: a, b)"), std::string::npos) << m;
  m = err("only:\n  - {dataset: [a, b]}\n");
  EXPECT_NE(m.find("only[0].dataset': expected a scalar"), std::string::npos) << m;
  // Not a list of non-empty mappings.
  m = err("only: {dataset: a}\n");
  EXPECT_NE(m.find("key 'only': expected a non-empty list"), std::string::npos) << m;
  m = err("only: []\n");
  EXPECT_NE(m.find("key 'only': expected a non-empty list"), std::string::npos) << m;
  m = err("only:\n  - a\n");
  EXPECT_NE(m.find("key 'only[0]': expected a mapping of axis: label"), std::string::npos) << m;
  m = err("only:\n  - {}\n");
  EXPECT_NE(m.find("key 'only[0]': expected at least one axis: label"), std::string::npos) << m;
  // An entry that selects nothing new.
  m = err("only:\n  - {dataset: a}\n  - {dataset: a}\n");
  EXPECT_NE(m.find("key 'only[1]': the same cells as only[0]"), std::string::npos) << m;
  m = err("only:\n  - {dataset: a}\n  - {method: adm, dataset: a}\n");
  EXPECT_NE(m.find("key 'only[1]': inside only[0]"), std::string::npos) << m;
  m = err("only:\n  - {method: adm, dataset: a}\n  - {dataset: a}\n");
  EXPECT_NE(m.find("key 'only[1]': holds only[0]"), std::string::npos) << m;
  // An entry whose every cell is excluded contradicts the exclusion.
  m = err("only:\n  - {dataset: a}\n  - {dataset: b}\nexclude:\n  - {when: {dataset: b}, reason: later}\n");
  EXPECT_NE(m.find("key 'only[1]': selects no cell: every cell it names is excluded (exclude at "), std::string::npos)
      << m;
  EXPECT_NE(m.find(": later)"), std::string::npos) << m;
  // ... unless include brings one back.
  EXPECT_EQ(err("only:\n  - {dataset: b}\nexclude:\n  - {when: {dataset: b}, reason: later}\n"
                "include:\n  - {dataset: b, method: adm}\n"),
            "");
}

// expand() reads each distinct config section once and names runs from their identity's members;
// every run of every experiment file (and runs with --set, duplicate keys and a base-less matrix)
// reads as parse_train_yaml reads its whole training file, and has that file's run id.
TEST(Expand, SectionByRunReadingIsTheWholeFilesReading) {
  namespace fs = std::filesystem;
  test::TempDir dir;
  std::vector<std::pair<std::string, std::vector<std::string>>> files;  // (path, --set)
  for (const auto& entry : fs::directory_iterator(test::source_dir() + "/experiments"))
    if (entry.path().extension() == ".yaml")
      files.push_back({entry.path().string(), {test::stand_in_checkpoints_set()}});
  files.push_back({write(dir, kBase), {"train.lr=3.0e-4", "model.dropout=0.2", "data.path=c.npz"}});
  std::string dup = kBase;
  dup.replace(dup.find("batch_size: 4,"), 14, "batch_size: 4, batch_size: 6,");
  files.push_back({write(dir, dup, "dup.yaml"), {}});
  for (const auto& [path, sets] : files) {
    SCOPED_TRACE(path);
    const std::string base_dir = fs::absolute(path).parent_path().lexically_normal().string() + "/";
    for (const auto& run : expand(read_experiment_file(path), sets).runs) {
      const auto whole =
          config::parse_train_yaml(to_yaml(without(without(run.config, "eval"), "checkpoint")), path, base_dir);
      if (run.checkpoint) {  // named by its file, not by a training (config/checkpoint_source.h)
        EXPECT_EQ(config::released_identity(whole, *run.checkpoint).dump(), run.identity_json) << run.label_string();
        continue;
      }
      EXPECT_EQ(config::train_identity(whole, whole.train.planned_world_size()).dump(), run.identity_json)
          << run.label_string();
      EXPECT_EQ(config::run_id(config::train_identity(whole, whole.train.planned_world_size())), run.run_id)
          << run.label_string();
      EXPECT_EQ(whole.train.iterations, run.train.train.iterations);
      EXPECT_EQ(whole.train.save_interval, run.train.train.save_interval);
      EXPECT_EQ(whole.train.log_interval, run.train.train.log_interval);
      EXPECT_EQ(whole.diffusion.learn_sigma, run.train.diffusion.learn_sigma);
      EXPECT_EQ(whole.data.path, run.train.data.path);
      // The identity's members' dumps make its dump.
      const auto& f = run.train;
      EXPECT_EQ(
          config::identity_dump(config::data_identity(f.data).dump(), config::diffusion_identity(f.diffusion).dump(),
                                config::model_identity(f.model).dump(),
                                config::train_section_identity(f.train, whole.train.planned_world_size()).dump()),
          run.identity_json);
    }
  }
  // A key twice in a section: the last one, as yaml-cpp's tree of the whole file has it.
  EXPECT_EQ(expand(read_experiment_file(dir.file("dup.yaml"))).runs[0].train.train.batch_size, 6);
}

// A sample task names the checkpoint file the trainer writes for it (docs/checkpoints.md), so
// that it can start as soon as that file exists; the process count reaches the train task.
TEST(TaskGraph, SampleTasksNameTheirCheckpointFileAndTrainTasksTheirProcesses) {
  test::TempDir dir;
  auto f = read_experiment_file(write(dir, kBase));
  for (const auto& [sets, ckpt10] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{}, "checkpoints/ema_0.9999_000010.pt"},
           {{"train.ema_rate=[0.999]", "eval.ema=\"0.999\""}, "checkpoints/ema_0.999_000010.pt"},
           {{"eval.ema=model", "train.world_size=3"}, "checkpoints/model000010.pt"}}) {
    std::set<std::string> files;
    for (const auto& t : plan_tasks(expand(f, sets).runs)) {
      if (t.kind == "sample") files.insert(t.early_start_file);
      if (t.kind != "sample") EXPECT_EQ(t.early_start_file, "");
      EXPECT_EQ(t.processes, t.kind == "train" && sets.size() == 2 && sets[1] == "train.world_size=3" ? 3 : 1);
    }
    std::string ckpt20 = ckpt10;
    ckpt20.replace(ckpt20.find("000010"), 6, "000020");
    EXPECT_EQ(files, (std::set<std::string>{ckpt10, ckpt20}));
  }
}

// Task ids hash nlohmann's compact dumps of {"run", "sample"} and {"eval", "run", "sample"}; the
// task graph writes those texts, and the specs, out from the members' dumps.
TEST(TaskGraph, TaskIdsHashTheirSpecs) {
  test::TempDir dir;
  auto f = read_experiment_file(write(dir, std::string(kBase) + "seeds: [0, 7]\n"));
  for (const auto& sets : std::vector<std::vector<std::string>>{
           {}, {"eval.sampler=ddim", "eval.eta=[0.0, 0.5, 1.0e-3]"}, {"eval.ema=model", "eval.metrics=[is]"}}) {
    const auto tasks = plan_tasks(expand(f, sets).runs);
    std::map<std::string, const TaskSpec*> by_id;
    for (const auto& t : tasks) by_id[t.task_id] = &t;
    for (const auto& t : tasks) {
      EXPECT_EQ(nlohmann::json::parse(t.spec).dump(), t.spec);  // the compact dump, as written out
      if (t.kind == "sample") {
        const nlohmann::json hashed = {{"run", t.run_id}, {"sample", nlohmann::json::parse(t.spec)}};
        EXPECT_EQ(t.task_id, t.run_id + "-sample-" + sha256_hex(hashed.dump()).substr(0, 12));
      } else if (t.kind == "eval") {
        const TaskSpec& sample = *by_id.at(t.depends_on.at(0));
        const nlohmann::json hashed = {
            {"eval", nlohmann::json::parse(t.spec)}, {"run", t.run_id}, {"sample", nlohmann::json::parse(sample.spec)}};
        EXPECT_EQ(t.task_id, t.run_id + "-eval-" + sha256_hex(hashed.dump()).substr(0, 12));
      }
    }
  }
}

TEST(Expand, IdentityIgnoresCosmeticsAndLengthButNotTheMethod) {
  test::TempDir dir;
  auto f = read_experiment_file(write(dir, kBase));
  const auto base = expand(f).runs[1].run_id;
  EXPECT_EQ(expand(f, {"train.log_interval=1", "train.save_interval=5", "train.iterations=40"}).runs[1].run_id, base);
  EXPECT_NE(expand(f, {"train.gamma=0.2"}).runs[1].run_id, base);
  EXPECT_NE(expand(f, {"train.seed=1"}).runs[1].run_id, base);
  EXPECT_NE(expand(f, {"model.dropout=0.1"}).runs[1].run_id, base);
  // The same file read twice names its runs the same.
  EXPECT_EQ(expand(read_experiment_file(f.path)).runs[1].run_id, base);
}

// A run's config shares the file's values (a light tree, not a yaml-cpp tree per run): its
// errors still give the line of the offending value, in base or in an axis value.
TEST(Expand, ErrorsGiveTheLineOfTheValueInTheFile) {
  test::TempDir dir;
  auto err = [&](const std::string& text) {
    return test::error_message([&] { expand(read_experiment_file(write(dir, text))); });
  };
  std::string m = err(std::string(kBase).replace(std::string(kBase).find("seed: 0"), 7, "sed: 0"));
  EXPECT_NE(m.find("exp.yaml (run dataset=a method=adm):7: key 'train.sed': unknown key"), std::string::npos) << m;
  m = err(std::string(kBase).replace(std::string(kBase).find("gamma: 0.1"), 10, "gamma: x"));
  EXPECT_NE(m.find("exp.yaml (run dataset=a method=adm-ip):14: key 'train.gamma': expected a number, got 'x'"),
            std::string::npos)
      << m;
  m = err(std::string(kBase).replace(std::string(kBase).find("num_samples: 64"), 15, "num_samples: many"));
  EXPECT_NE(m.find("exp.yaml (run dataset=a method=adm):9: key 'eval.num_samples'"), std::string::npos) << m;
}

TEST(Expand, ErrorsSayWhereAndWhat) {
  test::TempDir dir;
  auto err = [&](const std::string& text, const std::vector<std::string>& sets = {},
                 const std::vector<std::string>& only = {}) {
    return test::error_message([&] { expand(read_experiment_file(write(dir, text)), sets, only); });
  };
  // An unknown key: file, line and key path.
  std::string m = err(std::string(kBase).replace(std::string(kBase).find("seed: 0"), 7, "sed: 0"));
  EXPECT_NE(m.find("exp.yaml"), std::string::npos) << m;
  EXPECT_NE(m.find("train.sed"), std::string::npos) << m;
  // A bad value in one cell names the cell.
  m = err(kBase, {"train.gamma=-1"});
  EXPECT_NE(m.find("run dataset=a method=adm)"), std::string::npos) << m;
  EXPECT_NE(m.find("train.gamma"), std::string::npos) << m;
  m = err(kBase, {}, {"dataset=c"});
  EXPECT_NE(m.find("no value 'c'"), std::string::npos) << m;
  m = err(kBase, {}, {"size=a"});
  EXPECT_NE(m.find("no axis 'size'"), std::string::npos) << m;
  m = err(std::string(kBase) + "exclude:\n  - {when: {dataset: z}, reason: x}\n");
  EXPECT_NE(m.find("exclude[0].when.dataset"), std::string::npos) << m;
  m = err(std::string(kBase) + "exclude:\n  - {when: {dataset: a}}\n");
  EXPECT_NE(m.find("reason"), std::string::npos) << m;
  // An axis value that sets nothing, and two cells with one config.
  m = err(std::string(kBase) + "  dataset.c: {}\n");
  EXPECT_NE(m.find("overrides.dataset.c"), std::string::npos) << m;
  std::string same = kBase;
  same.replace(same.find("b.npz}, train: {batch_size: 8}"), 30, "a.npz}");
  m = err(same);
  EXPECT_NE(m.find("same config"), std::string::npos) << m;
  // A checkpoint that will not exist.
  m = err(kBase, {"eval.at_iterations=[15]"});
  EXPECT_NE(m.find("eval.at_iterations"), std::string::npos) << m;
  EXPECT_NE(m.find("save_interval"), std::string::npos) << m;
  m = err(kBase, {"eval.metrics=[fid, kid2]"});
  EXPECT_NE(m.find("eval.metrics"), std::string::npos) << m;
  m = err(kBase, {"eval.ema=0.5"});
  EXPECT_NE(m.find("ema_rate"), std::string::npos) << m;
  m = err(std::string(kBase).replace(0, 10, "name: bad name"));
  EXPECT_NE(m.find("name"), std::string::npos) << m;
}

TEST(Expand, CellsWithoutABaseDoNotLeakIntoEachOther) {
  test::TempDir dir;
  auto f = read_experiment_file(write(dir, R"(name: nobase
matrix:
  method:
    - {name: ip, model: {image_size: 8, num_channels: 32, channel_mult: [1, 1], attention_resolutions: [4]},
       data: {path: a.npz}, train: {method: adm-ip, gamma: 0.3, batch_size: 4}}
    - {name: adm, model: {image_size: 8, num_channels: 32, channel_mult: [1, 1], attention_resolutions: [4]},
       data: {path: a.npz}, train: {method: adm}}
)"));
  auto e = expand(f);
  ASSERT_EQ(e.runs.size(), 2u);
  EXPECT_DOUBLE_EQ(e.runs[0].train.train.gamma, 0.3);
  EXPECT_DOUBLE_EQ(e.runs[1].train.train.gamma, 0.1);  // the default, not the first cell's
  EXPECT_EQ(e.runs[1].train.train.batch_size, 128);
  EXPECT_EQ(expand(f).runs[1].run_id, e.runs[1].run_id);  // the file's nodes were not rewritten
}

TEST(Expand, CellsSharingARunNeedItsCheckpoints) {
  test::TempDir dir;
  std::string text = R"(name: share
base:
  model: {image_size: 8, num_channels: 32, channel_mult: [1, 1], attention_resolutions: [4]}
  train: {batch_size: 4, save_interval: 10}
  data: {path: a.npz}
  eval: {sampling_steps: [5], num_samples: 8, reference: ref.npz}
matrix:
  length:
    key: train.iterations
    values: [ITERS, 30]
)";
  auto with = [&](const std::string& iters) {
    std::string t = text;
    t.replace(t.find("ITERS"), 5, iters);
    return read_experiment_file(write(dir, t));
  };
  auto ok = expand(with("20"));  // one training to 30 serves checkpoints 20 and 30
  ASSERT_EQ(ok.runs.size(), 2u);
  EXPECT_EQ(ok.runs[0].run_id, ok.runs[1].run_id);
  auto tasks = plan_tasks(ok.runs);
  EXPECT_EQ(tasks[0].task_id, ok.runs[0].run_id + "-train30");
  const std::string m = test::error_message([&] { expand(with("15")); });
  EXPECT_NE(m.find("step 15 has no checkpoint"), std::string::npos) << m;
  EXPECT_NE(m.find("run length=15"), std::string::npos) << m;
  EXPECT_NE(test::error_message([&] { expand(with("20"), {"eval.ema=best"}); }).find("eval.ema"), std::string::npos);
  // The metrics are a set: their order does not change the eval task.
  auto a = plan_tasks(expand(with("20"), {"eval.metrics=[fid, sfid]"}).runs);
  auto b = plan_tasks(expand(with("20"), {"eval.metrics=[sfid, fid, fid]"}).runs);
  EXPECT_EQ(a.back().task_id, b.back().task_id);
}

TEST(TaskGraph, SharedTrainingStableIdsAndOnlyWhatChangedIsNew) {
  test::TempDir dir;
  // A seeds axis and an eval-only axis (sampler) on one method.
  auto f = read_experiment_file(write(dir, R"(name: g
base:
  model: {image_size: 8, num_channels: 32, channel_mult: [1, 1], num_res_blocks: 1,
          attention_resolutions: [4], num_head_channels: 32, learn_sigma: true}
  diffusion: {diffusion_steps: 40}
  train: {batch_size: 4, iterations: 20, save_interval: 10}
  data: {path: a.npz}
  eval: {at_iterations: [10, 20], sampling_steps: [10, 20], num_samples: 64, reference: ref.npz}
matrix:
  sampler:
    - {name: ancestral, eval: {sampler: ancestral}}
    - {name: ddim, eval: {sampler: ddim, eta: [0.0, 0.5]}}
seeds: [0, 1]
)"));
  auto e = expand(f);
  ASSERT_EQ(e.runs.size(), 4u);
  EXPECT_EQ(e.runs[0].run_id, e.runs[2].run_id);  // sampler=ancestral/ddim, seed 0: one training
  auto tasks = plan_tasks(e.runs);
  int train = 0, sample = 0, eval = 0;
  for (const auto& t : tasks) (t.kind == "train" ? train : t.kind == "sample" ? sample : eval)++;
  EXPECT_EQ(train, 2);                       // one per seed
  EXPECT_EQ(sample, 2 * (2 * 2 * (1 + 2)));  // seeds x checkpoints x steps x (ancestral + 2 etas)
  EXPECT_EQ(eval, sample);
  // Dependencies come first.
  std::set<std::string> seen;
  for (const auto& t : tasks) {
    for (const auto& d : t.depends_on) EXPECT_TRUE(seen.count(d)) << t.task_id << " before " << d;
    seen.insert(t.task_id);
  }
  EXPECT_EQ(tasks[0].cells.size(), 2u);  // the seed-0 training serves both sampler cells
  // Planning again gives the same ids; more samples change only sample and eval tasks.
  auto again = plan_tasks(expand(f).runs);
  ASSERT_EQ(again.size(), tasks.size());
  for (size_t i = 0; i < tasks.size(); ++i) EXPECT_EQ(again[i].task_id, tasks[i].task_id);
  auto more = plan_tasks(expand(f, {"eval.num_samples=128"}).runs);
  EXPECT_EQ(more[0].task_id, tasks[0].task_id);
  EXPECT_NE(more[1].task_id, tasks[1].task_id);
  // The train task's config is a training file repro train reads: data.path made absolute.
  const auto config = nlohmann::json::parse(tasks[0].spec).at("config").get<std::string>();
  EXPECT_NE(config.find(dir.file("a.npz")), std::string::npos);
  EXPECT_EQ(config.find("eval"), std::string::npos);
}

// slurm: where tasks run on a cluster, read strictly; absent keys stay absent.
TEST(ExperimentFile, SlurmSectionIsReadKeyByKey) {
  test::TempDir dir;
  auto f = read_experiment_file(
      write(dir, std::string(kBase) + "slurm:\n  partition: gpu\n  account: proj1\n  time: \"1:30:00\"\n"
                                      "  cpus_per_task: 8\n  gpus: 4\n  sbatch_args: [--qos=high, \"--mem=0\"]\n"
                                      "  array_cap: 16\n"));
  EXPECT_EQ(f.slurm.partition, "gpu");
  EXPECT_EQ(f.slurm.account, "proj1");
  EXPECT_EQ(f.slurm.time, "1:30:00");
  EXPECT_EQ(f.slurm.cpus_per_task, 8);
  EXPECT_EQ(f.slurm.gpus, 4);
  EXPECT_EQ(f.slurm.sbatch_args, (std::vector<std::string>{"--qos=high", "--mem=0"}));
  EXPECT_EQ(f.slurm.array_cap, 16);
  EXPECT_EQ(
      describe(f.slurm),
      "partition=gpu account=proj1 time=1:30:00 cpus_per_task=8 gpus=4 sbatch_args=[--qos=high --mem=0] array_cap=16");

  f = read_experiment_file(write(dir, std::string(kBase) + "slurm: {time: 90, array_cap: 0}\n"));
  EXPECT_EQ(f.slurm.time, "90");
  EXPECT_EQ(f.slurm.array_cap, 0);
  EXPECT_FALSE(f.slurm.partition || f.slurm.account || f.slurm.cpus_per_task || f.slurm.gpus || f.slurm.sbatch_args);
  EXPECT_EQ(describe(f.slurm), "time=90 array_cap=0");

  for (const std::string tail : {"", "slurm:\n", "slurm: {}\n"}) {
    f = read_experiment_file(write(dir, std::string(kBase) + tail));
    EXPECT_TRUE(f.slurm.empty()) << tail;
    EXPECT_EQ(describe(f.slurm), "cluster defaults");
  }
}

TEST(ExperimentFile, SlurmErrorsSayWhereAndWhat) {
  test::TempDir dir;
  auto err = [&](const std::string& tail) {
    return test::error_message([&] { read_experiment_file(write(dir, std::string(kBase) + "slurm:\n" + tail)); });
  };
  const std::string line = std::to_string(std::count(kBase, kBase + std::strlen(kBase), '\n') + 2);
  std::string m = err("  partiton: gpu\n");
  EXPECT_NE(m.find("exp.yaml:" + line), std::string::npos) << m;
  EXPECT_NE(m.find("slurm.partiton"), std::string::npos) << m;
  EXPECT_NE(m.find("partition"), std::string::npos) << m;  // the valid keys
  m = err("  partition: [a, b]\n");
  EXPECT_NE(m.find("exp.yaml:" + line + ":14: key 'slurm.partition': expected a partition name, got a list"),
            std::string::npos)
      << m;
  m = err("  account: \"\"\n");
  EXPECT_NE(m.find("key 'slurm.account': expected an account name, got ''"), std::string::npos) << m;
  m = err("  time:\n");
  EXPECT_NE(m.find("key 'slurm.time': expected a Slurm time limit such as 90, 1:30:00 or 2-00:00:00, got null"),
            std::string::npos)
      << m;
  m = err("  cpus_per_task: -1\n");
  EXPECT_NE(m.find("key 'slurm.cpus_per_task': expected an integer >= 0 (0: the cluster's default), got '-1'"),
            std::string::npos)
      << m;
  m = err("  gpus: 1.5\n");
  EXPECT_NE(m.find("key 'slurm.gpus': expected an integer >= 0"), std::string::npos) << m;
  EXPECT_NE(m.find("got '1.5'"), std::string::npos) << m;
  m = err("  gpus: four\n");
  EXPECT_NE(m.find("key 'slurm.gpus': expected an integer >= 0"), std::string::npos) << m;
  m = err("  array_cap: -2\n");
  EXPECT_NE(m.find("key 'slurm.array_cap': expected an integer >= 0 (elements of an array at once; 0: no arrays), "
                   "got '-2'"),
            std::string::npos)
      << m;
  m = err("  array_cap: 99999999999\n");
  EXPECT_NE(m.find("key 'slurm.array_cap': expected an integer >= 0"), std::string::npos) << m;
  m = err("  sbatch_args: --qos=high\n");
  EXPECT_NE(m.find("key 'slurm.sbatch_args': expected a list of sbatch options such as [--qos=high], got '--qos=high'"),
            std::string::npos)
      << m;
  m = err("  sbatch_args: [--qos=high, {mem: 0}]\n");
  EXPECT_NE(m.find("key 'slurm.sbatch_args[1]': expected an sbatch option such as --qos=high, got a mapping"),
            std::string::npos)
      << m;
  m = test::error_message([&] { read_experiment_file(write(dir, std::string(kBase) + "slurm: gpu\n")); });
  EXPECT_NE(m.find("key 'slurm': expected a mapping, got 'gpu'"), std::string::npos) << m;
}

// The command line's options win key by key; what it does not give comes from the file.
TEST(ExperimentFile, CommandLineSlurmOptionsOverTheFilesKeyByKey) {
  SlurmSettings file;
  file.partition = "gpu";
  file.account = "proj1";
  file.time = "1:00:00";
  file.cpus_per_task = 8;
  file.gpus = 4;
  file.sbatch_args = std::vector<std::string>{"--qos=low", "--mem=0"};
  file.array_cap = 16;

  EXPECT_EQ(describe(merge_slurm_options(file, {})), describe(file));
  EXPECT_TRUE(merge_slurm_options({}, {}).empty());

  SlurmSettings cli;
  cli.partition = "debug";
  cli.gpus = 0;                                              // a given 0 wins over the file's 4
  cli.sbatch_args = std::vector<std::string>{"--qos=high"};  // replaces the file's list
  cli.array_cap = 0;                                         // --no-arrays
  const SlurmSettings s = merge_slurm_options(file, cli);
  EXPECT_EQ(s.partition, "debug");
  EXPECT_EQ(s.account, "proj1");
  EXPECT_EQ(s.time, "1:00:00");
  EXPECT_EQ(s.cpus_per_task, 8);
  EXPECT_EQ(s.gpus, 0);
  EXPECT_EQ(s.sbatch_args, (std::vector<std::string>{"--qos=high"}));
  EXPECT_EQ(s.array_cap, 0);

  // Without a file section, the command line's alone.
  const SlurmSettings only_cli = merge_slurm_options({}, cli);
  EXPECT_EQ(describe(only_cli), "partition=debug gpus=0 sbatch_args=[--qos=high] array_cap=0");
}

// Where tasks run is not what they compute: the slurm: section changes no run id or task id.
TEST(ExperimentFile, SlurmSectionChangesNoRunOrTaskId) {
  test::TempDir dir;
  const auto ids = [](const ExperimentFile& f) {
    std::vector<std::string> out;
    const auto e = expand(f);
    for (const auto& r : e.runs) out.push_back(r.run_id);
    for (const auto& t : plan_tasks(e.runs)) out.push_back(t.task_id);
    return out;
  };
  const auto without = ids(read_experiment_file(write(dir, kBase, "a.yaml")));
  const auto with = ids(read_experiment_file(
      write(dir,
            std::string(kBase) + "slurm: {partition: gpu, account: p, time: \"2-00:00:00\", cpus_per_task: 4, gpus: 2, "
                                 "sbatch_args: [--qos=high], array_cap: 3}\n",
            "b.yaml")));
  EXPECT_GT(without.size(), 4u);
  EXPECT_EQ(without, with);
}
