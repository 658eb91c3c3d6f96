#pragma once
// What the cross-checks against the Python replica share (tests/python/make_fixtures.py writes
// the weights, inputs and expected outputs; the C++ side reproduces them): config key-value lists
// as JSON, the fixture script's call, the toy paper-like model, and float comparison.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <string>
#include <utility>
#include <vector>

#include "base/util/strings.h"
#include "tests/support/test_support.h"

namespace repro::test {

using KV = std::vector<std::pair<std::string, std::string>>;  // key -> JSON/YAML flow value

// {"key": value, ...} (the values are already JSON).
inline std::string kv_json(const KV& kv) {
  std::string s = "{";
  for (size_t i = 0; i < kv.size(); ++i) s += (i ? ", " : "") + ("\"" + kv[i].first + "\": " + kv[i].second);
  return s + "}";
}

// /usr/bin/python3 tests/python/make_fixtures.py ARGS --quiet; a failure fails the test.
inline void make_fixtures(const std::string& args) {
  std::string out;
  const std::string cmd = shell_quote(python_interpreter()) + " " +
                          shell_quote(source_dir() + "/tests/python/make_fixtures.py") + " " + args + " --quiet";
  ASSERT_EQ(run_command(cmd, &out), 0) << cmd << "\n" << out;
}

// |got - want| <= atol + rtol |want| everywhere, in float64.
inline void expect_close(const torch::Tensor& got, const torch::Tensor& want, double rtol, double atol,
                         const std::string& what) {
  ASSERT_EQ(got.sizes(), want.sizes()) << what;
  auto diff = (got.to(torch::kFloat64) - want.to(torch::kFloat64)).abs();
  auto bound = atol + rtol * want.to(torch::kFloat64).abs();
  EXPECT_TRUE((diff <= bound).all().item<bool>())
      << what << ": max |diff| " << diff.max().item<double>() << ", max |want| " << want.abs().max().item<double>();
}

// The paper's architecture options at toy size (32x32, 32 channels), learned-range variance.
inline const KV& paper_like_model() {
  static const KV kv = {{"image_size", "32"},
                        {"num_channels", "32"},
                        {"channel_mult", "[1, 2, 2]"},
                        {"num_res_blocks", "1"},
                        {"attention_resolutions", "[16, 8]"},
                        {"num_head_channels", "32"},
                        {"learn_sigma", "true"},
                        {"use_scale_shift_norm", "true"},
                        {"resblock_updown", "true"},
                        {"use_new_attention_order", "true"}};
  return kv;
}

}  // namespace repro::test
