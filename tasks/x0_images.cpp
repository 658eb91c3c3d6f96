#include "tasks/x0_images.h"

#include "base/util/errors.h"

namespace repro::tasks {

torch::Tensor read_x0_images(const std::string& path, int64_t, int64_t, const core::UNetConfig&) {
  throw Error(path + ": read_x0_images not implemented yet");
}

}  // namespace repro::tasks
