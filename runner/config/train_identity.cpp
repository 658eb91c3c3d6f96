#include "runner/config/train_identity.h"

#include <filesystem>

#include "core/util/sha256.h"

namespace repro::config {

// Everything that defines what the run computes. `iterations` is left out on purpose: extending
// a finished run with more steps is the same run.
nlohmann::json train_identity(const TrainFile& f, int world_size) {
  const auto& m = f.model;
  const auto& d = f.diffusion;
  const auto& t = f.train;
  return nlohmann::json{
      {"model",
       {{"image_size", m.image_size}, {"in_channels", m.in_channels}, {"num_channels", m.num_channels},
        {"num_res_blocks", m.num_res_blocks}, {"attention_resolutions", m.attention_resolutions},
        {"dropout", m.dropout}, {"channel_mult", m.resolved_channel_mult()}, {"num_heads", m.num_heads},
        {"num_head_channels", m.num_head_channels}, {"num_heads_upsample", m.num_heads_upsample},
        {"use_scale_shift_norm", m.use_scale_shift_norm}, {"resblock_updown", m.resblock_updown},
        {"use_new_attention_order", m.use_new_attention_order}, {"learn_sigma", m.learn_sigma},
        {"num_classes", m.num_classes}, {"conv_resample", m.conv_resample}, {"use_fp16", m.use_fp16},
        {"precision", m.precision}}},
      {"diffusion",
       {{"diffusion_steps", d.diffusion_steps}, {"noise_schedule", d.noise_schedule}, {"sigma_small", d.sigma_small},
        {"use_kl", d.use_kl}, {"predict_xstart", d.predict_xstart}, {"rescale_timesteps", d.rescale_timesteps},
        {"rescale_learned_sigmas", d.rescale_learned_sigmas}, {"timestep_respacing", d.timestep_respacing},
        {"model_mean_type", d.model_mean_type}, {"model_var_type", d.model_var_type}, {"loss_type", d.loss_type}}},
      {"train",
       {{"method", t.method}, {"gamma", t.gamma}, {"lambda_gp", t.lambda_gp}, {"lambda_wd", t.lambda_wd},
        {"wd_mode", t.wd_mode}, {"schedule_sampler", t.schedule_sampler}, {"optimizer", t.optimizer}, {"lr", t.lr},
        {"weight_decay", t.weight_decay}, {"adam_beta1", t.adam_beta1}, {"adam_beta2", t.adam_beta2},
        {"adam_eps", t.adam_eps}, {"lr_anneal_steps", t.lr_anneal_steps}, {"grad_clip", t.grad_clip},
        {"batch_size", t.batch_size}, {"microbatch", t.microbatch}, {"ema_rate", t.ema_rate},
        {"seed", t.seed},
        {"world_size", world_size}}},
      {"data", {{"path", std::filesystem::absolute(f.data.path).lexically_normal().string()}, {"random_flip", f.data.random_flip}}}};
}

std::string run_id(const nlohmann::json& identity) { return sha256_hex(identity.dump()).substr(0, 12); }

}  // namespace repro::config
