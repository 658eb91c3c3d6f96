#pragma once
// How fast one GPU trains and samples each of the paper's model sizes: the table the dry run
// turns into GPU-hours when the store has no measurement (docs/throughput.md). Every number is an
// estimate with its source; a model of another shape has no row (its cost is "unknown").
#include <cstdint>
#include <string>
#include <vector>

namespace repro::runner {

struct Throughput {
  std::string model;                 // "32x32 (cifar10, imagenet32)"
  int image_size = 0;                // model.image_size of the row's paper preset
  int64_t parameters = 0;            // unet_parameter_count of that preset: the shape a run must have
  double train_images_per_s = 0;     // per GPU: images through forward, backward and AdamW per second
  double sample_forwards_per_s = 0;  // per GPU: images x sampling steps per second (one UNet forward each)
  std::string source;                // where the numbers come from (all estimates)
};

// One row per paper model size (UNetConfig::paper_preset 32, 64, 128).
const std::vector<Throughput>& throughput_table();

// The row of a model with this image size and parameter count; nullptr when none has it.
const Throughput* throughput_for(int image_size, int64_t parameters);

// How much an optimizer step of `method` costs against ADM's: 3 for adm-gp (the gradient penalty's
// second backward pass; experiments/README.md's estimate for table2), else 1.
double method_cost_factor(const std::string& method);

// Eval tasks: Inception-v3 features per second per GPU (299x299 after the resize), for the
// samples; the reference batch's statistics are computed once and cached, not counted.
inline constexpr double kEvalImagesPerSecond = 1000;
inline constexpr const char* kEvalThroughputSource =
    "estimate: Inception-v3 forward at 299x299 on a V100, ~1,000 img/s (docs/throughput.md)";

}  // namespace repro::runner
