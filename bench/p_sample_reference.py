#!/usr/bin/python3
"""The Python side of bench_unet's sampling row: one ancestral p_sample step of the reference code
path (the replica tests/python/adm_replica.py, a port of guided-diffusion's unet.py and
gaussian_diffusion.py), timed the way bench_unet times the C++ step.

Usage (Debian's interpreter, the one with torch):
  /usr/bin/python3 bench/p_sample_reference.py [--model paper|small] [--batch B] [--threads N] [--iters K]

Same configuration as bench_unet: the paper's 32x32 CIFAR10 UNet (or the small one, num_channels
64), learned-range variance, cosine schedule respaced to 100 steps, t = 50, clip_denoised, a fresh
N(0, I) z per step, x fed back. Under torch.no_grad() as the reference's p_sample_loop runs.
One warm-up step, then the median of K timed steps, as bench_unet. Prints one line:
  p_sample_reference model=paper batch=16 threads=2 iters=3 img_per_s=9.87 torch=1.13.0a0
"""

import argparse
import os
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "python"))
import adm_replica as R  # noqa: E402

PAPER = dict(image_size=32, num_channels=128, num_res_blocks=3, attention_resolutions="16,8",
             num_head_channels=32, dropout=0.3, learn_sigma=True, resblock_updown=True,
             use_scale_shift_norm=True, use_new_attention_order=True)
SMALL = dict(PAPER, num_channels=64, dropout=0.1)


def p_sample(diffusion, model, x, t, noise):
    """gaussian_diffusion.py p_sample: mean + [t != 0] exp(0.5 log_var) z."""
    out = diffusion.p_mean_variance(model(x, diffusion.model_timesteps(t)), x, t, clip_denoised=True)
    nonzero_mask = (t != 0).float().view(-1, *([1] * (len(x.shape) - 1)))
    return out["mean"] + nonzero_mask * torch.exp(0.5 * out["log_variance"]) * noise


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", choices=["paper", "small"], default="paper")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--iters", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = R.create_model(**(PAPER if a.model == "paper" else SMALL)).eval()
    diffusion = R.create_gaussian_diffusion(1000, learn_sigma=True, noise_schedule="cosine",
                                            rescale_learned_sigmas=True, timestep_respacing="100")
    x = torch.randn(a.batch, 3, 32, 32)
    t = torch.full((a.batch,), 50, dtype=torch.int64)
    with torch.no_grad():
        x = p_sample(diffusion, model, x, t, torch.randn_like(x))  # warm-up
        seconds = []
        for _ in range(max(1, a.iters)):
            t0 = time.perf_counter()
            x = p_sample(diffusion, model, x, t, torch.randn_like(x))
            seconds.append(time.perf_counter() - t0)
    dt = statistics.median(seconds)
    print(f"p_sample_reference model={a.model} batch={a.batch} threads={torch.get_num_threads()} "
          f"iters={len(seconds)} img_per_s={a.batch / dt:.2f} torch={torch.__version__}")


if __name__ == "__main__":
    main()
