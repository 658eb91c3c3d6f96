#include "core/train/resample.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "base/util/errors.h"

namespace repro::core {

namespace {

std::string format_double(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.17g", v);
  return buf;
}

// Reads the next whitespace-separated token as a double (strtod round-trips %.17g exactly).
double read_double(std::istringstream& in, const char* what) {
  std::string tok;
  if (!(in >> tok)) throw DataError(std::string("sampler state: missing ") + what);
  char* end = nullptr;
  const double v = std::strtod(tok.c_str(), &end);
  if (end == tok.c_str() || *end != '\0') {
    throw DataError(std::string("sampler state: bad ") + what + " '" + tok + "'");
  }
  return v;
}

int64_t read_int(std::istringstream& in, const char* what) {
  std::string tok;
  if (!(in >> tok)) throw DataError(std::string("sampler state: missing ") + what);
  size_t pos = 0;
  int64_t v = 0;
  try {
    v = std::stoll(tok, &pos);
  } catch (const std::exception&) {
    pos = 0;
  }
  if (pos == 0 || pos != tok.size()) {
    throw DataError(std::string("sampler state: bad ") + what + " '" + tok + "'");
  }
  return v;
}

}  // namespace

ScheduleSampler::Draw ScheduleSampler::sample(int64_t batch_size, torch::Generator& gen,
                                              const torch::Device& device) const {
  TORCH_CHECK(batch_size > 0, "ScheduleSampler::sample: batch_size must be positive, got ", batch_size);
  const std::vector<double> w = weights();
  const int64_t num_timesteps = static_cast<int64_t>(w.size());
  TORCH_CHECK(num_timesteps > 0, "ScheduleSampler::sample: no timesteps");
  double total = 0;
  for (double x : w) {
    TORCH_CHECK(std::isfinite(x) && x >= 0, "ScheduleSampler::sample: weights must be finite and >= 0");
    total += x;
  }
  TORCH_CHECK(total > 0, "ScheduleSampler::sample: weights sum to 0");

  auto p = torch::empty({num_timesteps}, torch::TensorOptions().dtype(torch::kFloat64));
  double* pp = p.data_ptr<double>();
  for (int64_t i = 0; i < num_timesteps; ++i) pp[i] = w[i] / total;

  Draw d;
  auto t = torch::multinomial(p, batch_size, /*replacement=*/true, gen);
  auto weights64 = 1.0 / (static_cast<double>(num_timesteps) * p.index_select(0, t));
  d.t = t.to(device);
  d.weights = weights64.to(torch::kFloat32).to(device);
  return d;
}

void ScheduleSampler::update_with_losses(const std::vector<int64_t>& /*ts*/, const std::vector<double>& /*losses*/) {}

std::string ScheduleSampler::state() const { return name(); }

void ScheduleSampler::load_state(const std::string& state) {
  std::istringstream in(state);
  std::string tag, extra;
  in >> tag;
  if (tag != name() || (in >> extra)) {
    throw DataError("sampler state: expected '" + name() + "', got '" + state + "'");
  }
}

UniformSampler::UniformSampler(int num_timesteps) : num_timesteps_(num_timesteps) {
  if (num_timesteps < 1) {
    throw ConfigError("", "diffusion_steps",
                      "UniformSampler needs at least 1 timestep, got " + std::to_string(num_timesteps));
  }
}

std::vector<double> UniformSampler::weights() const { return std::vector<double>(num_timesteps_, 1.0); }

LossSecondMomentResampler::LossSecondMomentResampler(int num_timesteps, int history_per_term, double uniform_prob)
    : num_timesteps_(num_timesteps),
      history_per_term_(history_per_term),
      uniform_prob_(uniform_prob),
      history_(num_timesteps > 0 ? num_timesteps : 0) {
  if (num_timesteps < 1) {
    throw ConfigError("", "diffusion_steps",
                      "LossSecondMomentResampler needs at least 1 timestep, got " + std::to_string(num_timesteps));
  }
  if (history_per_term < 1) {
    throw ConfigError("", "history_per_term", "expected >= 1, got " + std::to_string(history_per_term));
  }
  if (!(uniform_prob >= 0 && uniform_prob <= 1)) {
    throw ConfigError("", "uniform_prob", "expected a value in [0, 1], got " + format_double(uniform_prob));
  }
}

bool LossSecondMomentResampler::warmed_up() const {
  for (const auto& h : history_) {
    if (static_cast<int>(h.size()) < history_per_term_) return false;
  }
  return true;
}

std::vector<double> LossSecondMomentResampler::weights() const {
  std::vector<double> w(num_timesteps_, 1.0);
  if (!warmed_up()) return w;
  double total = 0;
  for (int t = 0; t < num_timesteps_; ++t) {
    double sum_sq = 0;
    for (double l : history_[t]) sum_sq += l * l;
    w[t] = std::sqrt(sum_sq / static_cast<double>(history_per_term_));
    total += w[t];
  }
  if (!(total > 0)) return std::vector<double>(num_timesteps_, 1.0);
  for (double& x : w) {
    x /= total;
    x = x * (1 - uniform_prob_) + uniform_prob_ / static_cast<double>(num_timesteps_);
  }
  return w;
}

void LossSecondMomentResampler::update_with_losses(const std::vector<int64_t>& ts, const std::vector<double>& losses) {
  if (ts.size() != losses.size()) {
    throw DataError("update_with_losses: " + std::to_string(ts.size()) + " timesteps but " +
                    std::to_string(losses.size()) + " losses");
  }
  for (size_t i = 0; i < ts.size(); ++i) {
    if (ts[i] < 0 || ts[i] >= num_timesteps_) {
      throw DataError("update_with_losses: timestep " + std::to_string(ts[i]) + " outside [0, " +
                      std::to_string(num_timesteps_) + ")");
    }
    if (!std::isfinite(losses[i])) {
      throw DataError("update_with_losses: non-finite loss at timestep " + std::to_string(ts[i]));
    }
  }
  for (size_t i = 0; i < ts.size(); ++i) {
    auto& h = history_[ts[i]];
    if (static_cast<int>(h.size()) == history_per_term_) h.pop_front();
    h.push_back(losses[i]);
  }
}

// Format: "loss-second-moment T H uniform_prob" then, per t, "count l_1 ... l_count" (oldest first).
std::string LossSecondMomentResampler::state() const {
  std::ostringstream out;
  out << name() << ' ' << num_timesteps_ << ' ' << history_per_term_ << ' ' << format_double(uniform_prob_) << '\n';
  for (const auto& h : history_) {
    out << h.size();
    for (double l : h) out << ' ' << format_double(l);
    out << '\n';
  }
  return out.str();
}

void LossSecondMomentResampler::load_state(const std::string& state) {
  std::istringstream in(state);
  std::string tag;
  in >> tag;
  if (tag != name()) throw DataError("sampler state: expected '" + name() + "', got '" + tag + "'");
  const int64_t num_timesteps = read_int(in, "num_timesteps");
  const int64_t history_per_term = read_int(in, "history_per_term");
  const double uniform_prob = read_double(in, "uniform_prob");
  if (num_timesteps != num_timesteps_ || history_per_term != history_per_term_ || uniform_prob != uniform_prob_) {
    throw DataError("sampler state: saved for T=" + std::to_string(num_timesteps) +
                    " history=" + std::to_string(history_per_term) + " uniform_prob=" + format_double(uniform_prob) +
                    ", this sampler has T=" + std::to_string(num_timesteps_) +
                    " history=" + std::to_string(history_per_term_) + " uniform_prob=" + format_double(uniform_prob_));
  }
  std::vector<std::deque<double>> history(num_timesteps_);
  for (auto& h : history) {
    const int64_t count = read_int(in, "history count");
    if (count < 0 || count > history_per_term_) {
      throw DataError("sampler state: history count " + std::to_string(count) + " outside [0, " +
                      std::to_string(history_per_term_) + "]");
    }
    for (int64_t i = 0; i < count; ++i) h.push_back(read_double(in, "loss"));
  }
  std::string extra;
  if (in >> extra) throw DataError("sampler state: trailing data '" + extra + "'");
  history_ = std::move(history);
}

std::unique_ptr<ScheduleSampler> create_named_schedule_sampler(const std::string& name, int num_timesteps) {
  if (name == "uniform") return std::make_unique<UniformSampler>(num_timesteps);
  if (name == "loss-second-moment") return std::make_unique<LossSecondMomentResampler>(num_timesteps);
  throw ConfigError("", "train.schedule_sampler", "expected one of uniform, loss-second-moment, got '" + name + "'");
}

}  // namespace repro::core
