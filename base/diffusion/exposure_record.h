#pragma once
// What `repro exposure` measures, per step of the reverse chain, and its JSON file
// (docs/exposure.md). Torch-free: the report reads these files beside the store.
#include <cstdint>
#include <string>
#include <vector>

#include "base/diffusion/eps_scale.h"

namespace repro::core {

// One respaced step t, measured on N real images x0.
struct ExposureStep {
  int index = 0;     // t: the respaced index (sampling order: from high to low)
  int timestep = 0;  // the original process's timestep of t (what the model is called with)
  // Mean over images of ||eps_theta(x, t)||_2 (over C x H x W): x = x̂_t of the sampling chain
  // (or of one reverse step out of q(x_{t+1} | x0)), against x = q_sample(x0, t, fresh eps), what
  // training sees (ADM-ES's epsilon L2-norm curves).
  double eps_norm_sample = 0;
  double eps_norm_train = 0;
  // Mean over images and elements of (x̂_t - sqrt(abar_t) x0)^2: the variance of the stochastic
  // part, whose forward-process value is 1 - abar_t (var_train); var_ratio = var_sample / var_train
  // (ADM-ES's x_t_distribution branches). 1 = no exposure bias.
  double var_sample = 0;
  double var_train = 0;
  double var_ratio = 0;
};

struct ExposureCurves {
  std::string mode = "chain";         // chain: x̂_t from the reverse chain; step: from one reverse step
  std::string steps;                  // the respacing sampled ("100", "ddim50")
  std::string sampler = "ancestral";  // ancestral | ddim
  double eta = 0;                     // ddim only
  int64_t num = 0;                    // images x0
  EpsScale eps_scale;
  int start = 0;           // chain mode: 0 = from q(x_T | x0), else from x_K (index K - 1)
  std::string checkpoint;  // as given to the command
  std::string data;        // the x0 images
  std::vector<ExposureStep> records;
};

// The curves as JSON text: one object with "v": 1 (the format version) and the fields of
// ExposureCurves under their names, eps_scale as {"b", "k"}, `records` one object per step with
// the fields of ExposureStep. JSON has no NaN: a measured value that is not finite (a diverged
// model) is written as null. Doubles are written so that they read back exactly.
std::string exposure_json(const ExposureCurves& curves);

// Reads a file exposure_json wrote. Untrusted: at most 64 MiB (checked before reading), nesting
// bounded by resource_limits().max_nesting while parsing, every key checked for presence and type
// (integers must be integers in range, mode chain|step, sampler ancestral|ddim, v 1; a measured
// value a number or null, read as NaN); other keys are ignored. Throws DataError naming the file
// and the key path ("records[3].var_ratio: expected a number or null, got string"), IoError when
// unreadable.
ExposureCurves read_exposure_json(const std::string& path);

// The same for bytes already read (the report checks their SHA-256 first); `name` names them in
// errors.
ExposureCurves parse_exposure_json(const std::string& text, const std::string& name);

}  // namespace repro::core
