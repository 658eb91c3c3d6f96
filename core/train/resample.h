#pragma once
// Timestep samplers for training (resample.py): draw t for each sample of a batch, with the
// importance weights 1 / (T p_t) that keep the weighted loss an unbiased estimate of the uniform one.
#include <torch/torch.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

namespace repro::core {

class ScheduleSampler {
 public:
  struct Draw {
    torch::Tensor t;        // [N] int64, each in [0, T)
    torch::Tensor weights;  // [N] float32, 1 / (T p_t)
  };

  virtual ~ScheduleSampler() = default;

  // One unnormalised, non-negative weight per diffusion step (size T); at least one is positive.
  virtual std::vector<double> weights() const = 0;

  // p = w / sum(w); t ~ Categorical(p) drawn with torch::multinomial (with replacement) on a CPU
  // float64 tensor using `gen`, so the same generator state gives the same draws. Both tensors are
  // moved to `device`. Precondition: batch_size > 0; `gen` is a CPU generator.
  Draw sample(int64_t batch_size, torch::Generator& gen, const torch::Device& device) const;

  // Records per-sample training losses (unweighted, detached) for timesteps `ts`, in order. In
  // multi-process training pass the losses of all ranks, in rank order, as the reference gathers
  // them. Default: ignored.
  virtual void update_with_losses(const std::vector<int64_t>& ts, const std::vector<double>& losses);

  // Text snapshot of the sampler's learned state for checkpoints; load_state(state()) restores it
  // exactly (doubles are written with %.17g). Throws DataError for text not written by this sampler.
  virtual std::string state() const;
  virtual void load_state(const std::string& state);

  // The name accepted by create_named_schedule_sampler.
  virtual std::string name() const = 0;
};

// All timesteps equally likely; importance weights are exactly 1.
class UniformSampler : public ScheduleSampler {
 public:
  explicit UniformSampler(int num_timesteps);
  std::vector<double> weights() const override;
  std::string name() const override { return "uniform"; }

 private:
  int num_timesteps_;
};

// LossSecondMomentResampler: p_t proportional to sqrt(E[loss_t^2]) over the last `history_per_term`
// losses seen at t, mixed with uniform_prob of the uniform distribution. Uniform until every one
// of the T timesteps has a full history (the reference's _warmed_up). Not thread-safe.
class LossSecondMomentResampler : public ScheduleSampler {
 public:
  // Reference defaults: history 10, uniform_prob 0.001 (spec §5.5). Throws ConfigError when
  // num_timesteps < 1, history_per_term < 1 or uniform_prob is outside [0, 1].
  explicit LossSecondMomentResampler(int num_timesteps, int history_per_term = 10, double uniform_prob = 0.001);

  // Before warm-up: all ones. After: w_t = sqrt(mean(hist_t^2)); w /= sum(w);
  // w = w (1 - uniform_prob) + uniform_prob / T. If every recorded loss is 0 (sum(w) == 0, where
  // the reference would divide by zero) the weights are all ones.
  std::vector<double> weights() const override;

  // Pushes each (t, loss) in order into t's FIFO, dropping the oldest when it is full.
  // Throws DataError when the lengths differ, a t is outside [0, T) or a loss is not finite.
  void update_with_losses(const std::vector<int64_t>& ts, const std::vector<double>& losses) override;

  std::string state() const override;
  void load_state(const std::string& state) override;
  std::string name() const override { return "loss-second-moment"; }

  bool warmed_up() const;
  int num_timesteps() const { return num_timesteps_; }
  int history_per_term() const { return history_per_term_; }
  double uniform_prob() const { return uniform_prob_; }

 private:
  int num_timesteps_;
  int history_per_term_;
  double uniform_prob_;
  std::vector<std::deque<double>> history_;  // [T] oldest first, each at most history_per_term_
};

// "uniform" | "loss-second-moment" (with the reference's defaults). Throws ConfigError at key
// train.schedule_sampler for any other name.
std::unique_ptr<ScheduleSampler> create_named_schedule_sampler(const std::string& name, int num_timesteps);

}  // namespace repro::core
