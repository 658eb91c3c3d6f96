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
  std::string data;        // the x0 images (tasks/x0_images.h); the first `num` are measured
  std::string steps;       // respacing ("100", "ddim50"); "" = the config's
  bool ddim = false;
  double eta = 0;
  bool clip_denoised = true;
  std::string precision = "auto";  // as SampleJob::precision
  core::EpsScale eps_scale;        // Epsilon Scaling in every reverse step; the eps measured stays raw
  std::string mode = "chain";      // chain | step
  int start = 0;                   // chain mode: 0 = from q(x_T | x0); K = from x_K (index K - 1), full process only
  int64_t num = 0;                 // images x0
  int batch_size = 64;             // the means are over all num images, however batched
  // Of the CPU generator of every draw: per batch, the classes of a class-conditional model (x0
  // comes without labels), then core::measure_exposure's. Same seed and batch size, same numbers.
  int64_t seed = 0;
  std::string out;   // .json (exposure_json), written atomically and last: it marks a finished run
  std::string plot;  // .svg of reports::exposure_plots stacked in one document; "" = none
  bool quiet = false;
  std::string device = "auto";
  int threads = 0;
};

// Measures (core/diffusion/exposure.h) and writes job.plot, then job.out; returns what it wrote.
// Progress lines go to `err` unless quiet, and a summary line always. Throws ConfigError naming the
// `repro exposure` option of a bad field (before the model is built or the data read), DataError
// for bad data (fewer than num images, another size) or checkpoint files.
core::ExposureCurves exposure_run(const config::ModelFile& model, const ExposureJob& job, std::ostream& err);

}  // namespace repro::tasks
