// One training step, phase by phase as guided-diffusion's train_util.TrainLoop.run_step:
// forward_backward, optimize (mp_trainer.optimize, with _anneal_lr), _update_ema, log_step.
#include <algorithm>
#include <cmath>

#include "core/train/trainer_impl.h"

namespace repro::core {

StepResult Trainer::Impl::run_step() {
  StepResult r;
  if (forward_backward(r) && optimize(r)) update_ema();
  log_step(r);
  return r;
}

// Every microbatch's losses, the resampler's update and the backward pass (gradients accumulate
// over the microbatches). False when the step ends in the forward pass (r.outcome says how).
bool Trainer::Impl::forward_backward(StepResult& r) {
  optimizer_->zero_grad();
  model_->zero_grad();
  const int64_t batch = config_.batch_size, micro = config_.effective_microbatch();
  auto x_all = data_.next_batch_rows(batch * world_, my_rows()).to(options_.device);
  double loss_sum = 0;
  for (int64_t i = 0; i < batch; i += micro)
    if (!forward_backward_micro(x_all.slice(0, i, i + micro), r, &loss_sum)) return false;
  r.loss = loss_sum / static_cast<double>(batch * world_);
  return true;
}

bool Trainer::Impl::forward_backward_micro(const torch::Tensor& x0, StepResult& r, double* loss_sum) {
  const MicroInputs draw = draw_inputs(x0);
  ModelFn fn = [&](const torch::Tensor& x, const torch::Tensor& t) { return model_->forward(x, t); };
  const MethodLosses terms = method_losses(method_, diffusion_, fn, draw.in, model_params_);
  const torch::Tensor all = gather_per_sample(draw, terms);
  if (!torch::isfinite(all.select(1, 1)).all().item<bool>()) {
    // An fp16 overflow in the forward pass is skipped as one in the gradients. Without loss
    // scaling the run stops before anything (resampler history, weights, EMA) sees the values.
    if (mp_->loss_scaling()) {
      mp_->set_lg_loss_scale(mp_->lg_loss_scale() - 1);
      r.outcome = StepOutcome::kSkipped;
    } else {
      r.outcome = StepOutcome::kDiverged;
    }
    return false;
  }
  // The resampler learns from the unweighted per-sample losses of all ranks, as the reference.
  const auto t_all = all.select(1, 0).to(torch::kInt64).contiguous();
  const auto l_all = all.select(1, 1).contiguous();
  const std::vector<int64_t> ts(t_all.data_ptr<int64_t>(), t_all.data_ptr<int64_t>() + t_all.numel());
  const std::vector<double> ls(l_all.data_ptr<double>(), l_all.data_ptr<double>() + l_all.numel());
  sampler_->update_with_losses(ts, ls);
  auto loss = (terms.loss * draw.weights).mean();
  if (terms.penalty.defined()) loss = loss + terms.penalty;
  // Quirk kept from the reference: each microbatch's mean is backpropagated as is (no 1/k).
  mp_->scale_loss(loss).backward();
  *loss_sum += log_loss_dict(all, ts, terms);
  return true;
}

// The schedule sampler's t and weights, then eps, xi and the probe, in that order. Every rank
// draws the whole global microbatch from the same generator and keeps its own slice: the
// computation does not depend on the number of processes.
MicroInputs Trainer::Impl::draw_inputs(const torch::Tensor& x0) {
  const int64_t micro = config_.effective_microbatch(), global_micro = micro * world_;
  const auto device = options_.device;
  auto mine = [&](const torch::Tensor& g) { return g.slice(0, rank_ * micro, (rank_ + 1) * micro); };
  auto shape = x0.sizes().vec();
  shape[0] = global_micro;
  auto normal = [&] {
    return mine(torch::randn(shape, generator_, torch::TensorOptions().dtype(torch::kFloat32))).to(device);
  };
  const auto sampled = sampler_->sample(global_micro, generator_, device);
  MicroInputs out;
  out.weights = mine(sampled.weights);
  out.in.x_start = x0;
  out.in.t = mine(sampled.t);
  out.in.noise = normal();
  if (method_.perturbs_input()) out.in.xi = normal();
  if (method_.probes_jacobian()) out.in.gp_probe = normal();
  return out;
}

// Every rank's per-sample values, [global_micro, 5] float64: t, loss, mse, vb, weight (the
// reference's all_gather in update_with_local_losses, and the mean over ranks of its logs).
torch::Tensor Trainer::Impl::gather_per_sample(const MicroInputs& draw, const MethodLosses& terms) const {
  const int64_t micro = config_.effective_microbatch();
  auto col = [&](const torch::Tensor& v) {
    return v.defined() ? v.detach().to(torch::kFloat64).cpu()
                       : torch::full({micro}, std::nan(""), torch::TensorOptions().dtype(torch::kFloat64));
  };
  return comm_->all_gather(
      torch::stack({col(draw.in.t), col(terms.loss), col(terms.mse), col(terms.vb), col(draw.weights)}, 1));
}

// log_loss_dict: the importance-weighted microbatch means, and every sample by quarter of the
// timestep range. Returns the sum of the weighted losses.
double Trainer::Impl::log_loss_dict(const torch::Tensor& per_sample, const std::vector<int64_t>& t,
                                    const MethodLosses& terms) {
  const int T = diffusion_.num_timesteps();
  auto w = per_sample.select(1, 4);
  auto lw = per_sample.select(1, 1).contiguous() * w;
  auto mw = terms.mse.defined() ? per_sample.select(1, 2) * w : torch::Tensor();
  auto vw = terms.vb.defined() ? per_sample.select(1, 3) * w : torch::Tensor();
  log_means_.add("loss", lw.mean().item<double>());
  if (mw.defined()) log_means_.add("mse", mw.mean().item<double>());
  if (vw.defined()) log_means_.add("vb", vw.mean().item<double>());
  auto lw_a = lw.accessor<double, 1>();
  for (size_t k = 0; k < t.size(); ++k) {
    const std::string q = "_q" + std::to_string(std::min(3, static_cast<int>(4 * t[k] / T)));
    const auto i = static_cast<int64_t>(k);
    log_means_.add("loss" + q, lw_a[i]);
    if (mw.defined()) log_means_.add("mse" + q, mw[i].item<double>());
    if (vw.defined()) log_means_.add("vb" + q, vw[i].item<double>());
  }
  return lw.sum().item<double>();
}

// mp_trainer.optimize: gradients into the float32 masters, the norms, then the update (at the
// annealed lr, clipped when asked: the reference does not clip). False when no update is taken.
bool Trainer::Impl::optimize(StepResult& r) {
  if (!gradients_to_masters(r)) return false;
  anneal_lr(r);
  if (config_.grad_clip > 0) mp_->clip_master_grads(config_.grad_clip);
  optimizer_->step();
  mp_->masters_to_model();
  return true;
}

// Averaged over ranks and unscaled into the masters. An fp16 overflow skips the step (as the
// reference); without loss scaling a non-finite gradient or loss (a penalty too) is a divergence.
bool Trainer::Impl::gradients_to_masters(StepResult& r) {
  average_gradients();
  double grad_norm = 0;
  const bool finite_scaled = mp_->grads_to_master(&grad_norm);
  r.grad_norm = grad_norm;
  if (!finite_scaled) {
    r.outcome = StepOutcome::kSkipped;
    return false;
  }
  if (!std::isfinite(grad_norm) || !std::isfinite(r.loss)) {
    r.outcome = StepOutcome::kDiverged;
    return false;
  }
  log_norms(grad_norm);
  return true;
}

// The reference's DDP all-reduce: every rank's gradients replaced by their mean over ranks.
void Trainer::Impl::average_gradients() {
  if (world_ == 1) return;
  // A parameter no rank used keeps no gradient (the optimizer skips it), as in one process.
  auto used = torch::zeros({static_cast<int64_t>(model_params_.size())}, torch::kInt32);
  for (size_t i = 0; i < model_params_.size(); ++i) used[i] = model_params_[i].grad().defined() ? 1 : 0;
  comm_->all_reduce_max(used);
  std::vector<torch::Tensor> flat;
  for (size_t i = 0; i < model_params_.size(); ++i) {
    auto& p = model_params_[i];
    if (used[i].item<int>() == 0) continue;
    if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
    flat.push_back(p.grad().flatten().to(torch::kFloat32));
  }
  if (flat.empty()) return;
  auto buf = torch::cat(flat);
  comm_->all_reduce_sum(buf);
  buf.div_(world_);
  int64_t offset = 0;
  for (size_t i = 0; i < model_params_.size(); ++i) {
    auto& p = model_params_[i];
    if (used[i].item<int>() == 0) continue;
    const int64_t n = p.numel();
    p.mutable_grad().copy_(buf.slice(0, offset, offset + n).view(p.sizes()));
    offset += n;
  }
}

// _compute_norms: both norms before the update.
void Trainer::Impl::log_norms(double grad_norm) {
  double psq = 0;
  {
    torch::NoGradGuard ng;
    for (const auto& p : params_) psq += p.detach().to(torch::kFloat64).pow(2).sum().item<double>();
  }
  log_means_.add("grad_norm", grad_norm);
  log_means_.add("param_norm", std::sqrt(psq));
}

// _anneal_lr. The reference sets the lr after each step for the next one; set here before the step
// it is for, the same value.
void Trainer::Impl::anneal_lr(StepResult& r) {
  r.lr = current_lr();
  for (auto& group : optimizer_->param_groups()) group.options().set_lr(r.lr);
}

// Step s (0-based) trains with lr * (1 - (s - 1) / N): the reference anneals from the step just
// taken, so steps 0 and 1 both use lr.
double Trainer::Impl::current_lr() const {
  if (config_.lr_anneal_steps <= 0) return config_.lr;
  const double frac =
      static_cast<double>(std::max<int64_t>(step_ - 1, 0)) / static_cast<double>(config_.lr_anneal_steps);
  return config_.lr * std::max(0.0, 1.0 - frac);
}

// _update_ema: on taken steps only.
void Trainer::Impl::update_ema() {
  for (auto& ema : emas_) ema.update(params_);
}

// log_step and the step count: a skipped step counts (as in the reference), a diverged one does not.
void Trainer::Impl::log_step(const StepResult& r) {
  consecutive_skips_ = r.outcome == StepOutcome::kSkipped ? consecutive_skips_ + 1 : 0;
  if (r.outcome == StepOutcome::kDiverged) return;
  ++step_;
  if (r.outcome == StepOutcome::kTaken) log_window_.lr = r.lr;
  log_window_.images += config_.batch_size * world_;
}

// Rows of the global batch this rank trains on: its slice of every global microbatch, so that
// microbatch i of rank r is rows [i*m*W + r*m, i*m*W + (r+1)*m) of the global batch.
std::vector<int64_t> Trainer::Impl::my_rows() const {
  const int64_t batch = config_.batch_size, micro = config_.effective_microbatch();
  std::vector<int64_t> rows;
  for (int64_t i = 0; i < batch; i += micro)
    for (int64_t j = 0; j < micro; ++j) rows.push_back(i * world_ + rank_ * micro + j);
  return rows;
}

}  // namespace repro::core
