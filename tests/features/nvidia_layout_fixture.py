#!/usr/bin/python3
"""Re-save the pytorch-fid-layout fixture (state_dict.pth of fid_inception_reference.py) in the
layout of NVIDIA's TorchScript inception-2015-12-05.pt, to test repro's name mapping.

Usage: nvidia_layout_fixture.py <fixture_dir>
Reads <fixture_dir>/state_dict.pth; writes
  nvidia.pt      a TorchScript module with NVIDIA's names: layers.<block>.<branch>.{weight,beta,mean,var}
                 (no BatchNorm scale), output.{weight,bias}
  gamma1.pth     the same weights in pytorch-fid's layout, BatchNorm scales set to 1 (NVIDIA's
                 layers have none), so both files must load to identical networks.

The table below is this script's own transcription of NVIDIA's module tree (as printed by the
public ports that load the file by name); the C++ loader has its own.
"""
import sys

import torch
from torch import nn

STEM = {"conv": "Conv2d_1a_3x3", "conv_1": "Conv2d_2a_3x3", "conv_2": "Conv2d_2b_3x3",
        "conv_3": "Conv2d_3b_1x1", "conv_4": "Conv2d_4a_3x3"}
A = {"conv": "branch1x1", "tower/conv": "branch5x5_1", "tower/conv_1": "branch5x5_2",
     "tower_1/conv": "branch3x3dbl_1", "tower_1/conv_1": "branch3x3dbl_2",
     "tower_1/conv_2": "branch3x3dbl_3", "tower_2/conv": "branch_pool"}
B = {"conv": "branch3x3", "tower/conv": "branch3x3dbl_1", "tower/conv_1": "branch3x3dbl_2",
     "tower/conv_2": "branch3x3dbl_3"}
C = {"conv": "branch1x1", "tower/conv": "branch7x7_1", "tower/conv_1": "branch7x7_2",
     "tower/conv_2": "branch7x7_3", "tower_2/conv": "branch_pool"}
C.update({"tower_1/conv" + ("" if i == 0 else f"_{i}"): f"branch7x7dbl_{i + 1}" for i in range(5)})
D = {"tower/conv": "branch3x3_1", "tower/conv_1": "branch3x3_2"}
D.update({"tower_1/conv" + ("" if i == 0 else f"_{i}"): f"branch7x7x3_{i + 1}" for i in range(4)})
E = {"conv": "branch1x1", "tower_conv": "branch3x3_1", "tower_mixed_conv": "branch3x3_2a",
     "tower_mixed_conv_1": "branch3x3_2b", "tower_1_conv": "branch3x3dbl_1",
     "tower_1_conv_1": "branch3x3dbl_2", "tower_1_mixed_conv": "branch3x3dbl_3a",
     "tower_1_mixed_conv_1": "branch3x3dbl_3b", "tower_2_conv": "branch_pool"}
MIXED = [("mixed", "Mixed_5b", A), ("mixed_1", "Mixed_5c", A), ("mixed_2", "Mixed_5d", A),
         ("mixed_3", "Mixed_6a", B), ("mixed_4", "Mixed_6b", C), ("mixed_5", "Mixed_6c", C),
         ("mixed_6", "Mixed_6d", C), ("mixed_7", "Mixed_6e", C), ("mixed_8", "Mixed_7a", D),
         ("mixed_9", "Mixed_7b", E), ("mixed_10", "Mixed_7c", E)]


class Conv2dLayer(nn.Module):
    def __init__(self, sd, prefix):
        super().__init__()
        self.weight = nn.Parameter(sd[prefix + ".conv.weight"].clone())
        self.beta = nn.Parameter(sd[prefix + ".bn.bias"].clone())
        self.register_buffer("mean", sd[prefix + ".bn.running_mean"].clone())
        self.register_buffer("var", sd[prefix + ".bn.running_var"].clone())


def child(parent, name):
    if not hasattr(parent, name):
        parent.add_module(name, nn.Module())
    return getattr(parent, name)


class Root(nn.Module):
    def __init__(self, sd):
        super().__init__()
        self.layers = nn.Module()
        self.output = nn.Linear(2048, 1008)
        with torch.no_grad():
            self.output.weight.copy_(sd["fc.weight"])
            self.output.bias.copy_(sd["fc.bias"])
        for name, ours in STEM.items():
            self.layers.add_module(name, Conv2dLayer(sd, ours))
        for block, ours, table in MIXED:
            m = child(self.layers, block)
            for path, branch in table.items():
                *parents, leaf = path.split("/")
                owner = m
                for p in parents:
                    owner = child(owner, p)
                owner.add_module(leaf, Conv2dLayer(sd, f"{ours}.{branch}"))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.linear(x, self.output.weight, self.output.bias)


def main():
    out = sys.argv[1]
    sd = torch.load(f"{out}/state_dict.pth")
    root = Root(sd)
    n = sum(1 for _ in root.state_dict())
    assert n == 94 * 4 + 2, n
    torch.jit.script(root).save(f"{out}/nvidia.pt")
    gamma1 = {k: (torch.ones_like(v) if k.endswith(".bn.weight") else v) for k, v in sd.items()}
    torch.save(gamma1, f"{out}/gamma1.pth")


if __name__ == "__main__":
    main()
