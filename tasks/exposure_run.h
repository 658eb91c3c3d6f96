#pragma once
// The body of `repro exposure` and of an experiment's exposure task (eval.exposure): exposure
// bias measured on a checkpoint, per step of the reverse chain (base/diffusion/exposure_record.h),
// written as JSON and optionally plotted as SVG.
#include <cstdint>
#include <iosfwd>
#include <string>

#include "base/diffusion/eps_scale.h"
#include "base/diffusion/exposure_record.h"
#include "config/model_config_yaml.h"

namespace repro::tasks {

struct ExposureJob {
  std::string checkpoint;  // state dict; "" = an untrained model
  std::string data;        // the x0 images (tasks/x0_images.h)
  std::string steps;       // respacing ("100", "ddim50"); "" = the config's
  bool ddim = false;
  double eta = 0;
  bool clip_denoised = true;
  std::string precision = "auto";  // as SampleJob::precision
  core::EpsScale eps_scale;
  std::string mode = "chain";  // chain | step
  int start = 0;               // chain mode: 0 = from q(x_T | x0); K = from x_K (index K - 1)
  int64_t num = 0;             // images x0
  int batch_size = 64;
  int64_t seed = 0;
  std::string out;   // .json (written atomically)
  std::string plot;  // .svg; "" = none
  bool quiet = false;
  std::string device = "auto";
  int threads = 0;
};

// Measures and writes job.out (and job.plot); returns what it wrote. Throws ConfigError naming
// the `repro exposure` option of a bad field, DataError for bad data or checkpoint files.
core::ExposureCurves exposure_run(const config::ModelFile& model, const ExposureJob& job, std::ostream& err);

}  // namespace repro::tasks
