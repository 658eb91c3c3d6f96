// Stale runs (docs/database.md): make_plan carries the run ids of the whole expansion, --only
// filters not applied; `repro run` records them as the experiment's current expansion, so the
// runs of earlier expansions read as stale and those --only left out do not; an expansion that
// could not name every cell adds to the list; a dry run writes nothing.
#include <gtest/gtest.h>

#include <SQLiteCpp/Statement.h>

#include <filesystem>
#include <map>
#include <set>

#include "runner/experiment/expand.h"
#include "runner/orchestrate/orchestrator.h"
#include "runner/orchestrate/run_loop.h"
#include "store/queries.h"
#include "tests/support/fake_executor.h"
#include "tests/support/fake_plan.h"
#include "tests/support/simulated_clock.h"
#include "tests/support/test_support.h"

namespace repro::runner {
namespace {

const char* const kExperiment = R"(name: demo
base:
  model: {image_size: 8, num_channels: 32, channel_mult: [1, 1], num_res_blocks: 1,
          attention_resolutions: [4], num_head_channels: 32, learn_sigma: true}
  diffusion: {diffusion_steps: 40}
  train: {batch_size: 4, iterations: 20, save_interval: 10, log_interval: 5, seed: 0}
  data: {path: a.npz}
  eval: {at_iterations: [20], sampling_steps: [10], num_samples: 64, reference: ref.npz}
matrix:
  dataset: [a, b]
  method:
    - {name: adm, train: {method: adm}}
    - {name: adm-ip, train: {method: adm-ip, gamma: 0.1}}
overrides:
  dataset.a: {data: {path: a.npz}}
  dataset.b: {data: {path: b.npz}}
)";

std::vector<std::string> run_ids(const Expansion& e) {
  std::vector<std::string> ids;
  for (const auto& r : e.runs) ids.push_back(r.run_id);
  return ids;
}

TEST(StaleExpansion, ThePlanCarriesTheWholeExpansionWhateverOnlyKeeps) {
  test::TempDir dir;
  const ExperimentFile file = read_experiment_file(dir.write("exp.yaml", kExperiment));
  const Expansion full = expand(file);
  const Expansion only = expand(file, {}, {"method=adm"});
  ASSERT_EQ(full.runs.size(), 4u);
  ASSERT_EQ(only.runs.size(), 2u);
  const ExperimentRow row{file.name, "exp.yaml", file.sha256};
  const Plan filtered = make_plan(row, only, &full);
  EXPECT_EQ(filtered.runs.size(), 2u);
  EXPECT_EQ(filtered.expansion_run_ids, run_ids(full));
  const Plan whole = make_plan(row, full);
  EXPECT_EQ(whole.expansion_run_ids, run_ids(full));
  const std::vector<std::string> ids = run_ids(full);
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 4u);  // four distinct runs
}

// A store on a simulated clock and a fake executor, as run_loop_test.cpp's loop.
struct Loop {
  Loop() {
    StoreOptions so;
    so.clock = clock.store_clock();
    store = std::make_unique<Store>(":memory:", so);
    options.project_dir = dir.file("project");
    options.repro_binary = "/fake/repro";
    std::filesystem::create_directories(options.project_dir);
  }
  void run(const Plan& plan) {
    test::FakeExecutorOptions o;
    o.max_parallel = 4;
    test::FakeExecutor ex(clock, o);
    const auto s = RunLoop(*store, ex, options, clock, plan).run();
    EXPECT_TRUE(s.ok());
  }
  std::map<std::string, bool> stale() {
    std::map<std::string, bool> out;
    for (const auto& r : runs_of_experiment(*store, "fake")) out[r.run_id] = r.stale;
    return out;
  }
  std::set<std::string> current_rows() {
    SQLite::Statement q(store->db(), "SELECT run_id FROM current_expansion WHERE experiment = 'fake'");
    std::set<std::string> ids;
    while (q.executeStep()) ids.insert(q.getColumn(0).getString());
    return ids;
  }

  test::TempDir dir;
  test::SimulatedClock clock;
  std::unique_ptr<Store> store;
  OrchestratorOptions options;
};

TEST(StaleExpansion, EachRunRecordsItsExpansionAndEarlierRunsTurnStale) {
  Loop loop;
  // A plan built by hand without expansion ids: its runs are the expansion.
  loop.run(test::fake_plan({"r1", "r2"}, false));
  EXPECT_EQ(loop.current_rows(), (std::set<std::string>{"r1", "r2"}));
  EXPECT_EQ(loop.stale(), (std::map<std::string, bool>{{"r1", false}, {"r2", false}}));

  // The file changed: its expansion is r3 and r4; `--only` runs r3 alone.
  Plan changed = test::fake_plan({"r3"}, false);
  changed.expansion_run_ids = {"r3", "r4"};
  loop.run(changed);
  EXPECT_EQ(loop.current_rows(), (std::set<std::string>{"r3", "r4"}));
  EXPECT_EQ(loop.stale(), (std::map<std::string, bool>{{"r1", true}, {"r2", true}, {"r3", false}}));

  // Then `--only` the other half: r3 stays current.
  Plan rest = test::fake_plan({"r4"}, false);
  rest.expansion_run_ids = {"r3", "r4"};
  loop.run(rest);
  EXPECT_EQ(loop.stale(), (std::map<std::string, bool>{{"r1", true}, {"r2", true}, {"r3", false}, {"r4", false}}));

  // A dry run of the first plan writes nothing.
  test::FakeExecutorOptions o;
  test::FakeExecutor ex(loop.clock, o);
  const auto lines = Orchestrator::dry_run(loop.store.get(), ex, test::fake_plan({"r1", "r2"}, false), loop.options);
  EXPECT_EQ(lines.size(), 2u);
  EXPECT_EQ(loop.current_rows(), (std::set<std::string>{"r3", "r4"}));
}

// A cell whose checkpoint file is missing with no pinned digest has no run id (Expansion::unnamed):
// the plan says its expansion is partial, and recording it adds its runs to the current
// expansion, so that the runs an earlier, whole expansion recorded do not turn stale.
TEST(StaleExpansion, APartialExpansionAddsToTheCurrentOneAndStalesNothing) {
  test::TempDir dir;
  const std::string text = std::string(kExperiment).substr(0, std::string(kExperiment).find("matrix:")) +
                           "matrix:\n  source:\n    - {name: trained, train: {seed: 0}}\n"
                           "    - {name: released, checkpoint: {path: gone.pt, iteration: 20}}\n";
  const ExperimentFile file = read_experiment_file(dir.write("exp.yaml", text));
  ExpandOptions lenient;
  lenient.lenient = true;
  const Expansion full = expand(file, {}, {}, lenient);
  ASSERT_EQ(full.unnamed.size(), 1u);
  const Expansion only = expand(file, {}, {"source=trained"});
  const ExperimentRow row{file.name, "exp.yaml", file.sha256};
  const Plan partial = make_plan(row, only, &full);
  EXPECT_TRUE(partial.expansion_partial);
  EXPECT_EQ(partial.expansion_run_ids, run_ids(only));
  EXPECT_FALSE(make_plan(row, only).expansion_partial);

  Loop loop;
  loop.run(test::fake_plan({"r1", "r2"}, false));
  Plan added = test::fake_plan({"r3"}, false);
  added.expansion_partial = true;
  loop.run(added);
  EXPECT_EQ(loop.current_rows(), (std::set<std::string>{"r1", "r2", "r3"}));
  EXPECT_EQ(loop.stale(), (std::map<std::string, bool>{{"r1", false}, {"r2", false}, {"r3", false}}));
  // A whole expansion again replaces the list.
  loop.run(test::fake_plan({"r3"}, false));
  EXPECT_EQ(loop.stale(), (std::map<std::string, bool>{{"r1", true}, {"r2", true}, {"r3", false}}));
}

}  // namespace
}  // namespace repro::runner
