#pragma once
// The body of `repro sample` and of the sample task: images drawn from a checkpoint with the
// ancestral or DDIM sampler on any respacing, written in the reference's sample format (npz
// arr_0, uint8 NHWC).
#include <cstdint>
#include <iosfwd>
#include <string>

#include "config/model_config_yaml.h"

namespace repro::tasks {

struct SampleJob {
  std::string checkpoint;  // state dict to load; "" = an untrained model
  std::string steps;       // timestep respacing ("100", "ddim50"); "" = the config's
  bool ddim = false;
  double eta = 0;  // DDIM only
  bool clip_denoised = true;
  int num_samples = 0;
  int batch_size = 64;
  int64_t seed = 0;    // same seed and batch size -> same samples, on any device
  std::string out;     // .npz, arr_0 uint8 NHWC
  std::string grid;    // also a PNG grid of the first 64 samples; "" = none
  bool quiet = false;  // no progress lines
  std::string device = "auto";
  int threads = 0;  // intra-op CPU threads; 0 = all cores
};

// Throws ConfigError naming the `repro sample` option of a bad job field.
void sample_run(const config::ModelFile& model, const SampleJob& job, std::ostream& err);

}  // namespace repro::tasks
