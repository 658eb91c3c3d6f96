#pragma once
// The toy experiment of the runner's end-to-end data-parallel tests (local and Slurm): 16 random
// 8x8 images (NumPy) and one tiny run trained 4 steps as train.world_size 2 processes of batch 2.
#include <fstream>
#include <string>

#include "tests/support/test_support.h"

namespace repro::test {

// Writes dir/data.npz and dir/exp.yaml (experiment "dp"); false when NumPy failed.
inline bool write_world_size_experiment(const TempDir& dir) {
  if (!write_numpy_images(dir, "data.npz", 16, 0)) return false;
  std::ofstream(dir.file("exp.yaml"))
      << "name: dp\nbase:\n"
         "  model: {image_size: 8, num_channels: 32, channel_mult: [1, 1], num_res_blocks: 1,\n"
         "          attention_resolutions: [4], num_head_channels: 32, learn_sigma: true}\n"
         "  diffusion: {diffusion_steps: 20}\n"
         "  train: {batch_size: 2, world_size: 2, iterations: 4, save_interval: 4, log_interval: 1}\n"
         "  data: {path: data.npz}\n";
  return true;
}

}  // namespace repro::test
