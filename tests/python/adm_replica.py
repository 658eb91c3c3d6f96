"""Independent PyTorch replica of the ADM UNet and Gaussian diffusion used by DDPM-IP.

Written from /work/shared/docs/paper-spec.md (sections 2.2, 4 and 5) as the numerical
ground truth for the C++/LibTorch test-suite.  Float32 forward only: no fp16 path, no
gradient checkpointing.  Submodule attribute names are chosen so that
``model.state_dict()`` has exactly the key names of the reference checkpoints.

Run ``/usr/bin/python3 adm_replica.py`` for a self-check of the paper parameter counts.
"""

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

# ----------------------------------------------------------------------------------------
# UNet building blocks
# ----------------------------------------------------------------------------------------


def timestep_embedding(timesteps, dim, max_period=10000):
    """Sinusoidal embedding [N, dim]: cos half first, then sin half; odd dim gets a zero column."""
    half = dim // 2
    idx = torch.arange(0, half, dtype=torch.float32, device=timesteps.device)
    freqs = torch.exp(-math.log(max_period) * idx / half)
    angles = timesteps[:, None].float() * freqs[None, :]
    emb = torch.cat([torch.cos(angles), torch.sin(angles)], dim=-1)
    if dim % 2 == 1:
        emb = torch.cat([emb, torch.zeros_like(emb[:, :1])], dim=-1)
    return emb


class GroupNorm32(nn.GroupNorm):
    """GroupNorm whose statistics are always taken in float32."""

    def forward(self, x):
        return super().forward(x.float()).type(x.dtype)


def norm_layer(channels):
    return GroupNorm32(32, channels)


class TimestepBlock(nn.Module):
    """Marker: a block whose forward takes (x, emb)."""


class EmbedSequential(nn.Sequential, TimestepBlock):
    """Sequential container handing the timestep embedding to the blocks that want it."""

    def forward(self, x, emb):
        for layer in self:
            if isinstance(layer, TimestepBlock):
                x = layer(x, emb)
            else:
                x = layer(x)
        return x


class Upsample(nn.Module):
    """Nearest-neighbour x2, optionally followed by a 3x3 conv (key: ``conv``)."""

    def __init__(self, channels, use_conv, out_channels=None):
        super().__init__()
        self.channels = channels
        self.out_channels = out_channels or channels
        self.use_conv = use_conv
        if use_conv:
            self.conv = nn.Conv2d(self.channels, self.out_channels, 3, padding=1)

    def forward(self, x):
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        if self.use_conv:
            x = self.conv(x)
        return x


class Downsample(nn.Module):
    """Stride-2 3x3 conv or 2x2 average pool (key: ``op``)."""

    def __init__(self, channels, use_conv, out_channels=None):
        super().__init__()
        self.channels = channels
        self.out_channels = out_channels or channels
        if use_conv:
            self.op = nn.Conv2d(self.channels, self.out_channels, 3, stride=2, padding=1)
        else:
            if self.channels != self.out_channels:
                raise ValueError("avg-pool downsampling cannot change the channel count")
            self.op = nn.AvgPool2d(kernel_size=2, stride=2)

    def forward(self, x):
        return self.op(x)


class ResBlock(TimestepBlock):
    def __init__(self, channels, emb_channels, dropout, out_channels=None, use_conv=False,
                 use_scale_shift_norm=False, up=False, down=False):
        super().__init__()
        self.channels = channels
        self.out_channels = out_channels or channels
        self.use_scale_shift_norm = use_scale_shift_norm

        self.in_layers = nn.Sequential(
            norm_layer(channels),
            nn.SiLU(),
            nn.Conv2d(channels, self.out_channels, 3, padding=1),
        )
        self.updown = up or down
        if up:
            self.h_upd = Upsample(channels, False)
            self.x_upd = Upsample(channels, False)
        elif down:
            self.h_upd = Downsample(channels, False)
            self.x_upd = Downsample(channels, False)
        else:
            self.h_upd = self.x_upd = nn.Identity()

        emb_out = 2 * self.out_channels if use_scale_shift_norm else self.out_channels
        self.emb_layers = nn.Sequential(nn.SiLU(), nn.Linear(emb_channels, emb_out))
        out_conv = nn.Conv2d(self.out_channels, self.out_channels, 3, padding=1)
        zero_init(out_conv)
        self.out_layers = nn.Sequential(
            norm_layer(self.out_channels),
            nn.SiLU(),
            nn.Dropout(p=dropout),
            out_conv,
        )
        if self.out_channels == channels:
            self.skip_connection = nn.Identity()
        elif use_conv:
            self.skip_connection = nn.Conv2d(channels, self.out_channels, 3, padding=1)
        else:
            self.skip_connection = nn.Conv2d(channels, self.out_channels, 1)

    def forward(self, x, emb):
        if self.updown:
            # norm + SiLU, resample both paths, then the conv
            h = self.in_layers[1](self.in_layers[0](x))
            h = self.h_upd(h)
            x = self.x_upd(x)
            h = self.in_layers[2](h)
        else:
            h = self.in_layers(x)
        e = self.emb_layers(emb).type(h.dtype)
        while e.dim() < h.dim():
            e = e[..., None]
        if self.use_scale_shift_norm:
            scale, shift = torch.chunk(e, 2, dim=1)
            h = self.out_layers[0](h) * (1 + scale) + shift
            for layer in list(self.out_layers)[1:]:
                h = layer(h)
        else:
            h = self.out_layers(h + e)
        return self.skip_connection(x) + h


def _attention_core(q, k, v, ch):
    """q, k, v: [B*heads, ch, T]. Returns [B*heads, ch, T]."""
    s = 1.0 / math.sqrt(math.sqrt(ch))
    w = torch.einsum("bct,bcs->bts", q * s, k * s)
    w = torch.softmax(w.float(), dim=-1).type(w.dtype)
    return torch.einsum("bts,bcs->bct", w, v)


class QKVAttentionLegacy(nn.Module):
    """Heads first: [B, H*3*c, T] -> [B*H, 3c, T], then split into q, k, v."""

    def __init__(self, n_heads):
        super().__init__()
        self.n_heads = n_heads

    def forward(self, qkv):
        b, width, length = qkv.shape
        assert width % (3 * self.n_heads) == 0
        ch = width // (3 * self.n_heads)
        per_head = qkv.reshape(b * self.n_heads, 3 * ch, length)
        q, k, v = per_head.split(ch, dim=1)
        return _attention_core(q, k, v, ch).reshape(b, -1, length)


class QKVAttention(nn.Module):
    """New order: split into q, k, v first (chunks of H*c), then into heads."""

    def __init__(self, n_heads):
        super().__init__()
        self.n_heads = n_heads

    def forward(self, qkv):
        b, width, length = qkv.shape
        assert width % (3 * self.n_heads) == 0
        ch = width // (3 * self.n_heads)
        q, k, v = qkv.chunk(3, dim=1)
        q = q.reshape(b * self.n_heads, ch, length)
        k = k.reshape(b * self.n_heads, ch, length)
        v = v.reshape(b * self.n_heads, ch, length)
        return _attention_core(q, k, v, ch).reshape(b, -1, length)


class AttentionBlock(nn.Module):
    def __init__(self, channels, num_heads=1, num_head_channels=-1, use_new_attention_order=False):
        super().__init__()
        self.channels = channels
        if num_head_channels == -1:
            self.num_heads = num_heads
        else:
            if channels % num_head_channels != 0:
                raise ValueError(f"channels {channels} not divisible by head channels {num_head_channels}")
            self.num_heads = channels // num_head_channels
        self.norm = norm_layer(channels)
        self.qkv = nn.Conv1d(channels, 3 * channels, 1)
        if use_new_attention_order:
            self.attention = QKVAttention(self.num_heads)
        else:
            self.attention = QKVAttentionLegacy(self.num_heads)
        self.proj_out = nn.Conv1d(channels, channels, 1)
        zero_init(self.proj_out)

    def forward(self, x):
        b, c = x.shape[:2]
        spatial = x.shape[2:]
        flat = x.reshape(b, c, -1)
        h = self.attention(self.qkv(self.norm(flat)))
        h = self.proj_out(h)
        return (flat + h).reshape(b, c, *spatial)


def zero_init(module):
    for p in module.parameters():
        nn.init.zeros_(p)
    return module


class UNetModel(nn.Module):
    def __init__(self, image_size, in_channels, model_channels, out_channels, num_res_blocks,
                 attention_resolutions, dropout=0, channel_mult=(1, 2, 4, 8), conv_resample=True,
                 dims=2, num_classes=None, use_checkpoint=False, use_fp16=False, num_heads=1,
                 num_head_channels=-1, num_heads_upsample=-1, use_scale_shift_norm=False,
                 resblock_updown=False, use_new_attention_order=False):
        super().__init__()
        if dims != 2:
            raise ValueError("only 2-D models are replicated")
        if num_classes == 0:
            num_classes = None
        if num_heads_upsample == -1:
            num_heads_upsample = num_heads

        self.image_size = image_size
        self.in_channels = in_channels
        self.model_channels = model_channels
        self.out_channels = out_channels
        self.num_res_blocks = num_res_blocks
        self.attention_resolutions = tuple(attention_resolutions)
        self.channel_mult = tuple(channel_mult)
        self.num_classes = num_classes

        emb_dim = model_channels * 4
        self.time_embed = nn.Sequential(
            nn.Linear(model_channels, emb_dim),
            nn.SiLU(),
            nn.Linear(emb_dim, emb_dim),
        )
        if num_classes is not None:
            self.label_emb = nn.Embedding(num_classes, emb_dim)

        def attn(c, heads):
            return AttentionBlock(c, num_heads=heads, num_head_channels=num_head_channels,
                                  use_new_attention_order=use_new_attention_order)

        def res(c_in, c_out, up=False, down=False):
            return ResBlock(c_in, emb_dim, dropout, out_channels=c_out,
                            use_scale_shift_norm=use_scale_shift_norm, up=up, down=down)

        ch = first_ch = int(channel_mult[0] * model_channels)
        self.input_blocks = nn.ModuleList([EmbedSequential(nn.Conv2d(in_channels, ch, 3, padding=1))])
        skip_channels = [ch]
        ds = 1
        for level, mult in enumerate(channel_mult):
            for _ in range(num_res_blocks):
                layers = [res(ch, int(mult * model_channels))]
                ch = int(mult * model_channels)
                if ds in self.attention_resolutions:
                    layers.append(attn(ch, num_heads))
                self.input_blocks.append(EmbedSequential(*layers))
                skip_channels.append(ch)
            if level != len(channel_mult) - 1:
                if resblock_updown:
                    block = res(ch, ch, down=True)
                else:
                    block = Downsample(ch, conv_resample, out_channels=ch)
                self.input_blocks.append(EmbedSequential(block))
                skip_channels.append(ch)
                ds *= 2

        self.middle_block = EmbedSequential(
            res(ch, ch),
            attn(ch, num_heads),
            res(ch, ch),
        )

        self.output_blocks = nn.ModuleList([])
        for level, mult in list(enumerate(channel_mult))[::-1]:
            for i in range(num_res_blocks + 1):
                skip_ch = skip_channels.pop()
                layers = [res(ch + skip_ch, int(model_channels * mult))]
                ch = int(model_channels * mult)
                if ds in self.attention_resolutions:
                    layers.append(attn(ch, num_heads_upsample))
                if level and i == num_res_blocks:
                    if resblock_updown:
                        layers.append(res(ch, ch, up=True))
                    else:
                        layers.append(Upsample(ch, conv_resample, out_channels=ch))
                    ds //= 2
                self.output_blocks.append(EmbedSequential(*layers))

        out_conv = nn.Conv2d(first_ch, out_channels, 3, padding=1)
        zero_init(out_conv)
        self.out = nn.Sequential(norm_layer(ch), nn.SiLU(), out_conv)

    def forward(self, x, timesteps, y=None):
        if (y is not None) != (self.num_classes is not None):
            raise ValueError("y must be given iff the model is class-conditional")
        emb = self.time_embed(timestep_embedding(timesteps, self.model_channels))
        if self.num_classes is not None:
            emb = emb + self.label_emb(y)
        h = x.float()
        stack = []
        for block in self.input_blocks:
            h = block(h, emb)
            stack.append(h)
        h = self.middle_block(h, emb)
        for block in self.output_blocks:
            h = torch.cat([h, stack.pop()], dim=1)
            h = block(h, emb)
        h = h.type(x.dtype)
        return self.out(h)


DEFAULT_CHANNEL_MULT = {
    512: (0.5, 1, 1, 2, 2, 4, 4),
    256: (1, 1, 2, 2, 4, 4),
    128: (1, 1, 2, 3, 4),
    64: (1, 2, 3, 4),
    32: (1, 2, 2, 2),
}


def create_model(image_size, num_channels, num_res_blocks, channel_mult="", learn_sigma=False,
                 class_cond=False, use_checkpoint=False, attention_resolutions="16", num_heads=1,
                 num_head_channels=-1, num_heads_upsample=-1, use_scale_shift_norm=False, dropout=0,
                 resblock_updown=False, use_fp16=False, use_new_attention_order=False):
    """Mirror of the reference script_util.create_model argument handling."""
    if channel_mult == "":
        if image_size not in DEFAULT_CHANNEL_MULT:
            raise ValueError(f"unsupported image size: {image_size}")
        channel_mult = DEFAULT_CHANNEL_MULT[image_size]
    else:
        channel_mult = tuple(int(m) for m in channel_mult.split(","))
    attention_ds = [image_size // int(r) for r in attention_resolutions.split(",")]
    return UNetModel(
        image_size=image_size,
        in_channels=3,
        model_channels=num_channels,
        out_channels=6 if learn_sigma else 3,
        num_res_blocks=num_res_blocks,
        attention_resolutions=tuple(attention_ds),
        dropout=dropout,
        channel_mult=channel_mult,
        num_classes=1000 if class_cond else None,
        use_checkpoint=use_checkpoint,
        use_fp16=use_fp16,
        num_heads=num_heads,
        num_head_channels=num_head_channels,
        num_heads_upsample=num_heads_upsample,
        use_scale_shift_norm=use_scale_shift_norm,
        resblock_updown=resblock_updown,
        use_new_attention_order=use_new_attention_order,
    )


def parameter_count(model):
    return sum(p.numel() for p in model.parameters())


# ----------------------------------------------------------------------------------------
# Diffusion
# ----------------------------------------------------------------------------------------


def betas_from_alpha_bar(num_steps, alpha_bar, max_beta=0.999):
    out = []
    for i in range(num_steps):
        a1 = alpha_bar(i / num_steps)
        a2 = alpha_bar((i + 1) / num_steps)
        out.append(min(1.0 - a2 / a1, max_beta))
    return np.array(out, dtype=np.float64)


def get_named_beta_schedule(name, num_steps):
    if name == "linear":
        scale = 1000.0 / num_steps
        return np.linspace(scale * 0.0001, scale * 0.02, num_steps, dtype=np.float64)
    if name == "cosine":
        return betas_from_alpha_bar(
            num_steps, lambda s: math.cos((s + 0.008) / 1.008 * math.pi / 2) ** 2)
    raise NotImplementedError(f"unknown beta schedule: {name}")


def space_timesteps(num_timesteps, section_counts):
    """Set of kept original timesteps.  section_counts: "ddimN", "a,b,c" or a list of ints."""
    if isinstance(section_counts, str):
        if section_counts.startswith("ddim"):
            want = int(section_counts[len("ddim"):])
            for stride in range(1, num_timesteps):
                if len(range(0, num_timesteps, stride)) == want:
                    return set(range(0, num_timesteps, stride))
            raise ValueError(f"cannot create exactly {want} steps with an integer stride")
        section_counts = [int(s) for s in section_counts.split(",")]
    n_sec = len(section_counts)
    base_size, extra = divmod(num_timesteps, n_sec)
    start = 0
    kept = []
    for i, count in enumerate(section_counts):
        size = base_size + (1 if i < extra else 0)
        if size < count:
            raise ValueError(f"cannot divide section of {size} steps into {count}")
        stride = 1 if count <= 1 else (size - 1) / (count - 1)
        pos = 0.0
        for _ in range(count):
            kept.append(start + round(pos))  # Python round: half-to-even
            pos += stride
        start += size
    return set(kept)


def mean_flat(x):
    return x.mean(dim=list(range(1, x.dim())))


def normal_kl(mean1, logvar1, mean2, logvar2):
    """KL(N1 || N2) elementwise, with log-variances; scalars are promoted to tensors."""
    ref = next(o for o in (mean1, logvar1, mean2, logvar2) if isinstance(o, torch.Tensor))
    logvar1, logvar2 = [lv if isinstance(lv, torch.Tensor) else torch.tensor(lv).to(ref)
                        for lv in (logvar1, logvar2)]
    return 0.5 * (-1.0 + logvar2 - logvar1 + torch.exp(logvar1 - logvar2)
                  + (mean1 - mean2) ** 2 * torch.exp(-logvar2))


def approx_standard_normal_cdf(x):
    return 0.5 * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3))))


def discretized_gaussian_log_likelihood(x, means, log_scales):
    """Log-likelihood of data x in [-1,1] (256 bins) under a discretised Gaussian."""
    assert x.shape == means.shape == log_scales.shape
    centered = x - means
    inv_std = torch.exp(-log_scales)
    cdf_plus = approx_standard_normal_cdf(inv_std * (centered + 1.0 / 255.0))
    cdf_min = approx_standard_normal_cdf(inv_std * (centered - 1.0 / 255.0))
    log_cdf_plus = torch.log(cdf_plus.clamp(min=1e-12))
    log_one_minus_cdf_min = torch.log((1.0 - cdf_min).clamp(min=1e-12))
    log_delta = torch.log((cdf_plus - cdf_min).clamp(min=1e-12))
    out = torch.where(x < -0.999, log_cdf_plus,
                      torch.where(x > 0.999, log_one_minus_cdf_min, log_delta))
    assert out.shape == x.shape
    return out


class ModelMeanType:
    PREVIOUS_X = "previous_x"
    START_X = "start_x"
    EPSILON = "epsilon"


class ModelVarType:
    LEARNED = "learned"
    FIXED_SMALL = "fixed_small"
    FIXED_LARGE = "fixed_large"
    LEARNED_RANGE = "learned_range"


class LossType:
    MSE = "mse"
    RESCALED_MSE = "rescaled_mse"
    KL = "kl"
    RESCALED_KL = "rescaled_kl"


def _is_vb(loss_type):
    return loss_type in (LossType.KL, LossType.RESCALED_KL)


def _extract(arr, t, shape):
    """arr: float64 numpy [T]; t: int64 tensor [B] -> float32 tensor broadcastable to shape."""
    vals = torch.from_numpy(arr).to(t.device)[t].float()
    while vals.dim() < len(shape):
        vals = vals[..., None]
    return vals.expand(shape)


class GaussianDiffusion:
    """Diffusion maths on a given beta schedule.

    ``timestep_map`` (int64 numpy) maps process indices to the ORIGINAL indices fed to the
    model; identity for an un-respaced process.
    """

    def __init__(self, betas, model_mean_type, model_var_type, loss_type,
                 rescale_timesteps=False, timestep_map=None, original_num_steps=None):
        self.model_mean_type = model_mean_type
        self.model_var_type = model_var_type
        self.loss_type = loss_type
        self.rescale_timesteps = rescale_timesteps

        betas = np.array(betas, dtype=np.float64)
        assert betas.ndim == 1 and (betas > 0).all() and (betas <= 1).all()
        self.betas = betas
        self.num_timesteps = T = betas.shape[0]
        self.timestep_map = (np.arange(T, dtype=np.int64) if timestep_map is None
                             else np.asarray(timestep_map, dtype=np.int64))
        self.original_num_steps = T if original_num_steps is None else original_num_steps

        alphas = 1.0 - betas
        self.alphas_cumprod = np.cumprod(alphas, axis=0)
        self.alphas_cumprod_prev = np.append(1.0, self.alphas_cumprod[:-1])
        self.alphas_cumprod_next = np.append(self.alphas_cumprod[1:], 0.0)
        self.sqrt_alphas_cumprod = np.sqrt(self.alphas_cumprod)
        self.sqrt_one_minus_alphas_cumprod = np.sqrt(1.0 - self.alphas_cumprod)
        self.log_one_minus_alphas_cumprod = np.log(1.0 - self.alphas_cumprod)
        self.sqrt_recip_alphas_cumprod = np.sqrt(1.0 / self.alphas_cumprod)
        self.sqrt_recipm1_alphas_cumprod = np.sqrt(1.0 / self.alphas_cumprod - 1.0)

        self.posterior_variance = (betas * (1.0 - self.alphas_cumprod_prev)
                                   / (1.0 - self.alphas_cumprod))
        # posterior variance is 0 at t=0: replace by the t=1 value before the log
        self.posterior_log_variance_clipped = np.log(
            np.append(self.posterior_variance[1], self.posterior_variance[1:]))
        self.posterior_mean_coef1 = (betas * np.sqrt(self.alphas_cumprod_prev)
                                     / (1.0 - self.alphas_cumprod))
        self.posterior_mean_coef2 = ((1.0 - self.alphas_cumprod_prev) * np.sqrt(alphas)
                                     / (1.0 - self.alphas_cumprod))

    # -- model timestep --------------------------------------------------------------------
    def model_timesteps(self, t):
        """Timesteps handed to the network: original indices (float-rescaled if asked)."""
        mapped = torch.from_numpy(self.timestep_map).to(t.device)[t]
        if self.rescale_timesteps:
            return mapped.float() * (1000.0 / self.original_num_steps)
        return mapped

    # -- forward process -------------------------------------------------------------------
    def q_mean_variance(self, x_start, t):
        mean = _extract(self.sqrt_alphas_cumprod, t, x_start.shape) * x_start
        var = _extract(1.0 - self.alphas_cumprod, t, x_start.shape)
        log_var = _extract(self.log_one_minus_alphas_cumprod, t, x_start.shape)
        return mean, var, log_var

    def q_sample(self, x_start, t, noise=None):
        if noise is None:
            noise = torch.randn_like(x_start)
        assert noise.shape == x_start.shape
        return (_extract(self.sqrt_alphas_cumprod, t, x_start.shape) * x_start
                + _extract(self.sqrt_one_minus_alphas_cumprod, t, x_start.shape) * noise)

    def q_posterior_mean_variance(self, x_start, x_t, t):
        mean = (_extract(self.posterior_mean_coef1, t, x_t.shape) * x_start
                + _extract(self.posterior_mean_coef2, t, x_t.shape) * x_t)
        var = _extract(self.posterior_variance, t, x_t.shape)
        log_var = _extract(self.posterior_log_variance_clipped, t, x_t.shape)
        return mean, var, log_var

    # -- reverse process -------------------------------------------------------------------
    def _predict_xstart_from_eps(self, x_t, t, eps, sampling_scaler=None):
        """Epsilon Scaling (ADM-ES): with ``sampling_scaler`` (lambda per index of THIS process,
        Python floats) eps of row n is divided by sampling_scaler[t[n]] first, as ADM-ES's
        ``eps / self.sampling_scaler[ind]`` (it takes ind = t[0]: every row of its chain shares t)."""
        if sampling_scaler is not None:
            eps = torch.stack([eps[n] / sampling_scaler[int(t[n])] for n in range(eps.shape[0])])
        return (_extract(self.sqrt_recip_alphas_cumprod, t, x_t.shape) * x_t
                - _extract(self.sqrt_recipm1_alphas_cumprod, t, x_t.shape) * eps)

    def _predict_xstart_from_xprev(self, x_t, t, xprev):
        return (_extract(1.0 / self.posterior_mean_coef1, t, x_t.shape) * xprev
                - _extract(self.posterior_mean_coef2 / self.posterior_mean_coef1, t, x_t.shape) * x_t)

    def _predict_eps_from_xstart(self, x_t, t, pred_xstart):
        return ((_extract(self.sqrt_recip_alphas_cumprod, t, x_t.shape) * x_t - pred_xstart)
                / _extract(self.sqrt_recipm1_alphas_cumprod, t, x_t.shape))

    def p_mean_variance(self, model_output, x, t, clip_denoised=True, sampling_scaler=None):
        """Turn a raw network output into p(x_{t-1} | x_t).  t indexes THIS process.
        sampling_scaler: Epsilon Scaling's lambdas (epsilon models only), see _predict_xstart_from_eps."""
        assert sampling_scaler is None or self.model_mean_type == ModelMeanType.EPSILON
        B, C = x.shape[:2]
        assert t.shape == (B,)
        if self.model_var_type in (ModelVarType.LEARNED, ModelVarType.LEARNED_RANGE):
            assert model_output.shape == (B, 2 * C) + tuple(x.shape[2:])
            model_output, var_values = torch.split(model_output, C, dim=1)
            if self.model_var_type == ModelVarType.LEARNED:
                log_var = var_values
            else:
                lo = _extract(self.posterior_log_variance_clipped, t, x.shape)
                hi = _extract(np.log(self.betas), t, x.shape)
                frac = (var_values + 1) / 2
                log_var = frac * hi + (1 - frac) * lo
            var = torch.exp(log_var)
        else:
            if self.model_var_type == ModelVarType.FIXED_LARGE:
                v = np.append(self.posterior_variance[1], self.betas[1:])
                table = (v, np.log(v))
            elif self.model_var_type == ModelVarType.FIXED_SMALL:
                table = (self.posterior_variance, self.posterior_log_variance_clipped)
            else:
                raise NotImplementedError(self.model_var_type)
            var = _extract(table[0], t, x.shape)
            log_var = _extract(table[1], t, x.shape)

        def finish(z):
            return z.clamp(-1, 1) if clip_denoised else z

        if self.model_mean_type == ModelMeanType.PREVIOUS_X:
            pred_xstart = finish(self._predict_xstart_from_xprev(x, t, model_output))
            mean = model_output
        elif self.model_mean_type in (ModelMeanType.START_X, ModelMeanType.EPSILON):
            if self.model_mean_type == ModelMeanType.START_X:
                pred_xstart = finish(model_output)
            else:
                pred_xstart = finish(self._predict_xstart_from_eps(x, t, model_output, sampling_scaler))
            mean, _, _ = self.q_posterior_mean_variance(pred_xstart, x, t)
        else:
            raise NotImplementedError(self.model_mean_type)
        assert mean.shape == log_var.shape == pred_xstart.shape == x.shape
        return {"mean": mean, "variance": var, "log_variance": log_var, "pred_xstart": pred_xstart}

    def p_sample(self, model_fn, x, t, noise, clip_denoised=True, sampling_scaler=None):
        """One ancestral step with the given z = ``noise`` (none where t == 0).
        model_fn(x, timesteps) is called with ORIGINAL indices."""
        out = self.p_mean_variance(model_fn(x, self.model_timesteps(t)), x, t, clip_denoised,
                                   sampling_scaler)
        nonzero_mask = (t != 0).float().view(-1, *([1] * (x.dim() - 1)))
        sample = out["mean"] + nonzero_mask * torch.exp(0.5 * out["log_variance"]) * noise
        return {"sample": sample, "pred_xstart": out["pred_xstart"]}

    def ddim_sample(self, model_fn, x, t, noise, clip_denoised=True, eta=0.0, sampling_scaler=None):
        """One DDIM step (Song et al. eq. 12) with the given z = ``noise``; eps is re-derived from
        the (clipped) pred_xstart, so Epsilon Scaling acts through it."""
        out = self.p_mean_variance(model_fn(x, self.model_timesteps(t)), x, t, clip_denoised,
                                   sampling_scaler)
        eps = self._predict_eps_from_xstart(x, t, out["pred_xstart"])
        alpha_bar = _extract(self.alphas_cumprod, t, x.shape)
        alpha_bar_prev = _extract(self.alphas_cumprod_prev, t, x.shape)
        sigma = (eta * torch.sqrt((1 - alpha_bar_prev) / (1 - alpha_bar))
                 * torch.sqrt(1 - alpha_bar / alpha_bar_prev))
        mean_pred = (out["pred_xstart"] * torch.sqrt(alpha_bar_prev)
                     + torch.sqrt(1 - alpha_bar_prev - sigma ** 2) * eps)
        nonzero_mask = (t != 0).float().view(-1, *([1] * (x.dim() - 1)))
        return {"sample": mean_pred + nonzero_mask * sigma * noise, "pred_xstart": out["pred_xstart"]}

    # -- losses ------------------------------------------------------------------------------
    def _vb_terms_bpd(self, model_output, x_start, x_t, t, clip_denoised=True):
        """Per-sample VLB term in bits/dim; decoder NLL at t == 0, KL otherwise."""
        true_mean, _, true_log_var = self.q_posterior_mean_variance(x_start, x_t, t)
        out = self.p_mean_variance(model_output, x_t, t, clip_denoised=clip_denoised)
        kl = normal_kl(true_mean, true_log_var, out["mean"], out["log_variance"])
        kl = mean_flat(kl) / math.log(2.0)
        nll = -discretized_gaussian_log_likelihood(
            x_start, means=out["mean"], log_scales=0.5 * out["log_variance"])
        nll = mean_flat(nll) / math.log(2.0)
        return {"output": torch.where(t == 0, nll, kl), "pred_xstart": out["pred_xstart"]}

    def training_losses(self, model_fn, x_start, t, noise=None, perturbation=None, gamma=0.0):
        """Per-sample loss terms.  model_fn(x, timesteps) is called with ORIGINAL indices.

        DDPM-IP: the network input is q_sample(x_start, t, noise + gamma * perturbation); the
        epsilon target stays ``noise``.  Returned dict: "loss", plus "mse" for MSE losses and
        "vb" when the variance is learned (MSE) or for KL losses (raw, un-rescaled VLB).
        """
        if noise is None:
            noise = torch.randn_like(x_start)
        if gamma != 0.0:
            if perturbation is None:
                perturbation = torch.randn_like(noise)
            input_noise = noise + gamma * perturbation
        else:
            input_noise = noise
        x_t = self.q_sample(x_start, t, noise=input_noise)
        t_model = self.model_timesteps(t)

        terms = {}
        if _is_vb(self.loss_type):
            out = model_fn(x_t, t_model)
            vb = self._vb_terms_bpd(out, x_start, x_t, t, clip_denoised=False)["output"]
            terms["vb"] = vb
            terms["loss"] = vb * self.num_timesteps if self.loss_type == LossType.RESCALED_KL else vb
            return terms
        if self.loss_type not in (LossType.MSE, LossType.RESCALED_MSE):
            raise NotImplementedError(self.loss_type)

        model_output = model_fn(x_t, t_model)
        if self.model_var_type in (ModelVarType.LEARNED, ModelVarType.LEARNED_RANGE):
            B, C = x_t.shape[:2]
            assert model_output.shape == (B, 2 * C) + tuple(x_t.shape[2:])
            model_output, var_values = torch.split(model_output, C, dim=1)
            # the VLB trains only the variance head: the mean head is detached
            frozen = torch.cat([model_output.detach(), var_values], dim=1)
            vb = self._vb_terms_bpd(frozen, x_start, x_t, t, clip_denoised=False)["output"]
            if self.loss_type == LossType.RESCALED_MSE:
                vb = vb * (self.num_timesteps / 1000.0)
            terms["vb"] = vb

        if self.model_mean_type == ModelMeanType.PREVIOUS_X:
            target = self.q_posterior_mean_variance(x_start, x_t, t)[0]
        elif self.model_mean_type == ModelMeanType.START_X:
            target = x_start
        elif self.model_mean_type == ModelMeanType.EPSILON:
            target = noise
        else:
            raise NotImplementedError(self.model_mean_type)
        assert model_output.shape == target.shape == x_start.shape
        terms["mse"] = mean_flat((target - model_output) ** 2)
        terms["loss"] = terms["mse"] + terms["vb"] if "vb" in terms else terms["mse"]
        return terms


def sampling_scaler(b, k, num_timesteps):
    """Epsilon Scaling's lambda_i = b + k i over the indices i of a (respaced) chain: ADM-ES's
    ``self.sampling_scaler`` list (k = 0: its uniform default)."""
    return [b + k * i for i in range(num_timesteps)]


class SpacedDiffusion(GaussianDiffusion):
    """Diffusion restricted to a subset of the base timesteps (betas from alpha-bar ratios)."""

    def __init__(self, use_timesteps, betas, **kwargs):
        base_betas = np.asarray(betas, dtype=np.float64)
        keep = set(int(s) for s in use_timesteps)
        base_ac = np.cumprod(1.0 - base_betas, axis=0)
        new_betas, tmap = [], []
        prev = 1.0
        for i, ac in enumerate(base_ac):
            if i in keep:
                new_betas.append(1.0 - ac / prev)
                prev = ac
                tmap.append(i)
        self.use_timesteps = keep
        super().__init__(np.array(new_betas), timestep_map=np.array(tmap, dtype=np.int64),
                         original_num_steps=len(base_betas), **kwargs)


def create_gaussian_diffusion(steps=1000, learn_sigma=False, sigma_small=False,
                              noise_schedule="linear", use_kl=False, predict_xstart=False,
                              rescale_timesteps=False, rescale_learned_sigmas=False,
                              timestep_respacing="", model_mean_type="", model_var_type="",
                              loss_type=""):
    """Mirror of the reference script_util.create_gaussian_diffusion.

    model_mean_type / model_var_type / loss_type ("" = the flag mapping) pick the types no flag
    reaches (LEARNED, PREVIOUS_X, plain KL), as repro's DiffusionConfig overrides do."""
    betas = get_named_beta_schedule(noise_schedule, steps)
    if use_kl:
        loss_type_mapped = LossType.RESCALED_KL
    elif rescale_learned_sigmas:
        loss_type_mapped = LossType.RESCALED_MSE
    else:
        loss_type_mapped = LossType.MSE
    if not timestep_respacing:
        timestep_respacing = [steps]
    if learn_sigma:
        var_type = ModelVarType.LEARNED_RANGE
    else:
        var_type = ModelVarType.FIXED_SMALL if sigma_small else ModelVarType.FIXED_LARGE
    mean_type = ModelMeanType.START_X if predict_xstart else ModelMeanType.EPSILON
    return SpacedDiffusion(
        use_timesteps=space_timesteps(steps, timestep_respacing),
        betas=betas,
        model_mean_type=model_mean_type or mean_type,
        model_var_type=model_var_type or var_type,
        loss_type=loss_type or loss_type_mapped,
        rescale_timesteps=rescale_timesteps,
    )


# ----------------------------------------------------------------------------------------
# Self-check
# ----------------------------------------------------------------------------------------

PAPER_CONFIGS = {
    # name: (create_model kwargs, expected parameter count)
    "cifar32": (dict(image_size=32, num_channels=128, num_res_blocks=3, attention_resolutions="16,8",
                     num_head_channels=32, dropout=0.3), 57094662),
    "imagenet64": (dict(image_size=64, num_channels=192, num_res_blocks=3,
                        attention_resolutions="32,16,8", num_head_channels=64, dropout=0.1),
                   295136454),
    "lsun128": (dict(image_size=128, num_channels=256, num_res_blocks=3,
                     attention_resolutions="32,16,8", num_head_channels=64, dropout=0.1),
                542811398),
}
_COMMON = dict(learn_sigma=True, resblock_updown=True, use_scale_shift_norm=True,
               use_new_attention_order=True)


def _self_check():
    torch.set_num_threads(1)
    ok = True
    for name, (kw, expected) in PAPER_CONFIGS.items():
        model = create_model(**kw, **_COMMON)
        n = parameter_count(model)
        flag = "OK" if n == expected else "MISMATCH"
        ok &= n == expected
        print(f"{name:11s} params {n:,} (expected {expected:,}) {flag}")
        del model
    # a tiny forward + diffusion smoke test
    torch.manual_seed(0)
    m = UNetModel(16, 3, 32, 6, 1, (2,), channel_mult=(1, 2), num_head_channels=16,
                  use_scale_shift_norm=True, resblock_updown=True, use_new_attention_order=True)
    x = torch.randn(2, 3, 16, 16)
    out = m(x, torch.tensor([0, 999]))
    assert out.shape == (2, 6, 16, 16)
    d = create_gaussian_diffusion(1000, learn_sigma=True, noise_schedule="cosine",
                                  rescale_learned_sigmas=True)
    assert abs(d.betas[999] - 0.999) < 1e-12 and abs(d.betas[0] - 4.128422482e-05) < 1e-12
    assert abs(d.alphas_cumprod[999] - 2.428766907e-09) < 1e-17
    k100 = sorted(space_timesteps(1000, "100"))
    assert k100[:7] == [0, 10, 20, 30, 40, 50, 61] and k100[-1] == 999
    print("self-check", "passed" if ok else "FAILED")
    return ok


if __name__ == "__main__":
    import sys
    sys.exit(0 if _self_check() else 1)
