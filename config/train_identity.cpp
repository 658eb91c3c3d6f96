#include "config/train_identity.h"

#include <filesystem>

#include "base/util/sha256.h"

namespace repro::config {

// Everything that defines what the run computes, member by member (nested initializer lists copy
// every value, twice per level). `iterations` is left out on purpose: extending a finished run
// with more steps is the same run.
nlohmann::json model_identity(const core::UNetConfig& m) {
  nlohmann::json model = nlohmann::json::object();
  model["image_size"] = m.image_size;
  model["in_channels"] = m.in_channels;
  model["num_channels"] = m.num_channels;
  model["num_res_blocks"] = m.num_res_blocks;
  model["attention_resolutions"] = m.attention_resolutions;
  model["dropout"] = m.dropout;
  model["channel_mult"] = m.resolved_channel_mult();
  model["num_heads"] = m.num_heads;
  model["num_head_channels"] = m.num_head_channels;
  model["num_heads_upsample"] = m.num_heads_upsample;
  model["use_scale_shift_norm"] = m.use_scale_shift_norm;
  model["resblock_updown"] = m.resblock_updown;
  model["use_new_attention_order"] = m.use_new_attention_order;
  model["learn_sigma"] = m.learn_sigma;
  model["num_classes"] = m.num_classes;
  model["conv_resample"] = m.conv_resample;
  model["use_fp16"] = m.use_fp16;
  model["precision"] = m.precision;
  return model;
}

nlohmann::json diffusion_identity(const core::DiffusionConfig& d) {
  nlohmann::json diffusion = nlohmann::json::object();
  diffusion["diffusion_steps"] = d.diffusion_steps;
  diffusion["noise_schedule"] = d.noise_schedule;
  diffusion["sigma_small"] = d.sigma_small;
  diffusion["use_kl"] = d.use_kl;
  diffusion["predict_xstart"] = d.predict_xstart;
  diffusion["rescale_timesteps"] = d.rescale_timesteps;
  diffusion["rescale_learned_sigmas"] = d.rescale_learned_sigmas;
  diffusion["timestep_respacing"] = d.timestep_respacing;
  diffusion["model_mean_type"] = d.model_mean_type;
  diffusion["model_var_type"] = d.model_var_type;
  diffusion["loss_type"] = d.loss_type;
  return diffusion;
}

nlohmann::json train_section_identity(const core::TrainConfig& t, int world_size) {
  nlohmann::json train = nlohmann::json::object();
  train["method"] = t.method;
  train["gamma"] = t.gamma;
  train["lambda_gp"] = t.lambda_gp;
  train["lambda_wd"] = t.lambda_wd;
  train["wd_mode"] = t.wd_mode;
  train["schedule_sampler"] = t.schedule_sampler;
  train["optimizer"] = t.optimizer;
  train["lr"] = t.lr;
  train["weight_decay"] = t.weight_decay;
  train["adam_beta1"] = t.adam_beta1;
  train["adam_beta2"] = t.adam_beta2;
  train["adam_eps"] = t.adam_eps;
  train["lr_anneal_steps"] = t.lr_anneal_steps;
  train["grad_clip"] = t.grad_clip;
  // Added after runs existed: only a non-default value enters the identity, so no run id changes.
  if (t.loss_reduction != "mean") train["loss_reduction"] = t.loss_reduction;
  train["batch_size"] = t.batch_size;
  train["microbatch"] = t.microbatch;
  train["ema_rate"] = t.ema_rate;
  train["seed"] = t.seed;
  train["world_size"] = world_size;
  return train;
}

nlohmann::json data_identity(const core::DataConfig& d) {
  nlohmann::json data = nlohmann::json::object();
  data["path"] = std::filesystem::absolute(d.path).lexically_normal().string();
  data["random_flip"] = d.random_flip;
  return data;
}

nlohmann::json train_identity(const TrainFile& f, int world_size) {
  nlohmann::json id = nlohmann::json::object();
  id["model"] = model_identity(f.model);
  id["diffusion"] = diffusion_identity(f.diffusion);
  id["train"] = train_section_identity(f.train, world_size);
  id["data"] = data_identity(f.data);
  return id;
}

std::string run_id(const nlohmann::json& identity) { return run_id_of_dump(identity.dump()); }
std::string run_id_of_dump(const std::string& compact_dump) { return sha256_hex(compact_dump).substr(0, 12); }

// The compact dump of an object is its members' in key order: data, diffusion, model, train.
std::string identity_dump(const std::string& data, const std::string& diffusion, const std::string& model,
                          const std::string& train) {
  std::string text;
  text.reserve(48 + data.size() + diffusion.size() + model.size() + train.size());
  text += "{\"data\":";
  text += data;
  text += ",\"diffusion\":";
  text += diffusion;
  text += ",\"model\":";
  text += model;
  text += ",\"train\":";
  text += train;
  text += '}';
  return text;
}

}  // namespace repro::config
