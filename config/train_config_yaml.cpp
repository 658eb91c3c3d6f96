#include "config/train_config_yaml.h"

#include "base/util/errors.h"

namespace repro::config {

// Applies "a.b=value" to the YAML tree: the value is parsed as YAML ("0.2", "[1,2]", "true").
std::vector<std::string> split_key_path(const std::string& path) {
  std::vector<std::string> keys;
  size_t start = 0;
  while (true) {
    const auto dot = path.find('.', start);
    keys.push_back(path.substr(start, dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return keys;
}

void apply_override(YAML::Node& root, const std::string& text) {
  const auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0)
    throw ConfigError("--set", text, "expected key.path=value, e.g. train.iterations=2000");
  const std::string path = text.substr(0, eq);
  YAML::Node value = load_yaml_string(text.substr(eq + 1), "--set " + path);
  const std::vector<std::string> keys = split_key_path(path);
  std::vector<YAML::Node> chain = {root};
  for (size_t i = 0; i + 1 < keys.size(); ++i) {
    YAML::Node next = chain.back()[keys[i]];
    if (!next.IsDefined() || next.IsNull()) next = YAML::Node(YAML::NodeType::Map);
    chain.back()[keys[i]] = next;
    chain.push_back(next);
  }
  chain.back()[keys.back()] = value;
}

void read_train_config(StrictMap& m, core::TrainConfig& c) {
  m.get("method", c.method);
  m.get("gamma", c.gamma);
  m.get("lambda_gp", c.lambda_gp);
  m.get("lambda_wd", c.lambda_wd);
  m.get("wd_mode", c.wd_mode);
  m.get("schedule_sampler", c.schedule_sampler);
  m.get("optimizer", c.optimizer);
  m.get("lr", c.lr);
  m.get("weight_decay", c.weight_decay);
  m.get("adam_beta1", c.adam_beta1);
  m.get("adam_beta2", c.adam_beta2);
  m.get("adam_eps", c.adam_eps);
  m.get("lr_anneal_steps", c.lr_anneal_steps);
  m.get("grad_clip", c.grad_clip);
  m.get("loss_reduction", c.loss_reduction);
  m.get("batch_size", c.batch_size);
  m.get("microbatch", c.microbatch);
  m.get("ema_rate", c.ema_rate);
  m.get("iterations", c.iterations);
  m.get("log_interval", c.log_interval);
  m.get("save_interval", c.save_interval);
  m.get("keep", c.keep);
  m.get("seed", c.seed);
  m.get("world_size", c.world_size);
}

void read_data_config(StrictMap& m, core::DataConfig& c) {
  m.get("path", c.path);
  m.get("random_flip", c.random_flip);
}

namespace {
// DDIM's summed loss has no VB term to sum: only a fixed-variance model trained on the MSE.
void check_loss_reduction(const TrainFile& f) {
  if (f.train.loss_reduction != "sum") return;
  const auto var = f.diffusion.var_type();
  const auto loss = f.diffusion.loss();
  const bool fixed = var == core::ModelVarType::kFixedLarge || var == core::ModelVarType::kFixedSmall;
  const bool mse = loss == core::LossType::kMse || loss == core::LossType::kRescaledMse;
  if (!fixed || !mse)
    throw ConfigError("", "train.loss_reduction",
                      "sum (DDIM's loss) needs a fixed-variance model trained on the MSE alone (model.learn_sigma "
                      "false, diffusion.use_kl false); the VB term has no summed form");
}
}  // namespace

void finish_train_file(TrainFile& f, const std::string& base_dir, const TrainSectionMaps* at) {
  f.diffusion.learn_sigma = f.model.learn_sigma;
  // With `at`, a validation error carries the file:line of the offending key.
  auto check = [at](auto&& validate, const StrictMap* section) {
    try {
      validate();
    } catch (const ConfigError& e) {
      if (!at) throw;
      throw located(e, *section);
    }
  };
  check([&] { f.model.validate(); }, at ? &at->model : nullptr);
  check([&] { f.diffusion.validate(); }, at ? &at->diffusion : nullptr);
  check([&] { f.train.validate(); }, at ? &at->train : nullptr);
  check([&] { check_loss_reduction(f); }, at ? &at->train : nullptr);
  // A relative data path is relative to the config file.
  if (!f.data.path.empty() && f.data.path[0] != '/') f.data.path = base_dir + f.data.path;
}

TrainFile read_train_file(const std::string& path, const std::vector<std::string>& overrides) {
  YAML::Node root = load_yaml_file(path);
  for (const auto& o : overrides) apply_override(root, o);
  const auto slash = path.find_last_of('/');
  return parse_train_yaml(root, path, slash == std::string::npos ? "" : path.substr(0, slash + 1));
}

TrainFile parse_train_yaml(const YAML::Node& root, const std::string& path, const std::string& base_dir) {
  StrictMap top(root, path, "");
  TrainFile f;
  ModelFile model_file;
  ModelSections sections = read_model_sections(top, model_file);
  f.model = model_file.model;
  f.diffusion = model_file.diffusion;
  StrictMap train = top.child("train");
  read_train_config(train, f.train);
  train.finish();
  StrictMap data = top.child("data");
  read_data_config(data, f.data);
  data.finish();
  top.finish();
  const TrainSectionMaps at{sections.model, sections.diffusion, train, data};
  finish_train_file(f, base_dir, &at);
  return f;
}

}  // namespace repro::config
