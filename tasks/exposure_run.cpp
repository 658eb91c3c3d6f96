#include "tasks/exposure_run.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <ostream>
#include <sstream>

#include "base/util/errors.h"
#include "base/util/file_io.h"
#include "core/diffusion/exposure.h"
#include "reports/exposure_plot.h"
#include "reports/observations.h"
#include "reports/svg_plot.h"
#include "tasks/runtime.h"
#include "tasks/sample_run.h"
#include "tasks/x0_images.h"

namespace repro::tasks {

namespace {

using Clock = std::chrono::steady_clock;

void check_counts(const ExposureJob& a) {
  if (a.num < 1) throw ConfigError("", "--num", "expected >= 1, got " + std::to_string(a.num));
  if (a.batch_size < 1) throw ConfigError("", "--batch-size", "expected >= 1, got " + std::to_string(a.batch_size));
  if (a.data.empty()) throw ConfigError("", "--data", "expected the x0 images (.npz or a prepared dataset)");
  if (a.out.empty()) throw ConfigError("", "--out", "expected the output .json");
}

// --mode and --start against the process `d` they apply to, with the sampler settings.
core::ExposureOptions exposure_options(const ExposureJob& a, const core::GaussianDiffusion& d) {
  core::ExposureOptions o;
  o.mode = core::parse_exposure_mode(a.mode, "--mode");
  const int T = d.num_timesteps();
  if (o.mode == core::ExposureMode::kStep && T < 2)
    throw ConfigError("", "--steps", "step mode needs at least 2 steps, got " + std::to_string(T));
  if (a.start < 0 || a.start > T)
    throw ConfigError("", "--start",
                      "expected 0 or K in [1, " + std::to_string(T) + "], got " + std::to_string(a.start));
  if (a.start > 0 && o.mode != core::ExposureMode::kChain)
    throw ConfigError("", "--start", "only --mode chain starts from x_K");
  if (a.start > 0 && T != d.original_num_steps())
    throw ConfigError("", "--start",
                      "the chain from x_K runs the full process of " + std::to_string(d.original_num_steps()) +
                          " steps: leave --steps out or give " + std::to_string(d.original_num_steps()) + ", got " +
                          std::to_string(T) + " steps");
  o.start = a.start;
  o.sample.ddim = a.ddim;
  o.sample.eta = a.eta;
  o.sample.clip_denoised = a.clip_denoised;
  o.sample.eps_scale = a.eps_scale;
  return o;
}

// What the curves describe, without the records.
core::ExposureCurves curves_header(const ExposureJob& a, const core::DiffusionConfig& d) {
  core::ExposureCurves c;
  c.mode = a.mode;
  c.steps = !d.timestep_respacing.empty() ? d.timestep_respacing : std::to_string(d.diffusion_steps);
  c.sampler = a.ddim ? "ddim" : "ancestral";
  c.eta = a.eta;
  c.num = a.num;
  c.eps_scale = a.eps_scale;
  c.start = a.start;
  c.checkpoint = a.checkpoint;
  c.data = a.data;
  return c;
}

// The job's num images in batches of batch_size, all into one set of sums. A class-conditional
// model gets a class per image drawn from the generator (x0 comes without labels).
core::ExposureSums measure(const core::UNetConfig& config, core::UNetModel& model,
                           const core::GaussianDiffusion& diffusion, const X0Images& images,
                           const torch::Device& device, core::ExposureOptions options, const ExposureJob& a,
                           std::ostream& err) {
  auto generator = at::detail::createCPUGenerator(static_cast<uint64_t>(a.seed));
  core::ExposureSums sums(diffusion.num_timesteps());
  const int64_t batches = (a.num + a.batch_size - 1) / a.batch_size;
  const auto start = Clock::now();
  for (int64_t b = 0; b < batches; ++b) {
    const int64_t first = b * a.batch_size;
    const torch::Tensor x0 = images.rows(first, std::min<int64_t>(a.batch_size, a.num - first)).to(device);
    torch::Tensor y;
    if (config.num_classes > 0)
      y = torch::randint(config.num_classes, {x0.size(0)}, generator, torch::kInt64).to(device);
    const core::ModelFn fn = [&](const torch::Tensor& x, const torch::Tensor& t) {
      return model->forward(x, t, y).to(torch::kFloat32);
    };
    options.sample.progress = [&](int done, int total) {
      if (a.quiet || (done != total && done % std::max(1, total / 10) != 0)) return;
      err << "batch " << b + 1 << "/" << batches << " step " << done << "/" << total << " ("
          << static_cast<int>(seconds_since(start)) << " s)\n";
    };
    core::measure_exposure(diffusion, fn, x0, generator, options, sums);
  }
  return sums;
}

// The plots of reports::exposure_plots stacked into one SVG document.
std::string exposure_svg(const core::ExposureCurves& curves) {
  std::string title = "exposure bias: " + curves.mode + " mode, steps " + curves.steps + ", " + curves.sampler;
  if (curves.sampler == "ddim") title += " eta " + reports::format_number(curves.eta);
  if (!curves.eps_scale.is_identity()) title += ", lambda " + core::eps_scale_text(curves.eps_scale);
  if (!curves.checkpoint.empty()) title += ", " + std::filesystem::path(curves.checkpoint).filename().string();
  std::vector<reports::Plot> plots = reports::exposure_plots({{"", curves}}, title);
  if (plots.empty()) {  // an SVG that says it has nothing to draw
    plots.emplace_back();
    plots.back().title = title;
  }
  constexpr int kWidth = 640, kHeight = 360;
  std::ostringstream svg;
  svg << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << kWidth
      << "\" height=\"" << kHeight * plots.size() << "\">\n";
  for (size_t i = 0; i < plots.size(); ++i)
    svg << "<g transform=\"translate(0," << kHeight * i << ")\">\n"
        << reports::svg_line_plot(plots[i], kWidth, kHeight) << "\n</g>\n";
  svg << "</svg>\n";
  return svg.str();
}

}  // namespace

core::ExposureCurves exposure_run(const config::ModelFile& model_file, const ExposureJob& a, std::ostream& err) {
  check_counts(a);
  config::ModelFile file = model_file;
  file.diffusion = respaced_config(file.diffusion, a.steps);
  check_sampler_options(a.ddim, a.eta, a.eps_scale, file.diffusion);
  file.model = sampling_model(file.model, a.precision);
  const core::GaussianDiffusion diffusion(file.diffusion);
  const core::ExposureOptions options = exposure_options(a, diffusion);
  create_parent_folders({a.out, a.plot});
  const X0Images images(a.data, file.model);  // checked before the (long) measurement
  if (images.size() < a.num)
    throw DataError(a.data + ": --num " + std::to_string(a.num) + " needs as many images x0, it holds " +
                    std::to_string(images.size()));
  const auto device = setup_runtime({a.device, a.threads});
  auto model = build_model(file, a.checkpoint, device);
  const auto start = Clock::now();
  core::ExposureCurves curves = curves_header(a, file.diffusion);
  curves.records = measure(file.model, model, diffusion, images, device.device, options, a, err).steps(diffusion);
  // The plot first: the JSON is the mark of a finished measurement (the sample task keeps it).
  if (!a.plot.empty()) write_file_atomic(a.plot, exposure_svg(curves));
  write_file_atomic(a.out, core::exposure_json(curves));
  err << "wrote " << a.out << " (" << a.num << " images, " << curves.records.size() << " steps, " << a.mode << " mode, "
      << curves.sampler << ", " << device.description << ", torso "
      << torso_dtype_name(file.model, device.device.is_cuda()) << ", " << seconds_since(start) << " s)\n";
  return curves;
}

}  // namespace repro::tasks
