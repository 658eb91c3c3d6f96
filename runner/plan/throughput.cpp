#include "runner/plan/throughput.h"

#include "base/nn/unet_config.h"
#include "base/nn/unet_param_count.h"

namespace repro::runner {

namespace {

// experiments/README.md's V100 figures, which reproduce its per-table V100-day estimates: training
// ~400 img/s for the 32x32 model, ~40 for 64x64, ~8 for 128x128; sampling three times those rates
// per step (a forward pass only, against forward + backward). Not measured on a GPU yet
// (docs/gpu.md): measured runs in the store replace them.
Throughput row(int image_size, const char* datasets, double train) {
  Throughput t;
  t.image_size = image_size;
  t.model = std::to_string(image_size) + "x" + std::to_string(image_size) + " (" + datasets + ")";
  t.parameters = core::unet_parameter_count(core::UNetConfig::paper_preset(image_size));
  t.train_images_per_s = train;
  t.sample_forwards_per_s = 3 * train;
  t.source = "estimate: V100 fp16, experiments/README.md (train " + std::to_string(static_cast<int>(train)) +
             " img/s, sampling 3x per step)";
  return t;
}

}  // namespace

const std::vector<Throughput>& throughput_table() {
  static const std::vector<Throughput> table = {row(32, "cifar10, imagenet32", 400),
                                                row(64, "lsun_tower64, celeba64", 40), row(128, "ffhq128", 8)};
  return table;
}

double method_cost_factor(const std::string& method) { return method == "adm-gp" ? 3.0 : 1.0; }

const Throughput* throughput_for(int image_size, int64_t parameters) {
  for (const auto& t : throughput_table())
    if (t.image_size == image_size && t.parameters == parameters) return &t;
  return nullptr;
}

}  // namespace repro::runner
