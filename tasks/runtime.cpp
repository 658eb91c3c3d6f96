#include "tasks/runtime.h"

#include <filesystem>

#include "base/util/errors.h"
#include "core/util/checkpoint.h"

namespace repro::tasks {

core::DeviceInfo setup_runtime(const RuntimeOptions& options) {
  core::set_num_threads(options.threads);
  return core::select_device(options.device);
}

core::UNetModel build_model(const config::ModelFile& file, const std::string& checkpoint,
                            const core::DeviceInfo& device) {
  core::UNetModel model(file.model);
  if (!checkpoint.empty()) core::load_checkpoint(*model, checkpoint);
  model->to(device.device);
  model->eval();
  const auto torso = core::torso_dtype_for(device.device, file.model.use_fp16, file.model.precision);
  if (torso != torch::kFloat32) model->convert_torso(torso);
  return model;
}

void create_parent_folders(const std::vector<std::string>& paths) {
  for (const std::string& path : paths) {
    const auto parent = std::filesystem::path(path).parent_path();
    std::error_code ec;
    if (!path.empty() && !parent.empty() && !std::filesystem::create_directories(parent, ec) && ec)
      throw IoError("cannot create the folder of " + path + ": " + ec.message());
  }
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace repro::tasks
