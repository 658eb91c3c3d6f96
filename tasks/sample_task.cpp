#include <nlohmann/json.hpp>

#include <filesystem>

#include "base/util/errors.h"
#include "base/util/event_log.h"
#include "base/util/file_io.h"
#include "base/util/sha256.h"
#include "config/train_config_yaml.h"
#include "core/util/device.h"
#include "tasks/provenance.h"
#include "tasks/sample_run.h"
#include "tasks/task_bodies.h"

namespace repro::tasks {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The job the spec describes, with the task's threads.
SampleJob sample_job(const runner::SampleTaskSpec& spec, int threads) {
  SampleJob job;
  job.ddim = spec.sampler == "ddim";
  job.steps = (job.ddim ? "ddim" : "") + std::to_string(spec.steps);
  job.eta = spec.eta;
  job.clip_denoised = spec.clip_denoised;
  job.precision = spec.precision.empty() ? "auto" : spec.precision;
  job.to_uint8 = spec.to_uint8;
  job.num_samples = static_cast<int>(spec.num_samples);
  job.batch_size = spec.batch_size;
  job.seed = static_cast<int64_t>(spec.seed);  // the generator takes its bits back as unsigned
  job.threads = threads;
  return job;
}

}  // namespace

int sample_task(const TaskFile& task, const runner::SampleTaskSpec& spec, int threads, std::ostream& err) {
  const fs::path run_dir = task.run_dir;
  const auto file = config::read_train_file((run_dir / "train.yaml").string());
  const fs::path ckpt = run_dir / runner::checkpoint_file(spec);
  if (!fs::exists(ckpt))
    throw DataError(ckpt.string() + ": no such checkpoint (has the run's train task reached step " +
                    std::to_string(spec.checkpoint_step) + "?)");
  SampleJob job = sample_job(spec, threads);
  job.checkpoint = ckpt.string();
  job.out = (run_dir / "samples" / (task.task_id + ".npz")).string();
  job.grid = (run_dir / "samples" / (task.task_id + ".png")).string();  // the report's picture
  EventLog events(task.events);
  // The machine and code, plus the sampling seed and the torso's dtype there.
  const core::DeviceInfo device = core::select_device(job.device);
  const core::UNetConfig model = sampling_model(file.model, job.precision);
  json provenance = task_provenance(device.description);
  provenance["seed"] = std::to_string(job.seed);
  provenance["torso_dtype"] = torso_dtype_name(model, device.device.is_cuda());
  events.write({{"type", "start"},
                {"task_id", task.task_id},
                {"kind", "sample"},
                {"checkpoint", ckpt.string()},
                {"provenance", provenance}},
               true);
  try {
    // A finished earlier attempt left the complete file (writes are atomic): keep it.
    if (!fs::exists(job.out)) sample_run({file.model, file.diffusion}, job, err);
  } catch (const std::exception& e) {
    events.write({{"type", "end"}, {"status", "error"}, {"message", e.what()}}, true);
    throw;
  }
  // An npz of an attempt before grids were written has no PNG: the report then shows no grid.
  if (fs::exists(job.grid)) {
    const std::string png = read_file(job.grid);
    events.write({{"type", "artifact"},
                  {"path", fs::relative(job.grid, run_dir).string()},
                  {"sha256", sha256_hex(png)},
                  {"bytes", png.size()}},
                 true);
  }
  events.write({{"type", "artifact"}, {"path", fs::relative(job.out, run_dir).string()}}, true);
  events.write({{"type", "end"}, {"status", "completed"}}, true);
  return 0;
}

}  // namespace repro::tasks
