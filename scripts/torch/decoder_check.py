#!/usr/bin/env python3
"""A transposed-convolution decoder from adjoint, run by PyTorch.

Reads the checkpoint that nn/conv_test.go's TestDecoderTorch writes for

    Sequential(ConvTranspose2d(4, 4, 4, stride=2, padding=1), GroupNorm(2, 4), ReLU(),
               ConvTranspose2d(4, 3, 3, padding=1), BatchNorm2d(3), ReLU(),
               ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1, bias=False))

(after two training steps, so that the running statistics have moved),
loads it with load_state_dict(strict=True), and checks that torch's
evaluation-mode outputs on test/x [N, 4, 3, 3] equal adjoint's test/y
[N, 2, 12, 12]: the weight layout [in, out, KH, KW], the output size with
output padding, the bias per channel and GroupNorm's groups must all
agree.

usage: decoder_check.py ADJOINT.safetensors
"""

import sys

import torch

from checkpoint_roundtrip import check_test_outputs, load_strict, read_safetensors


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    tensors, _ = read_safetensors(sys.argv[1])
    model = torch.nn.Sequential(
        torch.nn.ConvTranspose2d(4, 4, 4, stride=2, padding=1), torch.nn.GroupNorm(2, 4), torch.nn.ReLU(),
        torch.nn.ConvTranspose2d(4, 3, 3, padding=1), torch.nn.BatchNorm2d(3), torch.nn.ReLU(),
        torch.nn.ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1, bias=False))
    state = load_strict(model, tensors)
    model.eval()
    check_test_outputs(model, tensors, state)


if __name__ == "__main__":
    main()
