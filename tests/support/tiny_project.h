#pragma once
// A project with a finished tiny experiment (one run: train 2 iterations, sample, eval with an
// FID from random-inception features), for the integration tests of the commands that read it.
#include <fstream>
#include <string>

#include "tests/support/test_support.h"

namespace repro::test {

inline constexpr const char* kTinyExperiment = R"(name: tiny
base:
  model: {image_size: 8, num_channels: 32, channel_mult: [1, 1], num_res_blocks: 1,
          attention_resolutions: [4], num_head_channels: 32, learn_sigma: true}
  diffusion: {diffusion_steps: 20}
  train: {batch_size: 4, iterations: 2, save_interval: 2, log_interval: 1}
  data: {path: data.npz}
  eval: {at_iterations: [2], sampling_steps: [5], num_samples: 6, batch_size: 6, reference: ref.npz,
         metrics: [fid], features: random-inception}
matrix:
  method:
    - {name: adm, train: {method: adm}}
)";

// Writes data.npz, ref.npz (numpy) and exp.yaml into `dir` and runs the experiment into `project`;
// returns `repro run`'s exit code, its output in *out.
inline int run_tiny_project(const TempDir& dir, const std::string& project, std::string* out) {
  const int rc = run_python(
      "import numpy as np\nrng = np.random.default_rng(0)\n"
      "np.savez('data.npz', rng.integers(0, 256, (16, 8, 8, 3), dtype=np.uint8))\n"
      "np.savez('ref.npz', rng.integers(0, 256, (10, 8, 8, 3), dtype=np.uint8))\n",
      dir.path());
  if (rc != 0) return rc;
  std::ofstream(dir.file("exp.yaml")) << kTinyExperiment;
  return repro_cli("run " + dir.file("exp.yaml") + " --project " + project, out);
}

}  // namespace repro::test
