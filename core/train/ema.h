#pragma once
// Exponential moving average of the model parameters (nn.py update_ema, train_util.py _update_ema).
//
// The trainer calls update() once per TAKEN optimizer step, from step 1, with no warm-up or bias
// correction, on the fp32 master parameters; a step skipped by the fp16 loss scaler (non-finite
// gradients) does not update the EMA. That policy is the trainer's job, not this class's.
#include <torch/torch.h>

#include <vector>

namespace repro::core {

class Ema {
 public:
  // The shadow starts as a detached float32 clone of `params` (same shapes, same devices).
  // Throws ConfigError unless 0 <= rate <= 1. The reference uses 0.9999.
  Ema(double rate, const std::vector<torch::Tensor>& params);

  // shadow_i <- shadow_i * rate + params_i * (1 - rate), in float32 under no_grad, from the values
  // the parameters hold now. `params` must match the constructor's in count and shapes (TORCH_CHECK).
  void update(const std::vector<torch::Tensor>& params);

  double rate() const { return rate_; }

  // float32, detached, in the constructor's parameter order.
  const std::vector<torch::Tensor>& shadow() const { return shadow_; }

  // Writes the shadow into `params` in place (cast to each parameter's dtype), e.g. to save or sample
  // with the EMA weights. Same count and shapes as the constructor's (TORCH_CHECK).
  void copy_to(const std::vector<torch::Tensor>& params) const;

  // Replaces the shadow with `values` (e.g. from an ema_*.pt checkpoint), cast to float32 on the
  // shadow's devices. Same count and shapes as the constructor's (TORCH_CHECK).
  void load(const std::vector<torch::Tensor>& values);

 private:
  void check_matches(const std::vector<torch::Tensor>& tensors, const char* what) const;

  double rate_;
  std::vector<torch::Tensor> shadow_;
};

}  // namespace repro::core
