#include "core/nn/unet.h"

#include <algorithm>

#include "core/nn/attention.h"
#include "core/nn/res_block.h"
#include "core/nn/timestep_embedding.h"

namespace repro::core {

namespace {

TimestepEmbedSequentialImpl::Call res_call(ResBlock block) {
  auto impl = block.ptr();
  return [impl](const torch::Tensor& x, const torch::Tensor& emb) { return impl->forward(x, emb); };
}
template <typename M>
TimestepEmbedSequentialImpl::Call plain_call(M module) {
  auto impl = module.ptr();
  return [impl](const torch::Tensor& x, const torch::Tensor&) { return impl->forward(x); };
}

}  // namespace

UNetModelImpl::UNetModelImpl(const UNetConfig& config) : config_(config) {
  config_.validate();
  const auto mult = config_.resolved_channel_mult();
  const auto attention_ds = config_.attention_ds();
  auto has_attention = [&](int ds) {
    return std::find(attention_ds.begin(), attention_ds.end(), ds) != attention_ds.end();
  };
  const int64_t mc = config_.num_channels;
  const int64_t time_embed_dim = mc * 4;
  const int64_t num_heads = config_.num_heads;
  const int64_t num_heads_upsample = config_.num_heads_upsample == -1 ? num_heads : config_.num_heads_upsample;
  const int64_t head_channels = config_.num_head_channels;

  time_embed_ =
      register_module("time_embed", torch::nn::Sequential(torch::nn::Linear(mc, time_embed_dim), torch::nn::SiLU(),
                                                          torch::nn::Linear(time_embed_dim, time_embed_dim)));
  if (config_.num_classes > 0)
    label_emb_ = register_module("label_emb", torch::nn::Embedding(config_.num_classes, time_embed_dim));

  auto make_res = [&](int64_t ch, int64_t out, bool up, bool down) {
    ResBlockOptions o{ch, time_embed_dim, config_.dropout, out, config_.use_scale_shift_norm, up, down};
    return ResBlock(o);
  };
  auto make_attention = [&](int64_t ch, int64_t heads) {
    return AttentionBlock(ch, heads, head_channels, config_.use_new_attention_order);
  };

  input_blocks_ = register_module("input_blocks", torch::nn::ModuleList());
  auto add_input = [&](TimestepEmbedSequential block) {
    input_blocks_->push_back(block);
    input_list_.push_back(block);
  };

  int64_t ch = static_cast<int64_t>(mult[0] * static_cast<double>(mc));
  const int64_t input_ch = ch;
  {
    TimestepEmbedSequential first;
    auto conv = conv3x3(config_.in_channels, ch);
    first->push_back(conv.ptr(), plain_call(conv));
    add_input(first);
  }
  std::vector<int64_t> input_block_chans = {ch};
  int ds = 1;
  const int levels = static_cast<int>(mult.size());
  for (int level = 0; level < levels; ++level) {
    for (int i = 0; i < config_.num_res_blocks; ++i) {
      TimestepEmbedSequential block;
      const int64_t out = static_cast<int64_t>(mult[level] * static_cast<double>(mc));
      auto res = make_res(ch, out, false, false);
      block->push_back(res.ptr(), res_call(res));
      ch = out;
      if (has_attention(ds)) {
        auto attn = make_attention(ch, num_heads);
        block->push_back(attn.ptr(), plain_call(attn));
      }
      add_input(block);
      input_block_chans.push_back(ch);
    }
    if (level != levels - 1) {
      TimestepEmbedSequential block;
      if (config_.resblock_updown) {
        auto res = make_res(ch, ch, false, true);
        block->push_back(res.ptr(), res_call(res));
      } else {
        Downsample down(ch, config_.conv_resample, ch);
        block->push_back(down.ptr(), plain_call(down));
      }
      add_input(block);
      input_block_chans.push_back(ch);
      ds *= 2;
    }
  }

  middle_block_ = register_module("middle_block", TimestepEmbedSequential());
  {
    auto r0 = make_res(ch, ch, false, false);
    middle_block_->push_back(r0.ptr(), res_call(r0));
    auto attn = make_attention(ch, num_heads);
    middle_block_->push_back(attn.ptr(), plain_call(attn));
    auto r1 = make_res(ch, ch, false, false);
    middle_block_->push_back(r1.ptr(), res_call(r1));
  }

  // Registered after middle_block, as the reference does: state-dict order follows registration.
  output_blocks_ = register_module("output_blocks", torch::nn::ModuleList());
  for (int level = levels - 1; level >= 0; --level) {
    for (int i = 0; i < config_.num_res_blocks + 1; ++i) {
      const int64_t ich = input_block_chans.back();
      input_block_chans.pop_back();
      TimestepEmbedSequential block;
      const int64_t out = static_cast<int64_t>(static_cast<double>(mc) * mult[level]);
      auto res = make_res(ch + ich, out, false, false);
      block->push_back(res.ptr(), res_call(res));
      ch = out;
      if (has_attention(ds)) {
        auto attn = make_attention(ch, num_heads_upsample);
        block->push_back(attn.ptr(), plain_call(attn));
      }
      if (level > 0 && i == config_.num_res_blocks) {
        if (config_.resblock_updown) {
          auto up = make_res(ch, ch, true, false);
          block->push_back(up.ptr(), res_call(up));
        } else {
          Upsample up(ch, config_.conv_resample, ch);
          block->push_back(up.ptr(), plain_call(up));
        }
        ds /= 2;
      }
      output_blocks_->push_back(block);
      output_list_.push_back(block);
    }
  }

  out_norm_ = normalization(ch);
  out_conv_ = conv3x3(input_ch, config_.out_channels());
  zero_module(*out_conv_);
  out_ = register_module("out", torch::nn::Sequential(out_norm_, torch::nn::SiLU(), out_conv_));
}

torch::Tensor UNetModelImpl::forward(const torch::Tensor& x, const torch::Tensor& timesteps, const torch::Tensor& y) {
  TORCH_CHECK(x.dim() == 4 && x.size(1) == config_.in_channels, "UNetModel: expected x [N, ", config_.in_channels,
              ", H, W], got ", x.sizes());
  TORCH_CHECK(timesteps.dim() == 1 && timesteps.size(0) == x.size(0), "UNetModel: expected timesteps [", x.size(0),
              "], got ", timesteps.sizes());
  TORCH_CHECK(y.defined() == (config_.num_classes > 0),
              "UNetModel: class labels must be given if and only if the model is class-conditional");
  auto emb = time_embed_->forward(timestep_embedding(timesteps, config_.num_channels));
  if (config_.num_classes > 0) {
    TORCH_CHECK(y.dim() == 1 && y.size(0) == x.size(0), "UNetModel: expected labels [", x.size(0), "]");
    emb = emb + label_emb_->forward(y);
  }
  std::vector<torch::Tensor> hs;
  hs.reserve(input_list_.size());
  auto h = x.to(torso_dtype_);
  for (auto& block : input_list_) {
    h = block->forward(h, emb);
    hs.push_back(h);
  }
  h = middle_block_->forward(h, emb);
  for (auto& block : output_list_) {
    h = torch::cat({h, hs.back()}, 1);
    hs.pop_back();
    h = block->forward(h, emb);
  }
  h = h.to(x.scalar_type());
  return out_conv_->forward(group_norm_silu(out_norm_, h));
}

void UNetModelImpl::convert_torso(torch::ScalarType dtype) {
  TORCH_CHECK(dtype == torch::kFloat32 || dtype == torch::kHalf || dtype == torch::kBFloat16,
              "convert_torso: expected float32, float16 or bfloat16");
  // LibTorch 1.13 has no float16 convolution on the CPU.
  TORCH_CHECK(dtype != torch::kHalf || parameters().empty() || parameters()[0].is_cuda(),
              "convert_torso: float16 needs the model on a CUDA device (use float32 or bfloat16 on the CPU)");
  torch::NoGradGuard no_grad;
  std::vector<std::shared_ptr<torch::nn::Module>> parts = {input_blocks_.ptr(), middle_block_.ptr(),
                                                           output_blocks_.ptr()};
  for (auto& part : parts) {
    for (auto& m : part->modules()) {
      if (dynamic_cast<torch::nn::Conv2dImpl*>(m.get()) || dynamic_cast<torch::nn::Conv1dImpl*>(m.get())) {
        for (auto& p : m->parameters(false)) p.set_data(p.data().to(dtype));
      }
    }
  }
  torso_dtype_ = dtype;
}

int64_t parameter_count(const torch::nn::Module& module) {
  int64_t n = 0;
  for (const auto& p : module.parameters()) n += p.numel();
  return n;
}

}  // namespace repro::core
