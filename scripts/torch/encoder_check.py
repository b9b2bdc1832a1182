#!/usr/bin/env python3
"""A transformer encoder layer from adjoint, recomputed by PyTorch.

Reads an adjoint checkpoint of nn.TransformerEncoderLayer and loads it
into torch.nn.TransformerEncoderLayer(E, HEADS, HIDDEN, batch_first=True)
(ReLU, post-norm) with load_state_dict(strict=True); in eval mode (dropout
off) checks, to 1e-5, y = layer(x, src_mask=mask) and the gradient of
sum(y * w) in x against the checkpoint's test/y and test/gx.

usage: encoder_check.py ADJOINT.safetensors HEADS [ACTIVATION]
(ACTIVATION: relu, the default, or gelu)
"""

import sys

import torch

from attention_check import check
from checkpoint_roundtrip import load_strict, read_safetensors


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    act = sys.argv[3] if len(sys.argv) == 4 else "relu"
    tensors, _ = read_safetensors(sys.argv[1])
    embed = tensors["norm1.weight"].shape[0]
    hidden = tensors["linear1.weight"].shape[0]
    layer = torch.nn.TransformerEncoderLayer(embed, int(sys.argv[2]), hidden, activation=act, batch_first=True)
    state = load_strict(layer, tensors)
    layer.eval()
    x = tensors["test/x"].clone().requires_grad_(True)
    y = layer(x, src_mask=tensors["test/mask"])
    (y * tensors["test/w"]).sum().backward()
    check(f"encoder layer ({act}), causal mask", y.detach(), tensors["test/y"])
    check("its gradient in x", x.grad, tensors["test/gx"])


if __name__ == "__main__":
    main()
