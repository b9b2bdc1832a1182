#!/usr/bin/env python3
"""A transformer decoder layer from adjoint, recomputed by PyTorch.

Reads an adjoint checkpoint of nn.TransformerDecoderLayer and loads it
into torch.nn.TransformerDecoderLayer(E, HEADS, HIDDEN, batch_first=True)
(post-norm) with load_state_dict(strict=True); in eval mode (dropout off)
checks, to 1e-5, y = layer(test/x, test/m, tgt_mask=test/mask) and the
gradients of sum(y * test/w) in x and in the memory m against the
checkpoint's test/y, test/gx and test/gm.

usage: decoder_layer_check.py ADJOINT.safetensors HEADS [ACTIVATION]
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
    layer = torch.nn.TransformerDecoderLayer(embed, int(sys.argv[2]), hidden, activation=act, batch_first=True)
    load_strict(layer, tensors)
    layer.eval()
    x = tensors["test/x"].clone().requires_grad_(True)
    m = tensors["test/m"].clone().requires_grad_(True)
    y = layer(x, m, tgt_mask=tensors["test/mask"])
    (y * tensors["test/w"]).sum().backward()
    check(f"decoder layer ({act}), causal target mask", y.detach(), tensors["test/y"])
    check("its gradient in x", x.grad, tensors["test/gx"])
    check("in the memory", m.grad, tensors["test/gm"])


if __name__ == "__main__":
    main()
