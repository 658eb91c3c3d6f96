#include <nlohmann/json.hpp>

#include <filesystem>

#include "base/util/errors.h"
#include "base/util/event_log.h"
#include "base/util/file_io.h"
#include "base/util/sha256.h"
#include "config/checkpoint_source.h"
#include "config/train_config_yaml.h"
#include "core/util/device.h"
#include "tasks/exposure_run.h"
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
  job.eps_scale = {spec.eps_scale_b, spec.eps_scale_k};
  job.start_t = spec.start_t;
  job.data = spec.data;
  job.num_samples = static_cast<int>(spec.num_samples);
  job.batch_size = spec.batch_size;
  job.seed = static_cast<int64_t>(spec.seed);  // the generator takes its bits back as unsigned
  job.threads = threads;
  return job;
}

// The exposure measurement the spec asks for (exposure_num > 0) with the sampler settings of
// sample_job, on the checkpoint `ckpt`, written to <run_dir>/exposure/<task_id>.json and .svg.
ExposureJob exposure_job(const runner::SampleTaskSpec& spec, const SampleJob& sampling, const fs::path& ckpt,
                         const fs::path& run_dir, const std::string& task_id) {
  ExposureJob job;
  job.checkpoint = ckpt.string();
  job.data = spec.data;
  job.steps = sampling.steps;
  job.ddim = sampling.ddim;
  job.eta = sampling.eta;
  job.clip_denoised = sampling.clip_denoised;
  job.precision = sampling.precision;
  job.eps_scale = sampling.eps_scale;
  job.mode = spec.exposure_mode;
  job.start = spec.start_t;
  job.num = spec.exposure_num;
  job.batch_size = sampling.batch_size;
  job.seed = sampling.seed;
  job.out = (run_dir / "exposure" / (task_id + ".json")).string();
  job.plot = (run_dir / "exposure" / (task_id + ".svg")).string();
  job.device = sampling.device;
  job.threads = sampling.threads;
  return job;
}

// The start record: the machine and code, plus the sampling seed and the torso's dtype there.
void write_start(EventLog& events, const TaskFile& task, const fs::path& ckpt, const SampleJob& job,
                 const core::UNetConfig& trained) {
  const core::DeviceInfo device = core::select_device(job.device);
  const core::UNetConfig model = sampling_model(trained, job.precision);
  json provenance = task_provenance(device.description);
  provenance["seed"] = std::to_string(job.seed);
  provenance["torso_dtype"] = torso_dtype_name(model, device.device.is_cuda());
  events.write({{"type", "start"},
                {"task_id", task.task_id},
                {"kind", "sample"},
                {"checkpoint", ckpt.string()},
                {"provenance", provenance}},
               true);
}

// An `artifact` record of `file` (inside run_dir) with its SHA-256 and size.
void write_artifact(EventLog& events, const fs::path& file, const fs::path& run_dir) {
  const std::string bytes = read_file(file.string());
  events.write({{"type", "artifact"},
                {"path", fs::relative(file, run_dir).string()},
                {"sha256", sha256_hex(bytes)},
                {"bytes", bytes.size()}},
               true);
}

// Runs `body` unless `done` exists (a finished earlier attempt left it complete: writes are
// atomic); an error ends the task with an `end error` record and propagates.
template <typename Body>
void run_unless_done(EventLog& events, const std::string& done, Body&& body) {
  try {
    if (!fs::exists(done)) body();
  } catch (const std::exception& e) {
    events.write({{"type", "end"}, {"status", "error"}, {"message", e.what()}}, true);
    throw;
  }
}

// Samples to <run_dir>/samples/<task_id>.npz and the PNG grid beside it.
void draw_samples(EventLog& events, const config::TrainFile& file, SampleJob job, const TaskFile& task,
                  std::ostream& err) {
  const fs::path run_dir = task.run_dir;
  job.out = (run_dir / "samples" / (task.task_id + ".npz")).string();
  job.grid = (run_dir / "samples" / (task.task_id + ".png")).string();  // the report's picture
  run_unless_done(events, job.out, [&] { sample_run({file.model, file.diffusion}, job, err); });
  // An npz of an attempt before grids were written has no PNG: the report then shows no grid.
  if (fs::exists(job.grid)) write_artifact(events, job.grid, run_dir);
  events.write({{"type", "artifact"}, {"path", fs::relative(job.out, run_dir).string()}}, true);
}

// Exposure bias to <run_dir>/exposure/<task_id>.json and .svg (tasks/exposure_run.h).
void write_exposure(EventLog& events, const config::TrainFile& file, const ExposureJob& job, const TaskFile& task,
                    std::ostream& err) {
  run_unless_done(events, job.out, [&] { exposure_run({file.model, file.diffusion}, job, err); });
  if (fs::exists(job.plot)) write_artifact(events, job.plot, task.run_dir);
  write_artifact(events, job.out, task.run_dir);
}

// A run from a checkpoint file: its config written as <run_dir>/train.yaml (no train task writes
// one), and the file, which must have the SHA-256 the run is named by. Throws IoError (exit 3)
// when it is missing or another file.
fs::path released_checkpoint(const TaskFile& task, const runner::SampleTaskSpec& spec) {
  fs::create_directories(task.run_dir);
  const std::string config = (fs::path(task.run_dir) / "train.yaml").string();
  if (!fs::exists(config) || read_file(config) != task.released_config) write_file_atomic(config, task.released_config);
  const fs::path ckpt = task.released_checkpoint;
  if (!fs::is_regular_file(ckpt))
    throw IoError(ckpt.string() + ": no such checkpoint file (moved? " + config::kCheckpointsDirHint +
                  ", and run again)");
  const std::string digest = sha256_file_hex(ckpt.string());
  if (!spec.checkpoint_sha256.empty() && digest != spec.checkpoint_sha256)
    throw IoError(ckpt.string() + ": SHA-256 " + digest + " is not " + spec.checkpoint_sha256 + ", the digest run " +
                  task.run_id + " is named by (the file changed, or it is another file)");
  return ckpt;
}

// The checkpoint the task samples: a file of the run's own training, or the released one.
fs::path checkpoint_of(const TaskFile& task, const runner::SampleTaskSpec& spec) {
  // A released file always comes with the digest it must have, and only with it.
  if (task.released_checkpoint.empty() != spec.checkpoint_sha256.empty())
    throw ConfigError(task.path, "released",
                      "a task file's \"released\" member and its spec's checkpoint_sha256 go together; this one has " +
                          std::string(task.released_checkpoint.empty() ? "only the digest" : "only the file"));
  if (!task.released_checkpoint.empty()) return released_checkpoint(task, spec);
  const fs::path ckpt = fs::path(task.run_dir) / runner::checkpoint_file(spec);
  if (!fs::exists(ckpt))
    throw DataError(ckpt.string() + ": no such checkpoint (has the run's train task reached step " +
                    std::to_string(spec.checkpoint_step) + "?)");
  return ckpt;
}

}  // namespace

int sample_task(const TaskFile& task, const runner::SampleTaskSpec& spec, int threads, std::ostream& err) {
  const fs::path run_dir = task.run_dir;
  const fs::path ckpt = checkpoint_of(task, spec);
  const auto file = config::read_train_file((run_dir / "train.yaml").string());
  SampleJob job = sample_job(spec, threads);
  job.checkpoint = ckpt.string();
  EventLog events(task.events);
  write_start(events, task, ckpt, job, file.model);
  if (spec.exposure_num > 0) {
    write_exposure(events, file, exposure_job(spec, job, ckpt, run_dir, task.task_id), task, err);
  } else {
    draw_samples(events, file, job, task, err);
  }
  events.write({{"type", "end"}, {"status", "completed"}}, true);
  return 0;
}

}  // namespace repro::tasks
