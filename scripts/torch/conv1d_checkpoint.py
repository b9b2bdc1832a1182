#!/usr/bin/env python3
"""A one-dimensional convolutional checkpoint from adjoint, run by PyTorch.

Reads an adjoint checkpoint of the network of nn/conv1d_test.go's
TestConv1dCheckpointTorch,

    Sequential(Conv1d(2, 8, 5, padding=2), ReLU(), MaxPool1d(2),
               Conv1d(8, 8, 3, padding=1, groups=8), ReLU(),
               Conv1d(8, 16, 3, stride=2, padding=2, dilation=2), ReLU(),
               AvgPool1d(3, stride=1, padding=1),
               ConvTranspose1d(16, 8, 4, stride=2, padding=1),
               Flatten(), Linear(8*12, 10))

loads it into the same torch model with load_state_dict(strict=True), and
checks that torch's outputs on the checkpoint's test/x [N, 2, 24] equal
adjoint's test/y, and that torch prints layer I as adjoint does for
each I=REPR argument: the weight layout [out, in/groups, K], padding,
stride, dilation, groups and pooling must all agree.

usage: conv1d_checkpoint.py ADJOINT.safetensors [I=REPR ...]
"""

import sys

import torch

from checkpoint_roundtrip import check_test_outputs, load_strict, read_safetensors


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    tensors, _ = read_safetensors(sys.argv[1])
    model = torch.nn.Sequential(
        torch.nn.Conv1d(2, 8, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool1d(2),
        torch.nn.Conv1d(8, 8, 3, padding=1, groups=8), torch.nn.ReLU(),
        torch.nn.Conv1d(8, 16, 3, stride=2, padding=2, dilation=2), torch.nn.ReLU(),
        torch.nn.AvgPool1d(3, stride=1, padding=1),
        torch.nn.ConvTranspose1d(16, 8, 4, stride=2, padding=1),
        torch.nn.Flatten(), torch.nn.Linear(8 * 12, 10))
    state = load_strict(model, tensors)
    check_test_outputs(model, tensors, state)
    for arg in sys.argv[2:]:
        i, got = arg.split("=", 1)
        layer = model[int(i)]
        if got != repr(layer):
            sys.exit(f"layer {i}: adjoint prints {got!r}, torch {layer!r}")
    print(f"adjoint prints layers {[a.split('=', 1)[0] for a in sys.argv[2:]]} as torch does")


if __name__ == "__main__":
    main()
