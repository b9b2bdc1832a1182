#!/usr/bin/env python3
"""A convolutional checkpoint from adjoint, run by PyTorch.

Reads an adjoint checkpoint of the network of nn/conv_test.go's
TestCNNCheckpointTorch,

    Sequential(Conv2d(1, 8, 3, padding=1), ReLU(), MaxPool2d(2),
               Conv2d(8, 8, 3, padding=1, groups=8), ReLU(),
               Conv2d(8, 16, 3, stride=2, padding=(1, 2), dilation=(1, 2), padding_mode="reflect"), ReLU(),
               AvgPool2d(3, stride=1, padding=1),
               Flatten(), Linear(16*2*2, 10))

loads it into the same torch model with load_state_dict(strict=True), and
checks that torch's outputs on the checkpoint's test/x [N, 1, 8, 8] equal
adjoint's test/y: the weight layout [out, in/groups, KH, KW], the padding,
stride, dilation, reflection padding, groups (a depthwise convolution) and pooling, and Flatten's channel-major order must all agree.

usage: cnn_checkpoint.py ADJOINT.safetensors
"""

import sys

import torch

from checkpoint_roundtrip import check_test_outputs, load_strict, read_safetensors


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    tensors, _ = read_safetensors(sys.argv[1])
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(8, 8, 3, padding=1, groups=8), torch.nn.ReLU(),
        torch.nn.Conv2d(8, 16, 3, stride=2, padding=(1, 2), dilation=(1, 2), padding_mode="reflect"), torch.nn.ReLU(),
        torch.nn.AvgPool2d(3, stride=1, padding=1),
        torch.nn.Flatten(), torch.nn.Linear(16 * 2 * 2, 10))
    state = load_strict(model, tensors)
    check_test_outputs(model, tensors, state)


if __name__ == "__main__":
    main()
