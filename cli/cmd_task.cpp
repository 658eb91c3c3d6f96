// repro task FILE.json: one task of an experiment, as `repro run` launches it (docs/runner.md).
// The task writes only inside its run directory: train.yaml, events, checkpoints, samples, results.
#include <nlohmann/json.hpp>

#include <filesystem>
#include <ostream>

#include "cli/commands.h"
#include "cli/eval_task.h"
#include "cli/provenance.h"
#include "core/train/train_state.h"
#include "core/util/device.h"
#include "core/util/errors.h"
#include "core/util/event_log.h"
#include "core/util/file_io.h"
#include "runner/config/train_config_yaml.h"

namespace repro::cli {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

json read_task_file(const std::string& path) {
  json t;
  try {
    t = json::parse(read_file(path));
  } catch (const json::parse_error& e) {
    throw ConfigError(path, "", std::string("not a task file (JSON): ") + e.what());
  }
  if (t.value("v", 0) != 1) throw ConfigError(path, "v", "expected a version-1 task file");
  for (const char* key : {"task_id", "run_id", "kind", "run_dir", "events", "spec"})
    if (!t.contains(key)) throw ConfigError(path, key, "missing");
  return t;
}

// A train task whose config has train.world_size N > 1 runs as N processes: on Slurm srun starts
// them (SLURM_PROCID); locally train_run re-runs this task file once per rank (`repro task FILE
// --threads K` with RANK/WORLD_SIZE), each rank coming back here.
int train_task(const json& t, int threads, std::ostream& err) {
  const fs::path run_dir = t["run_dir"].get<std::string>();
  const auto& spec = t["spec"];
  fs::create_directories(run_dir);
  // The run's training file, as the plan resolved it; rewritten only when it changed.
  const std::string config = (run_dir / "train.yaml").string();
  const std::string text = spec.at("config").get<std::string>();
  if (!fs::exists(config) || read_file(config) != text) write_file_atomic(config, text);
  return train_run(config, run_dir.string(), t["events"].get<std::string>(), spec.at("iterations").get<int64_t>(),
                   /*resume=*/true, threads, err);
}

// The sample task's provenance: the machine and code, plus the sampling seed.
json sample_provenance(const json& spec) {
  json p = task_provenance(core::select_device("auto").description);
  p["seed"] = std::to_string(spec.at("seed").get<int64_t>());
  return p;
}

int sample_task(const json& t, int threads, std::ostream& err) {
  const fs::path run_dir = t["run_dir"].get<std::string>();
  const auto& spec = t["spec"];
  const std::string task_id = t["task_id"];
  const auto file = config::read_train_file((run_dir / "train.yaml").string());
  const int64_t k = spec.at("checkpoint_step").get<int64_t>();
  const std::string ema = spec.at("ema").get<std::string>();
  const fs::path ckpt = run_dir / "checkpoints" /
                        (ema == "model" ? core::checkpoint_name("model", k) : core::ema_name(std::stod(ema), k));
  if (!fs::exists(ckpt))
    throw DataError(ckpt.string() + ": no such checkpoint (has the run's train task reached step " + std::to_string(k) + "?)");
  EventLog events(t["events"].get<std::string>());
  events.write({{"type", "start"}, {"task_id", task_id}, {"kind", "sample"}, {"checkpoint", ckpt.string()},
                {"provenance", sample_provenance(spec)}}, true);
  SampleJob job;
  job.checkpoint = ckpt.string();
  const bool ddim = spec.at("sampler").get<std::string>() == "ddim";
  job.ddim = ddim;
  job.steps = (ddim ? "ddim" : "") + std::to_string(spec.at("steps").get<int>());
  job.eta = spec.at("eta").get<double>();
  job.clip_denoised = spec.at("clip_denoised").get<bool>();
  job.num_samples = spec.at("num_samples").get<int>();
  job.batch_size = spec.at("batch_size").get<int>();
  job.seed = spec.at("seed").get<int64_t>();
  job.threads = threads;
  job.out = (run_dir / "samples" / (task_id + ".npz")).string();
  try {
    // A finished earlier attempt left the complete file (writes are atomic): keep it.
    if (!fs::exists(job.out)) sample_run({file.model, file.diffusion}, job, err);
  } catch (const std::exception& e) {
    events.write({{"type", "end"}, {"status", "error"}, {"message", e.what()}}, true);
    throw;
  }
  events.write({{"type", "artifact"}, {"path", fs::relative(job.out, run_dir).string()}}, true);
  events.write({{"type", "end"}, {"status", "completed"}}, true);
  return 0;
}

int run_task(const std::string& path, int threads, std::ostream& err) {
  const json t = read_task_file(path);
  const std::string kind = t["kind"];
  if (kind == "train") return train_task(t, threads, err);
  if (kind == "sample") return sample_task(t, threads, err);
  if (kind == "eval") return eval_task(t, err);
  throw ConfigError(path, "kind", "expected train, sample or eval, got '" + kind + "'");
}

}  // namespace

void add_task_command(CLI::App& app, std::ostream& out, std::ostream& err, int* exit_code) {
  auto path = std::make_shared<std::string>();
  auto threads = std::make_shared<int>(0);
  auto* cmd = app.add_subcommand("task", "Run one task of an experiment (used by repro run)");
  cmd->add_option("FILE", *path, "the task file <run_dir>/tasks/<task_id>.json")->required();
  cmd->add_option("--threads", *threads,
                  "intra-op CPU threads of a train or sample task (0 = all cores; a data-parallel train task "
                  "gives each of its N local ranks cores/N)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->callback([path, threads, &err, exit_code] { *exit_code = run_task(*path, *threads, err); });
}

}  // namespace repro::cli
