"""Reference for tests/features: the FID Inception-v3 in pytorch-fid's TF-compatible variant
(FIDInceptionA/C/E_1/E_2 on torchvision's Inception3 layout), written from the published
architecture with pytorch-fid's module names, given seeded non-trivial weights, scripted with
torch.jit.script and saved with its outputs.

usage: python3 fid_inception_reference.py OUT_DIR [N]
writes: model.pt (TorchScript), state_dict.pth (torch.save zip of the state dict),
        params.txt / buffers.txt ("name shape" per line, in named_parameters/named_buffers order),
        input.npy [N, 299, 299, 3] float32 NHWC in [-1, 1), pool_3.npy [N, 2048],
        mixed_6_conv.npy [N, 192, 17, 17], spatial.npy [N, 2023] (numpy: NHWC[..., :7] flattened),
        logits.npy [N, 1008] (no bias), images.npy [2, 21, 34, 3] uint8 and e2e_*.npy: the same
        taps for those images after a numpy transcription of TF1's resize_bilinear and (x-128)/128.
"""
import sys
from typing import Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class BasicConv2d(nn.Module):
    def __init__(self, cin, cout, **kw):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, bias=False, **kw)
        self.bn = nn.BatchNorm2d(cout, eps=0.001)

    def forward(self, x):
        return F.relu(self.bn(self.conv(x)))


class FIDInceptionA(nn.Module):
    def __init__(self, cin, pool_features):
        super().__init__()
        self.branch1x1 = BasicConv2d(cin, 64, kernel_size=1)
        self.branch5x5_1 = BasicConv2d(cin, 48, kernel_size=1)
        self.branch5x5_2 = BasicConv2d(48, 64, kernel_size=5, padding=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, padding=1)
        self.branch_pool = BasicConv2d(cin, pool_features, kernel_size=1)

    def forward(self, x):
        b1 = self.branch1x1(x)
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        bd = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        bp = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False))
        return torch.cat([b1, b5, bd, bp], 1)


class InceptionB(nn.Module):
    def __init__(self, cin):
        super().__init__()
        self.branch3x3 = BasicConv2d(cin, 384, kernel_size=3, stride=2)
        self.branch3x3dbl_1 = BasicConv2d(cin, 64, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(64, 96, kernel_size=3, padding=1)
        self.branch3x3dbl_3 = BasicConv2d(96, 96, kernel_size=3, stride=2)

    def forward(self, x):
        b3 = self.branch3x3(x)
        bd = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([b3, bd, F.max_pool2d(x, kernel_size=3, stride=2)], 1)


class FIDInceptionC(nn.Module):
    def __init__(self, cin, c7):
        super().__init__()
        self.branch1x1 = BasicConv2d(cin, 192, kernel_size=1)
        self.branch7x7_1 = BasicConv2d(cin, c7, kernel_size=1)
        self.branch7x7_2 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7_3 = BasicConv2d(c7, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_1 = BasicConv2d(cin, c7, kernel_size=1)
        self.branch7x7dbl_2 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_3 = BasicConv2d(c7, c7, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7dbl_4 = BasicConv2d(c7, c7, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7dbl_5 = BasicConv2d(c7, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch_pool = BasicConv2d(cin, 192, kernel_size=1)

    def forward_taps(self, x) -> Tuple[torch.Tensor, torch.Tensor]:
        b1 = self.branch1x1(x)
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        bd = self.branch7x7dbl_1(x)
        bd = self.branch7x7dbl_5(self.branch7x7dbl_4(self.branch7x7dbl_3(self.branch7x7dbl_2(bd))))
        bp = self.branch_pool(F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False))
        return torch.cat([b1, b7, bd, bp], 1), b1

    def forward(self, x):
        return self.forward_taps(x)[0]


class InceptionD(nn.Module):
    def __init__(self, cin):
        super().__init__()
        self.branch3x3_1 = BasicConv2d(cin, 192, kernel_size=1)
        self.branch3x3_2 = BasicConv2d(192, 320, kernel_size=3, stride=2)
        self.branch7x7x3_1 = BasicConv2d(cin, 192, kernel_size=1)
        self.branch7x7x3_2 = BasicConv2d(192, 192, kernel_size=(1, 7), padding=(0, 3))
        self.branch7x7x3_3 = BasicConv2d(192, 192, kernel_size=(7, 1), padding=(3, 0))
        self.branch7x7x3_4 = BasicConv2d(192, 192, kernel_size=3, stride=2)

    def forward(self, x):
        b3 = self.branch3x3_2(self.branch3x3_1(x))
        b7 = self.branch7x7x3_4(self.branch7x7x3_3(self.branch7x7x3_2(self.branch7x7x3_1(x))))
        return torch.cat([b3, b7, F.max_pool2d(x, kernel_size=3, stride=2)], 1)


class InceptionEBase(nn.Module):
    def __init__(self, cin):
        super().__init__()
        self.branch1x1 = BasicConv2d(cin, 320, kernel_size=1)
        self.branch3x3_1 = BasicConv2d(cin, 384, kernel_size=1)
        self.branch3x3_2a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3_2b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch3x3dbl_1 = BasicConv2d(cin, 448, kernel_size=1)
        self.branch3x3dbl_2 = BasicConv2d(448, 384, kernel_size=3, padding=1)
        self.branch3x3dbl_3a = BasicConv2d(384, 384, kernel_size=(1, 3), padding=(0, 1))
        self.branch3x3dbl_3b = BasicConv2d(384, 384, kernel_size=(3, 1), padding=(1, 0))
        self.branch_pool = BasicConv2d(cin, 192, kernel_size=1)

    def branches(self, x, pooled):
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        bd = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        bd = torch.cat([self.branch3x3dbl_3a(bd), self.branch3x3dbl_3b(bd)], 1)
        return torch.cat([self.branch1x1(x), b3, bd, self.branch_pool(pooled)], 1)


class FIDInceptionE_1(InceptionEBase):
    def forward(self, x):
        return self.branches(x, F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False))


class FIDInceptionE_2(InceptionEBase):
    def forward(self, x):
        return self.branches(x, F.max_pool2d(x, kernel_size=3, stride=1, padding=1))


class FIDInception(nn.Module):
    """Input [N, 3, 299, 299] normalised to (x - 128) / 128; returns (pool_3, mixed_6/conv, logits
    without bias)."""

    def __init__(self):
        super().__init__()
        self.Conv2d_1a_3x3 = BasicConv2d(3, 32, kernel_size=3, stride=2)
        self.Conv2d_2a_3x3 = BasicConv2d(32, 32, kernel_size=3)
        self.Conv2d_2b_3x3 = BasicConv2d(32, 64, kernel_size=3, padding=1)
        self.Conv2d_3b_1x1 = BasicConv2d(64, 80, kernel_size=1)
        self.Conv2d_4a_3x3 = BasicConv2d(80, 192, kernel_size=3)
        self.Mixed_5b = FIDInceptionA(192, 32)
        self.Mixed_5c = FIDInceptionA(256, 64)
        self.Mixed_5d = FIDInceptionA(288, 64)
        self.Mixed_6a = InceptionB(288)
        self.Mixed_6b = FIDInceptionC(768, 128)
        self.Mixed_6c = FIDInceptionC(768, 160)
        self.Mixed_6d = FIDInceptionC(768, 160)
        self.Mixed_6e = FIDInceptionC(768, 192)
        self.Mixed_7a = InceptionD(768)
        self.Mixed_7b = FIDInceptionE_1(1280)
        self.Mixed_7c = FIDInceptionE_2(2048)
        self.fc = nn.Linear(2048, 1008)

    def forward(self, x) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self.Conv2d_2b_3x3(self.Conv2d_2a_3x3(self.Conv2d_1a_3x3(x)))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        x = self.Conv2d_4a_3x3(self.Conv2d_3b_1x1(x))
        x = F.max_pool2d(x, kernel_size=3, stride=2)
        x = self.Mixed_5d(self.Mixed_5c(self.Mixed_5b(x)))
        x = self.Mixed_6c(self.Mixed_6b(self.Mixed_6a(x)))
        x, mixed_6_conv = self.Mixed_6d.forward_taps(x)
        x = self.Mixed_7c(self.Mixed_7b(self.Mixed_7a(self.Mixed_6e(x))))
        pool_3 = F.adaptive_avg_pool2d(x, output_size=(1, 1)).flatten(1)
        return pool_3, mixed_6_conv, pool_3 @ self.fc.weight.t()


def randomise(model, gen):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 4:
                fan_in = p.shape[1] * p.shape[2] * p.shape[3]
                p.copy_(torch.randn(p.shape, generator=gen) * (2.0 / fan_in) ** 0.5)
            elif name == "fc.weight":
                p.copy_(torch.randn(p.shape, generator=gen) / 2048 ** 0.5)
            elif name.endswith("bn.weight"):
                p.copy_(0.8 + 0.4 * torch.rand(p.shape, generator=gen))
            else:  # bn.bias, fc.bias
                p.copy_(0.1 * torch.randn(p.shape, generator=gen))
        for name, b in model.named_buffers():
            if name.endswith("running_mean"):
                b.copy_(0.1 * torch.randn(b.shape, generator=gen))
            elif name.endswith("running_var"):
                b.copy_(0.75 + 0.5 * torch.rand(b.shape, generator=gen))
            else:
                b.fill_(7)  # num_batches_tracked: present, unused in eval mode


def tf1_resize_bilinear(images, out_h, out_w):
    """TF1 resize_bilinear, align_corners=False, legacy scaler, float32 as resize_bilinear_op.cc."""
    n, h, w, c = images.shape
    def taps(out_size, in_size):
        scale = np.float32(in_size) / np.float32(out_size)
        src = np.arange(out_size, dtype=np.float32) * scale
        lower = np.floor(src).astype(np.int64)
        upper = np.minimum(np.ceil(src).astype(np.int64), in_size - 1)
        return lower, upper, (src - np.floor(src)).astype(np.float32)
    y0, y1, fy = taps(out_h, h)
    x0, x1, fx = taps(out_w, w)
    img = images.astype(np.float32)
    fx = fx[None, None, :, None]
    top = img[:, y0][:, :, x0] + (img[:, y0][:, :, x1] - img[:, y0][:, :, x0]) * fx
    bottom = img[:, y1][:, :, x0] + (img[:, y1][:, :, x1] - img[:, y1][:, :, x0]) * fx
    return (top + (bottom - top) * fy[None, :, None, None]).astype(np.float32)


def run(model, nhwc):
    with torch.no_grad():
        pool_3, mixed, logits = model(torch.from_numpy(nhwc).permute(0, 3, 1, 2).contiguous())
    spatial = mixed.permute(0, 2, 3, 1).numpy()[..., :7].reshape(nhwc.shape[0], -1)  # evaluator.py L599
    return pool_3.numpy(), mixed.numpy(), spatial, logits.numpy()


def main():
    out = sys.argv[1]
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    torch.set_num_threads(2)
    gen = torch.Generator().manual_seed(1234)
    model = FIDInception().eval()
    randomise(model, gen)
    scripted = torch.jit.script(model)
    scripted.save(f"{out}/model.pt")
    torch.save(model.state_dict(), f"{out}/state_dict.pth")
    with open(f"{out}/params.txt", "w") as f:
        for name, p in model.named_parameters():
            f.write(f"{name} {'x'.join(map(str, p.shape))}\n")
    with open(f"{out}/buffers.txt", "w") as f:
        for name, b in model.named_buffers():
            f.write(f"{name} {'x'.join(map(str, b.shape))}\n")

    rng = np.random.default_rng(99)
    x = rng.uniform(-1.0, 1.0, size=(n, 299, 299, 3)).astype(np.float32)
    np.save(f"{out}/input.npy", x)
    for key, value in zip(["pool_3", "mixed_6_conv", "spatial", "logits"], run(model, x)):
        np.save(f"{out}/{key}.npy", value)

    images = rng.integers(0, 256, size=(2, 21, 34, 3), dtype=np.uint8)
    np.save(f"{out}/images.npy", images)
    resized = tf1_resize_bilinear(images, 299, 299)
    normalised = ((resized - np.float32(128)) / np.float32(128)).astype(np.float32)
    for key, value in zip(["pool_3", "mixed_6_conv", "spatial", "logits"], run(model, normalised)):
        np.save(f"{out}/e2e_{key}.npy", value)


if __name__ == "__main__":
    main()
