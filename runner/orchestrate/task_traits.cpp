#include "runner/orchestrate/task_traits.h"

#include <nlohmann/json.hpp>

namespace repro::runner {

TaskTraits task_traits(const TaskSpec& task) {
  TaskTraits traits;
  const auto spec = nlohmann::json::parse(task.spec);
  if (!spec.is_object()) return traits;
  if (const auto it = spec.find("gpus"); it != spec.end() && it->is_number_integer()) traits.gpus = it->get<int>();
  if (task.kind == "train")
    if (const auto it = spec.find("iterations"); it != spec.end() && it->is_number_integer())
      traits.iterations = it->get<int64_t>();
  return traits;
}

SlotRequest slot_of(const Executor& executor, const OrchestratorOptions& options, const TaskSpec& task,
                    const TaskTraits& traits) {
  if (options.slot_for) return options.slot_for(task);
  if (traits.gpus) return SlotRequest{*traits.gpus};
  // One GPU per process where the executor has GPUs, else CPU processes.
  const bool gpu = executor.fits(SlotRequest{1});
  return SlotRequest{gpu ? task.processes : 0, task.processes};
}

std::string unfit_reason(const SlotRequest& slot, const std::string& executor) {
  const bool slurm = executor == "slurm";
  if (slot.gpus > 0)
    return "needs " + std::to_string(slot.gpus) + " GPUs (" + std::to_string(slot.ranks()) + " processes); the " +
           executor + " executor has fewer (" + (slurm ? "--slurm-gpus or slurm.gpus" : "--gpus") +
           "; or lower train.world_size)";
  return "needs " + std::to_string(slot.ranks()) + " CPU processes at once; the " + executor +
         " executor allows fewer (--max-parallel; or lower train.world_size)";
}

}  // namespace repro::runner
