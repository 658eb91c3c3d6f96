#pragma once
// MixedPrecision (fp16_util.MixedPrecisionTrainer): when the UNet torso runs in half precision,
// the optimizer and the EMAs work on float32 master copies of every parameter; with fp16, the loss
// is scaled by 2^lg_loss_scale before backward, gradients are unscaled into the masters, and a
// non-finite gradient skips the step (no optimizer or EMA update) and halves the scale
// (initial lg 20, +1e-3 per good step, as the reference). In float32 the masters ARE the
// parameters and nothing is scaled.
#include <torch/torch.h>

#include <vector>

#include "core/nn/unet.h"

namespace repro::core {

class MixedPrecision {
 public:
  // Copies the float32 masters, then converts the torso to `torso_dtype` (kFloat32, kHalf or
  // kBFloat16), as MixedPrecisionTrainer.__init__ does: the masters hold the unrounded init.
  MixedPrecision(UNetModel model, torch::ScalarType torso_dtype, bool loss_scaling, double initial_lg_loss_scale = 20.0,
                 double fp16_scale_growth = 1e-3);

  // float32 parameters in model->parameters() order: what the optimizer and EMAs see.
  const std::vector<torch::Tensor>& master_params() const { return master_; }
  bool loss_scaling() const { return loss_scaling_; }
  double lg_loss_scale() const { return lg_loss_scale_; }
  void set_lg_loss_scale(double lg) { lg_loss_scale_ = lg; }

  torch::Tensor scale_loss(const torch::Tensor& loss) const;  // loss * 2^lg when scaling

  // After backward: unscaled float32 gradients in the masters and their global L2 norm in
  // *grad_norm. With loss scaling, a non-finite norm lowers lg by 1 and returns false (skip the
  // step); on success lg grows by fp16_scale_growth. Without scaling it always returns true.
  bool grads_to_master(double* grad_norm);

  // train.grad_clip: torch.nn.utils.clip_grad_norm_ on the unscaled float32 master gradients
  // (total 2-norm over all of them, scaled by max_norm / (norm + 1e-6) when that is < 1).
  // Returns the norm before clipping.
  double clip_master_grads(double max_norm);

  // After optimizer.step: the model's parameters take the masters' values (cast to their dtype).
  void masters_to_model();

  // Checkpoint restore: float32 values (model order) into the masters, then into the model.
  void load_master(const std::vector<torch::Tensor>& values);

 private:
  std::vector<torch::Tensor> model_params_;
  std::vector<torch::Tensor> master_;
  bool separate_masters_ = false;
  bool loss_scaling_;
  double lg_loss_scale_;
  double growth_;
};

}  // namespace repro::core
