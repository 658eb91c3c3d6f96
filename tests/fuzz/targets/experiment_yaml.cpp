// An experiment file as `repro run --dry-run` reads it: read_experiment_file (strict reader), the
// configs composed with yaml_merge (to_tree of the base, every axis value and override, merged,
// emitted, back to_yaml), then expand() when the matrix has at most 16 cells (a larger product is
// legitimate and would only measure expand's speed).
#include "runner/experiment/expand.h"
#include "runner/experiment/experiment_file.h"
#include "runner/experiment/yaml_merge.h"
#include "tests/fuzz/fuzz_targets.h"

namespace repro::fuzz {

int fuzz_experiment_yaml(const uint8_t* data, size_t size) {
  const std::string path = write_scratch_file("experiment.yaml", data, size);
  return expect_only_repro_errors([&] {
    const runner::ExperimentFile file = runner::read_experiment_file(path);
    runner::ConfigTree tree = runner::to_tree(file.base);
    size_t cells = 1;
    for (const runner::Axis& axis : file.axes) {
      cells = axis.values.empty() || cells > 16 ? cells : cells * axis.values.size();
      for (const runner::AxisValue& v : axis.values) tree = runner::merged(tree, runner::to_tree(v.set));
    }
    for (const auto& [key, node] : file.overrides) tree = runner::merged(tree, runner::to_tree(node));
    runner::ScalarTexts texts;
    const std::string text = runner::emitted(tree, texts);
    consume(text.data(), text.size());
    (void)runner::to_yaml(tree);
    if (cells <= 16 && file.include.size() <= 16) {
      const runner::Expansion e = runner::expand(file);
      for (const runner::PlannedRun& r : e.runs) consume(r.run_id.data(), r.run_id.size());
    }
  });
}

}  // namespace repro::fuzz
