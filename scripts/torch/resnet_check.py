#!/usr/bin/env python3
"""A ResNet block from adjoint, run by PyTorch.

Reads the checkpoint that nn/batchnorm_test.go's TestResidualShortcutTorch
writes for

    Sequential(Block(), ReLU(), AdaptiveAvgPool2d(1), Flatten(), Linear(4, 3))

with Block (and the ReLU after it) the basic block of torchvision's ResNet
that halves the image and widens 2 to 4 channels,

    body(x) + shortcut(x),
    body     = Sequential(Conv2d(2, 4, 3, stride=2, padding=1, bias=False), BatchNorm2d(4), ReLU(),
                          Conv2d(4, 4, 3, padding=1, bias=False), BatchNorm2d(4))
    shortcut = Sequential(Conv2d(2, 4, 1, stride=2, bias=False), BatchNorm2d(4))

after two training steps, loads it with load_state_dict(strict=True) (the
names 0.body.…, 0.shortcut.… and the BatchNorm buffers), and checks
torch's outputs on test/x in evaluation mode (test/y_eval) and in training
mode (test/y_train).

usage: resnet_check.py ADJOINT.safetensors
"""

import sys

import torch

from checkpoint_roundtrip import load_strict, read_safetensors


class Block(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.body = torch.nn.Sequential(
            torch.nn.Conv2d(2, 4, 3, stride=2, padding=1, bias=False), torch.nn.BatchNorm2d(4), torch.nn.ReLU(),
            torch.nn.Conv2d(4, 4, 3, padding=1, bias=False), torch.nn.BatchNorm2d(4))
        self.shortcut = torch.nn.Sequential(torch.nn.Conv2d(2, 4, 1, stride=2, bias=False), torch.nn.BatchNorm2d(4))

    def forward(self, x):
        return self.body(x) + self.shortcut(x)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    tensors, _ = read_safetensors(sys.argv[1])
    model = torch.nn.Sequential(Block(), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
                                torch.nn.Linear(4, 3))
    state = load_strict(model, tensors)
    x = tensors["test/x"]
    worst = {}
    model.eval()
    with torch.no_grad():
        worst["eval"] = float((model(x) - tensors["test/y_eval"]).abs().max())
    model.train()
    with torch.no_grad():
        worst["train"] = float((model(x) - tensors["test/y_train"]).abs().max())
    print(f"adjoint -> torch: strict load of {len(state)} entries; max |torch - adjoint|: "
          + ", ".join(f"{k} {v:.2g}" for k, v in worst.items()))
    if max(worst.values()) > 1e-5:
        sys.exit(f"torch differs from adjoint: {worst}")


if __name__ == "__main__":
    main()
