#include "base/train/train_config.h"

#include <cmath>

#include "base/util/errors.h"

namespace repro::core {

void TrainConfig::validate(const std::string& where) const {
  auto fail = [&](const std::string& key, const std::string& what) { throw ConfigError(where, "train." + key, what); };
  const std::vector<std::string> methods = {"adm", "adm-ip", "ddpm-y", "adm-gp", "adm-wd"};
  bool known = false;
  for (const auto& m : methods) known |= m == method;
  if (!known) fail("method", "expected one of adm, adm-ip, ddpm-y, adm-gp, adm-wd, got '" + method + "'");
  if (!(gamma >= 0) || !std::isfinite(gamma)) fail("gamma", "expected gamma >= 0, got " + std::to_string(gamma));
  if (lambda_gp < 0) fail("lambda_gp", "expected >= 0, got " + std::to_string(lambda_gp));
  if (lambda_wd < 0) fail("lambda_wd", "expected >= 0, got " + std::to_string(lambda_wd));
  if (wd_mode != "l2" && wd_mode != "decoupled") fail("wd_mode", "expected l2 or decoupled, got '" + wd_mode + "'");
  if (schedule_sampler != "uniform" && schedule_sampler != "loss-second-moment")
    fail("schedule_sampler", "expected uniform or loss-second-moment, got '" + schedule_sampler + "'");
  if (optimizer != "adamw" && optimizer != "adam") fail("optimizer", "expected adamw or adam, got '" + optimizer + "'");
  if (method == "adm-wd" && wd_mode == "decoupled" && optimizer != "adamw")
    fail("wd_mode", "decoupled weight decay needs optimizer adamw (Adam's weight_decay is an L2 gradient term)");
  if (!(lr > 0)) fail("lr", "expected > 0, got " + std::to_string(lr));
  if (weight_decay < 0) fail("weight_decay", "expected >= 0, got " + std::to_string(weight_decay));
  if (lr_anneal_steps < 0) fail("lr_anneal_steps", "expected >= 0, got " + std::to_string(lr_anneal_steps));
  if (grad_clip < 0) fail("grad_clip", "expected >= 0 (0 = off), got " + std::to_string(grad_clip));
  if (loss_reduction != "mean" && loss_reduction != "sum")
    fail("loss_reduction", "expected mean or sum, got '" + loss_reduction + "'");
  if (loss_reduction == "sum" && (method == "adm-gp" || (method == "adm-wd" && wd_mode == "l2")))
    fail("loss_reduction",
         "sum (DDIM's loss) is not defined for " + method + ": its penalty's weight is set against ADM's mean loss");
  if (keep != "evaluated" && keep != "all") fail("keep", "expected evaluated or all, got '" + keep + "'");
  if (world_size < 0)
    fail("world_size", "expected >= 1 processes (or 0: as launched), got " + std::to_string(world_size));
  if (batch_size < 1) fail("batch_size", "expected >= 1, got " + std::to_string(batch_size));
  if (microbatch == 0 || microbatch < -1)
    fail("microbatch", "expected -1 (off) or >= 1, got " + std::to_string(microbatch));
  if (batch_size % effective_microbatch() != 0)
    fail("microbatch",
         "batch_size " + std::to_string(batch_size) + " is not divisible by microbatch " + std::to_string(microbatch));
  for (double r : ema_rate)
    if (!(r >= 0 && r < 1)) fail("ema_rate", "expected rates in [0, 1), got " + std::to_string(r));
  if (iterations < 0) fail("iterations", "expected >= 0, got " + std::to_string(iterations));
  if (log_interval < 1) fail("log_interval", "expected >= 1, got " + std::to_string(log_interval));
  if (save_interval < 1) fail("save_interval", "expected >= 1, got " + std::to_string(save_interval));
}

void DataConfig::validate(const std::string& where) const {
  if (path.empty())
    throw ConfigError(where, "data.path", "missing: an .npz file with arr_0 uint8 [N, H, W, C] or an image folder");
}

}  // namespace repro::core
