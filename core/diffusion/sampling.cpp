#include "core/diffusion/sampling.h"

#include <dlfcn.h>

namespace repro::core {

namespace {

// OpenBLAS's thread-count functions when the process's BLAS is OpenBLAS, else null. Looked up
// at run time: LibTorch builds with MKL have none, and repro_core does not link OpenBLAS itself.
template <typename F>
F openblas_function(const char* name) {
  return reinterpret_cast<F>(dlsym(RTLD_DEFAULT, name));
}
using SetThreads = void (*)(int);
using GetThreads = int (*)();
torch::Tensor nonzero_mask(const torch::Tensor& t, int64_t dims) {
  auto m = (t != 0).to(torch::kFloat32);
  while (m.dim() < dims) m = m.unsqueeze(-1);
  return m;
}
}  // namespace

SingleThreadedBlas::SingleThreadedBlas() {
  const auto get = openblas_function<GetThreads>("openblas_get_num_threads");
  const auto set = openblas_function<SetThreads>("openblas_set_num_threads");
  if (!get || !set) return;
  previous_ = get();
  set(1);
}

SingleThreadedBlas::~SingleThreadedBlas() {
  if (previous_ > 0) openblas_function<SetThreads>("openblas_set_num_threads")(previous_);
}

ReverseStep p_sample(const GaussianDiffusion& diffusion, const ModelFn& model, const torch::Tensor& x,
                     const torch::Tensor& t, const torch::Tensor& noise, bool clip_denoised,
                     const EpsScale& eps_scale) {
  auto out = diffusion.p_mean_variance(model, x, t, clip_denoised, eps_scale);
  return {out.mean + nonzero_mask(t, x.dim()) * torch::exp(0.5 * out.log_variance) * noise, out.pred_xstart};
}

ReverseStep ddim_sample(const GaussianDiffusion& diffusion, const ModelFn& model, const torch::Tensor& x,
                        const torch::Tensor& t, const torch::Tensor& noise, bool clip_denoised, double eta,
                        const EpsScale& eps_scale) {
  auto out = diffusion.p_mean_variance(model, x, t, clip_denoised, eps_scale);
  auto eps = diffusion.predict_eps_from_xstart(x, t, out.pred_xstart);
  const auto& s = diffusion.schedule();
  auto alpha_bar = diffusion.extract(s.alphas_cumprod, t, x.sizes());
  auto alpha_bar_prev = diffusion.extract(s.alphas_cumprod_prev, t, x.sizes());
  auto sigma = eta * torch::sqrt((1 - alpha_bar_prev) / (1 - alpha_bar)) * torch::sqrt(1 - alpha_bar / alpha_bar_prev);
  auto mean_pred = out.pred_xstart * torch::sqrt(alpha_bar_prev) + torch::sqrt(1 - alpha_bar_prev - sigma.pow(2)) * eps;
  return {mean_pred + nonzero_mask(t, x.dim()) * sigma * noise, out.pred_xstart};
}

ReverseStep reverse_step(const GaussianDiffusion& diffusion, const ModelFn& model, const torch::Tensor& x,
                         const torch::Tensor& t, const torch::Tensor& noise, const SampleOptions& options) {
  return options.ddim
             ? ddim_sample(diffusion, model, x, t, noise, options.clip_denoised, options.eta, options.eps_scale)
             : p_sample(diffusion, model, x, t, noise, options.clip_denoised, options.eps_scale);
}

torch::Tensor sample_loop_from(const GaussianDiffusion& diffusion, const ModelFn& model, const torch::Tensor& x,
                               int first, torch::Generator& generator, const SampleOptions& options) {
  TORCH_CHECK(first >= 0 && first < diffusion.num_timesteps(), "sample_loop_from: index ", first, " outside [0, ",
              diffusion.num_timesteps(), ")");
  torch::Tensor img;
  {
    // Not only no gradients: no autograd bookkeeping (version counters, view tracking) either.
    c10::InferenceMode inference;
    SingleThreadedBlas one_blas_thread;
    const auto cpu_f32 = torch::TensorOptions().dtype(torch::kFloat32);
    const auto index = torch::TensorOptions().dtype(torch::kInt64).device(x.device());
    img = x.to(torch::kFloat32);
    for (int i = first; i >= 0; --i) {
      auto t = torch::full({x.size(0)}, i, index);
      auto noise = torch::randn(x.sizes(), generator, cpu_f32).to(x.device());
      img = reverse_step(diffusion, model, img, t, noise, options).sample;
      if (options.progress) options.progress(first + 1 - i, first + 1);
    }
  }
  return img.clone();  // an ordinary tensor: callers may modify it in place outside InferenceMode
}

torch::Tensor sample_loop(const GaussianDiffusion& diffusion, const ModelFn& model, torch::IntArrayRef shape,
                          torch::Generator& generator, const torch::Device& device, const SampleOptions& options) {
  torch::Tensor x_T;
  {
    c10::InferenceMode inference;
    x_T = torch::randn(shape, generator, torch::TensorOptions().dtype(torch::kFloat32)).to(device);
  }
  return sample_loop_from(diffusion, model, x_T, diffusion.num_timesteps() - 1, generator, options);
}

}  // namespace repro::core
