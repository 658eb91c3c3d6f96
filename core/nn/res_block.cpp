#include "core/nn/res_block.h"

namespace repro::core {

ResBlockImpl::ResBlockImpl(const ResBlockOptions& options)
    : options_(options), out_channels_(options.out_channels < 0 ? options.channels : options.out_channels) {
  const int64_t ch = options.channels;
  in_norm_ = normalization(ch);
  in_conv_ = conv3x3(ch, out_channels_);
  in_layers_ = register_module("in_layers", torch::nn::Sequential(in_norm_, torch::nn::SiLU(), in_conv_));

  // Scale-shift conditioning needs a scale and a shift per channel.
  emb_linear_ =
      torch::nn::Linear(options.emb_channels, options.use_scale_shift_norm ? 2 * out_channels_ : out_channels_);
  emb_layers_ = register_module("emb_layers", torch::nn::Sequential(torch::nn::SiLU(), emb_linear_));

  out_norm_ = normalization(out_channels_);
  dropout_ = torch::nn::Dropout(options.dropout);
  out_conv_ = conv3x3(out_channels_, out_channels_);
  zero_module(*out_conv_);
  out_layers_ = register_module("out_layers", torch::nn::Sequential(out_norm_, torch::nn::SiLU(), dropout_, out_conv_));

  if (out_channels_ != ch) skip_connection_ = register_module("skip_connection", conv1x1(ch, out_channels_));

  // The resampling inside up/down blocks never has a conv (use_conv=False in the reference).
  if (options.up) {
    h_up_ = register_module("h_upd", Upsample(ch, false));
    x_up_ = register_module("x_upd", Upsample(ch, false));
  } else if (options.down) {
    h_down_ = register_module("h_upd", Downsample(ch, false));
    x_down_ = register_module("x_upd", Downsample(ch, false));
  }
}

torch::Tensor ResBlockImpl::forward(const torch::Tensor& x_in, const torch::Tensor& emb) {
  torch::Tensor x = x_in;
  // Resample after the activation and before the conv, as the reference does.
  torch::Tensor h = group_norm_silu(in_norm_, x);
  if (options_.up) {
    h = h_up_->forward(h);
    x = x_up_->forward(x);
  } else if (options_.down) {
    h = h_down_->forward(h);
    x = x_down_->forward(x);
  }
  h = in_conv_->forward(h);

  auto emb_out = emb_linear_->forward(torch::silu(emb)).unsqueeze(-1).unsqueeze(-1);  // float32
  if (options_.use_scale_shift_norm) {
    auto chunks = emb_out.chunk(2, 1);
    h = group_norm_scale_shift_silu(out_norm_, h, chunks[0], chunks[1]);
  } else {
    emb_out = emb_out.to(h.scalar_type());
    h = group_norm_silu(out_norm_, inference_only() ? h.add_(emb_out) : h + emb_out);
  }
  h = out_conv_->forward(dropout_->forward(h));
  auto skip = skip_connection_ ? skip_connection_->forward(x) : x;
  return inference_only() ? h.add_(skip) : skip + h;
}

}  // namespace repro::core
