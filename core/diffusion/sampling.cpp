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

torch::Tensor p_sample(const GaussianDiffusion& diffusion, const ModelFn& model, const torch::Tensor& x,
                       const torch::Tensor& t, const torch::Tensor& noise, bool clip_denoised) {
  auto out = diffusion.p_mean_variance(model, x, t, clip_denoised);
  return out.mean + nonzero_mask(t, x.dim()) * torch::exp(0.5 * out.log_variance) * noise;
}

torch::Tensor ddim_sample(const GaussianDiffusion& diffusion, const ModelFn& model, const torch::Tensor& x,
                          const torch::Tensor& t, const torch::Tensor& noise, bool clip_denoised, double eta) {
  auto out = diffusion.p_mean_variance(model, x, t, clip_denoised);
  auto eps = diffusion.predict_eps_from_xstart(x, t, out.pred_xstart);
  const auto& s = diffusion.schedule();
  auto alpha_bar = diffusion.extract(s.alphas_cumprod, t, x.sizes());
  auto alpha_bar_prev = diffusion.extract(s.alphas_cumprod_prev, t, x.sizes());
  auto sigma = eta * torch::sqrt((1 - alpha_bar_prev) / (1 - alpha_bar)) * torch::sqrt(1 - alpha_bar / alpha_bar_prev);
  auto mean_pred = out.pred_xstart * torch::sqrt(alpha_bar_prev) + torch::sqrt(1 - alpha_bar_prev - sigma.pow(2)) * eps;
  return mean_pred + nonzero_mask(t, x.dim()) * sigma * noise;
}

torch::Tensor sample_loop(const GaussianDiffusion& diffusion, const ModelFn& model, torch::IntArrayRef shape,
                          torch::Generator& generator, const torch::Device& device, const SampleOptions& options) {
  torch::Tensor img;
  {
    // Not only no gradients: no autograd bookkeeping (version counters, view tracking) either.
    c10::InferenceMode inference;
    SingleThreadedBlas one_blas_thread;
    auto cpu_f32 = torch::TensorOptions().dtype(torch::kFloat32);
    img = torch::randn(shape, generator, cpu_f32).to(device);
    const int T = diffusion.num_timesteps();
    for (int i = T - 1; i >= 0; --i) {
      auto t = torch::full({shape[0]}, i, torch::TensorOptions().dtype(torch::kInt64).device(device));
      auto noise = torch::randn(shape, generator, cpu_f32).to(device);
      img = options.ddim ? ddim_sample(diffusion, model, img, t, noise, options.clip_denoised, options.eta)
                         : p_sample(diffusion, model, img, t, noise, options.clip_denoised);
      if (options.progress) options.progress(T - i, T);
    }
  }
  return img.clone();  // an ordinary tensor: callers may modify it in place outside InferenceMode
}

}  // namespace repro::core
