#!/usr/bin/python3
"""Write cross-check fixtures for the C++ tests from the Python replica (adm_replica.py).

Usage (run with /usr/bin/python3, which has torch):
  make_fixtures.py model <outdir> --config JSON [--seed S] [--batch B]
  make_fixtures.py loss  <outdir> --config JSON --diffusion JSON [--seed S] [--batch B] [--gamma G]
  make_fixtures.py pmv   <outdir> --diffusion JSON [--seed S] [--batch B] [--image-size N]
                                  [--learn-sigma 0|1] [--channels C]
  make_fixtures.py step  <outdir> --config JSON --diffusion JSON [--seed S] [--batch B]
                                  [--sampler ancestral|ddim] [--eta E] [--t I,J,...]
                                  [--eps-scales "B[,K];..."] [--clip 0|1]

--config keys are the C++ UNetConfig field names, --diffusion keys the DiffusionConfig field
names; a missing key takes the C++ default (listed below), an unknown key is an error.
All outputs are written in eval() mode, float32 unless stated.

Files:
  model: model.pt (torch.save of the state_dict), keys.txt ("name 3x3x..." per line, state_dict
         order), x.npy [B,C,H,W] ~ N(0,1), t.npy int64 [B] in [0,1000), out.npy = model(x, t)
         (+ y.npy int64 class labels when num_classes > 0).
  loss:  model.pt, keys.txt, x0.npy (256-level grid in [-1,1]), t.npy (int64 indices into the
         possibly respaced process), t_model.npy (what the network received: timestep_map[t],
         float-rescaled if rescale_timesteps), noise.npy, perturbation.npy (gamma > 0 only),
         terms.npz {loss, mse (MSE losses), vb (learned sigma or KL)}, schedule.npz.
         Needs dropout 0; for KL losses vb is the raw bits/dim term, loss = vb * T if rescaled.
  pmv:   model_output.npy, x_t.npy, t.npy, pmv.npz {mean, variance, log_variance, pred_xstart}
         (clip_denoised True), schedule.npz {betas, alphas_cumprod, posterior_variance,
         posterior_log_variance_clipped, posterior_mean_coef1, posterior_mean_coef2 (float64),
         timestep_map (int64)}.
  step:  model.pt, keys.txt, x.npy (x_t = q_sample of a 256-level x0 at t), t.npy (int64 indices
         of the chain the diffusion JSON's timestep_respacing gives; --t, or random), noise.npy (the
         step's z), y.npy (class labels, num_classes > 0), and per ';'-separated entry j of
         --eps-scales (Epsilon Scaling lambda_i = B + K i, "1" = none) step_<j>.npz {sample,
         pred_xstart}: the replica's p_sample (or ddim_sample with --eta) with clip_denoised --clip.
  t[0] = 0 (batch >= 2) and t[1] = T-1 (batch >= 3) pin the edge timesteps in loss and pmv.
"""

import argparse
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import adm_replica as R  # noqa: E402

# Defaults of base/nn/unet_config.h and base/diffusion/diffusion_config.h.
UNET_DEFAULTS = dict(
    image_size=64, in_channels=3, num_channels=128, num_res_blocks=2,
    attention_resolutions=[16, 8], dropout=0.0, channel_mult=[], num_heads=4,
    num_head_channels=-1, num_heads_upsample=-1, use_scale_shift_norm=True,
    resblock_updown=False, use_new_attention_order=False, learn_sigma=False, num_classes=0,
    conv_resample=True, use_fp16=False, precision="fp16",
)
DIFFUSION_DEFAULTS = dict(
    diffusion_steps=1000, noise_schedule="cosine", learn_sigma=False, sigma_small=False,
    use_kl=False, predict_xstart=False, rescale_timesteps=False, rescale_learned_sigmas=True,
    timestep_respacing="", model_mean_type="", model_var_type="", loss_type="",
)


def _resolve(text, defaults, what):
    given = json.loads(text) if text else {}
    if not isinstance(given, dict):
        raise SystemExit(f"--{what} must be a JSON object")
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise SystemExit(f"unknown {what} keys: {unknown}")
    cfg = dict(defaults)
    cfg.update(given)
    return cfg


def build_model(cfg):
    size = int(cfg["image_size"])
    mult = list(cfg["channel_mult"])
    if not mult:
        if size not in R.DEFAULT_CHANNEL_MULT:
            raise SystemExit(f"no default channel_mult for image_size {size}")
        mult = list(R.DEFAULT_CHANNEL_MULT[size])
    # the reference truncates model_channels * mult with int(); keep integral mults as ints
    mult = [int(m) if float(m).is_integer() else float(m) for m in mult]
    ds = []
    for r in cfg["attention_resolutions"]:
        r = int(r)
        if r <= 0 or size % r != 0:
            raise SystemExit(f"attention resolution {r} does not divide image_size {size}")
        ds.append(size // r)
    in_ch = int(cfg["in_channels"])
    return R.UNetModel(
        image_size=size,
        in_channels=in_ch,
        model_channels=int(cfg["num_channels"]),
        out_channels=2 * in_ch if cfg["learn_sigma"] else in_ch,
        num_res_blocks=int(cfg["num_res_blocks"]),
        attention_resolutions=tuple(ds),
        dropout=float(cfg["dropout"]),
        channel_mult=tuple(mult),
        conv_resample=bool(cfg["conv_resample"]),
        num_classes=int(cfg["num_classes"]) or None,
        num_heads=int(cfg["num_heads"]),
        num_head_channels=int(cfg["num_head_channels"]),
        num_heads_upsample=int(cfg["num_heads_upsample"]),
        use_scale_shift_norm=bool(cfg["use_scale_shift_norm"]),
        resblock_updown=bool(cfg["resblock_updown"]),
        use_new_attention_order=bool(cfg["use_new_attention_order"]),
    )


@torch.no_grad()
def randomise_parameters(model):
    """Replace every parameter (zero-initialised ones included) by random values.

    Conv/Linear weights ~ N(0, 1/fan_in) (activations stay O(1)), their biases ~ N(0, 0.1^2);
    GroupNorm weight ~ 1 + N(0, 0.1^2), bias ~ N(0, 0.1^2); label embedding ~ N(0, 0.5^2).
    Draws follow model.named_parameters() order from the global torch RNG.
    """
    norm_params = set()
    emb_params = set()
    for mod in model.modules():
        if isinstance(mod, torch.nn.GroupNorm):
            norm_params.update(id(p) for p in mod.parameters(recurse=False))
        if isinstance(mod, torch.nn.Embedding):
            emb_params.update(id(p) for p in mod.parameters(recurse=False))
    for _, p in model.named_parameters():
        noise = torch.randn(p.shape, dtype=p.dtype)
        if id(p) in emb_params:
            p.copy_(0.5 * noise)
        elif id(p) in norm_params or p.dim() < 2:
            p.copy_(0.1 * noise)  # biases and GroupNorm affine (weights get +1 below)
        else:
            fan_in = int(np.prod(p.shape[1:]))
            p.copy_(noise / np.sqrt(fan_in))
    for mod in model.modules():
        if isinstance(mod, torch.nn.GroupNorm):
            mod.weight.add_(1.0)


def write_model_files(model, outdir):
    sd = model.state_dict()
    torch.save(sd, os.path.join(outdir, "model.pt"))
    with open(os.path.join(outdir, "keys.txt"), "w") as f:
        for k, v in sd.items():
            f.write(f"{k} {'x'.join(str(s) for s in v.shape)}\n")


def check_finite(name, arr):
    if not np.all(np.isfinite(arr)):
        raise SystemExit(f"non-finite values in {name}")


def save_npy(outdir, name, arr):
    check_finite(name, arr)
    np.save(os.path.join(outdir, name), arr)


def make_diffusion(dcfg):
    return R.create_gaussian_diffusion(
        steps=int(dcfg["diffusion_steps"]),
        learn_sigma=bool(dcfg["learn_sigma"]),
        sigma_small=bool(dcfg["sigma_small"]),
        noise_schedule=dcfg["noise_schedule"],
        use_kl=bool(dcfg["use_kl"]),
        predict_xstart=bool(dcfg["predict_xstart"]),
        rescale_timesteps=bool(dcfg["rescale_timesteps"]),
        rescale_learned_sigmas=bool(dcfg["rescale_learned_sigmas"]),
        timestep_respacing=dcfg["timestep_respacing"],
        model_mean_type=dcfg["model_mean_type"],
        model_var_type=dcfg["model_var_type"],
        loss_type=dcfg["loss_type"],
    )


def process_timesteps(num_timesteps, batch):
    """Random indices into the (respaced) process; t[0]=0 and t[1]=T-1 pin the edge cases."""
    t = torch.randint(0, num_timesteps, (batch,), dtype=torch.int64)
    if batch >= 2:
        t[0] = 0
    if batch >= 3:
        t[1] = num_timesteps - 1
    return t


def write_schedule(diff, outdir):
    np.savez(os.path.join(outdir, "schedule.npz"),
             betas=diff.betas.astype(np.float64),
             alphas_cumprod=diff.alphas_cumprod.astype(np.float64),
             posterior_variance=diff.posterior_variance.astype(np.float64),
             posterior_log_variance_clipped=diff.posterior_log_variance_clipped.astype(np.float64),
             posterior_mean_coef1=diff.posterior_mean_coef1.astype(np.float64),
             posterior_mean_coef2=diff.posterior_mean_coef2.astype(np.float64),
             timestep_map=diff.timestep_map.astype(np.int64))


def cmd_model(args):
    cfg = _resolve(args.config, UNET_DEFAULTS, "config")
    torch.manual_seed(args.seed)
    model = build_model(cfg)
    randomise_parameters(model)
    model.eval()
    B, C, N = args.batch, int(cfg["in_channels"]), int(cfg["image_size"])
    x = torch.randn(B, C, N, N, dtype=torch.float32)
    t = torch.randint(0, 1000, (B,), dtype=torch.int64)
    y = None
    if int(cfg["num_classes"]) > 0:
        y = torch.randint(0, int(cfg["num_classes"]), (B,), dtype=torch.int64)
    with torch.no_grad():
        out = model(x, t, y)
    write_model_files(model, args.outdir)
    save_npy(args.outdir, "x.npy", x.numpy())
    save_npy(args.outdir, "t.npy", t.numpy())
    if y is not None:
        save_npy(args.outdir, "y.npy", y.numpy())
    save_npy(args.outdir, "out.npy", out.numpy().astype(np.float32))
    return {"out_std": float(out.std()), "out_absmax": float(out.abs().max())}


def cmd_loss(args):
    cfg = _resolve(args.config, UNET_DEFAULTS, "config")
    dcfg = _resolve(args.diffusion, DIFFUSION_DEFAULTS, "diffusion")
    if float(cfg["dropout"]) != 0.0:
        raise SystemExit("loss fixtures need dropout 0 in --config")
    if bool(cfg["learn_sigma"]) != bool(dcfg["learn_sigma"]):
        raise SystemExit("learn_sigma differs between --config and --diffusion")
    if int(cfg["num_classes"]) > 0:
        raise SystemExit("loss fixtures support unconditional models only")
    torch.manual_seed(args.seed)
    model = build_model(cfg)
    randomise_parameters(model)
    model.eval()
    diff = make_diffusion(dcfg)
    B, C, N = args.batch, int(cfg["in_channels"]), int(cfg["image_size"])
    # x0 on the 256-level pixel grid in [-1, 1] (hits the +-1 edge bins of the decoder NLL)
    x0 = torch.randint(0, 256, (B, C, N, N)).float() / 127.5 - 1.0
    t = process_timesteps(diff.num_timesteps, B)
    noise = torch.randn(B, C, N, N)
    perturbation = torch.randn(B, C, N, N) if args.gamma > 0 else None
    with torch.no_grad():
        terms = diff.training_losses(lambda xt, ts: model(xt, ts), x0, t, noise=noise,
                                     perturbation=perturbation, gamma=args.gamma)
    write_model_files(model, args.outdir)
    save_npy(args.outdir, "x0.npy", x0.numpy())
    save_npy(args.outdir, "t.npy", t.numpy())
    save_npy(args.outdir, "t_model.npy", diff.model_timesteps(t).numpy())
    save_npy(args.outdir, "noise.npy", noise.numpy())
    if perturbation is not None:
        save_npy(args.outdir, "perturbation.npy", perturbation.numpy())
    arrays = {k: v.numpy().astype(np.float32) for k, v in terms.items()}
    for k, v in arrays.items():
        check_finite(k, v)
    np.savez(os.path.join(args.outdir, "terms.npz"), **arrays)
    write_schedule(diff, args.outdir)
    return {k: [round(float(a), 5) for a in v] for k, v in arrays.items()}


def cmd_pmv(args):
    dcfg = _resolve(args.diffusion, DIFFUSION_DEFAULTS, "diffusion")
    if args.learn_sigma is not None:
        dcfg["learn_sigma"] = bool(args.learn_sigma)
    torch.manual_seed(args.seed)
    diff = make_diffusion(dcfg)
    B, C, N = args.batch, args.channels, args.image_size
    out_c = 2 * C if dcfg["learn_sigma"] else C
    model_output = torch.randn(B, out_c, N, N)
    if dcfg["learn_sigma"]:
        # v mostly in [-1, 1], a few values outside (extrapolated interpolation)
        model_output[:, C:] = torch.rand(B, C, N, N) * 2.4 - 1.2
    x_t = torch.randn(B, C, N, N)
    t = process_timesteps(diff.num_timesteps, B)
    out = diff.p_mean_variance(model_output, x_t, t, clip_denoised=True)
    save_npy(args.outdir, "model_output.npy", model_output.numpy())
    save_npy(args.outdir, "x_t.npy", x_t.numpy())
    save_npy(args.outdir, "t.npy", t.numpy())
    arrays = {k: out[k].numpy().astype(np.float32)
              for k in ("mean", "variance", "log_variance", "pred_xstart")}
    for k, v in arrays.items():
        check_finite(k, v)
    np.savez(os.path.join(args.outdir, "pmv.npz"), **arrays)
    write_schedule(diff, args.outdir)
    return {"num_timesteps": diff.num_timesteps, "t": t.tolist(),
            "mean_std": float(out["mean"].std())}


def parse_eps_scales(text):
    """ "1;1.017;1,0.0003" -> [(1.0, 0.0), (1.017, 0.0), (1.0, 0.0003)]."""
    out = []
    for entry in text.split(";"):
        fields = [float(f) for f in entry.split(",")]
        if len(fields) not in (1, 2):
            raise SystemExit(f"--eps-scales entry {entry!r}: expected B or B,K")
        out.append((fields[0], fields[1] if len(fields) == 2 else 0.0))
    return out


def cmd_step(args):
    cfg = _resolve(args.config, UNET_DEFAULTS, "config")
    dcfg = _resolve(args.diffusion, DIFFUSION_DEFAULTS, "diffusion")
    if float(cfg["dropout"]) != 0.0:
        raise SystemExit("step fixtures need dropout 0 in --config")
    if bool(cfg["learn_sigma"]) != bool(dcfg["learn_sigma"]):
        raise SystemExit("learn_sigma differs between --config and --diffusion")
    torch.manual_seed(args.seed)
    model = build_model(cfg)
    randomise_parameters(model)
    model.eval()
    diff = make_diffusion(dcfg)
    B, C, N = args.batch, int(cfg["in_channels"]), int(cfg["image_size"])
    if args.t:
        t = torch.tensor([int(v) for v in args.t.split(",")], dtype=torch.int64)
        if t.shape[0] != B or int(t.min()) < 0 or int(t.max()) >= diff.num_timesteps:
            raise SystemExit(f"--t needs {B} indices in [0, {diff.num_timesteps})")
    else:
        t = process_timesteps(diff.num_timesteps, B)
    x0 = torch.randint(0, 256, (B, C, N, N)).float() / 127.5 - 1.0
    x = diff.q_sample(x0, t, torch.randn(B, C, N, N))
    noise = torch.randn(B, C, N, N)
    y = None
    if int(cfg["num_classes"]) > 0:
        y = torch.randint(0, int(cfg["num_classes"]), (B,), dtype=torch.int64)
    write_model_files(model, args.outdir)
    save_npy(args.outdir, "x.npy", x.numpy())
    save_npy(args.outdir, "t.npy", t.numpy())
    save_npy(args.outdir, "noise.npy", noise.numpy())
    if y is not None:
        save_npy(args.outdir, "y.npy", y.numpy())
    summary = {"num_timesteps": diff.num_timesteps, "t": t.tolist()}
    for j, (b, k) in enumerate(parse_eps_scales(args.eps_scales)):
        scaler = None if (b, k) == (1.0, 0.0) else R.sampling_scaler(b, k, diff.num_timesteps)
        with torch.no_grad():
            fn = lambda xt, ts: model(xt, ts, y)  # noqa: E731
            if args.sampler == "ddim":
                out = diff.ddim_sample(fn, x, t, noise, clip_denoised=bool(args.clip), eta=args.eta,
                                       sampling_scaler=scaler)
            else:
                out = diff.p_sample(fn, x, t, noise, clip_denoised=bool(args.clip),
                                    sampling_scaler=scaler)
        arrays = {k2: out[k2].numpy().astype(np.float32) for k2 in ("sample", "pred_xstart")}
        for k2, v in arrays.items():
            check_finite(k2, v)
        np.savez(os.path.join(args.outdir, f"step_{j}.npz"), **arrays)
        summary[f"step_{j}_absmax"] = float(out["sample"].abs().max())
    return summary


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("kind", choices=["model", "loss", "pmv", "step"])
    p.add_argument("outdir")
    p.add_argument("--config", default="{}", help="JSON of UNetConfig fields")
    p.add_argument("--diffusion", default="{}", help="JSON of DiffusionConfig fields")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch", type=int, default=2)
    p.add_argument("--gamma", type=float, default=0.0, help="input perturbation (loss only)")
    p.add_argument("--image-size", type=int, default=16, help="pmv only")
    p.add_argument("--channels", type=int, default=3, help="pmv only: image channels C")
    p.add_argument("--learn-sigma", type=int, choices=[0, 1], default=None,
                   help="pmv only: overrides the diffusion JSON learn_sigma")
    p.add_argument("--sampler", choices=["ancestral", "ddim"], default="ancestral", help="step only")
    p.add_argument("--eta", type=float, default=0.0, help="step only: DDIM eta")
    p.add_argument("--t", default="", help="step only: comma-separated indices of the chain")
    p.add_argument("--eps-scales", default="1", help="step only: ';'-separated B or B,K")
    p.add_argument("--clip", type=int, choices=[0, 1], default=1, help="step only: clip_denoised")
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    if args.batch < 1:
        raise SystemExit("--batch must be >= 1")
    torch.set_num_threads(1)
    os.makedirs(args.outdir, exist_ok=True)
    summary = {"model": cmd_model, "loss": cmd_loss, "pmv": cmd_pmv, "step": cmd_step}[args.kind](args)
    if not args.quiet:
        print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
