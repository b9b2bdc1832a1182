#!/usr/bin/env python3
"""Multi-head attention from adjoint, recomputed by PyTorch.

Reads an adjoint checkpoint of nn.MultiheadAttention (in_proj_weight,
in_proj_bias, out_proj.weight, out_proj.bias) with test tensors, loads it
into torch.nn.MultiheadAttention(E, H, batch_first=True) with
load_state_dict(strict=True), and checks, to 1e-5:

  self/y    = mha(self/x, self/x, self/x, attn_mask=self/mask)
  self/gx   = the gradient of sum(self/y * self/w) in self/x
  cross/y   = mha(cross/q, cross/kv, cross/kv)

usage: attention_check.py ADJOINT.safetensors HEADS
"""

import sys

import torch

from checkpoint_roundtrip import load_strict, read_safetensors


def check(what, got, want):
    diff = float((got - want).abs().max())
    print(f"{what}: shape {tuple(got.shape)}, max |torch - adjoint| = {diff:.3g}")
    if got.shape != want.shape or diff > 1e-5:
        sys.exit(f"{what}: torch differs from adjoint by {diff}")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    tensors, _ = read_safetensors(sys.argv[1])
    heads = int(sys.argv[2])
    embed = tensors["in_proj_weight"].shape[1]
    mha = torch.nn.MultiheadAttention(embed, heads, batch_first=True)
    state = load_strict(mha, tensors)

    x = tensors["self/x"].clone().requires_grad_(True)
    y, _ = mha(x, x, x, attn_mask=tensors["self/mask"], need_weights=False)
    (y * tensors["self/w"]).sum().backward()
    check("self-attention, causal mask", y.detach(), tensors["self/y"])
    check("its gradient in x", x.grad, tensors["self/gx"])
    with torch.no_grad():
        kv = tensors["cross/kv"]
        y, _ = mha(tensors["cross/q"], kv, kv, need_weights=False)
    check("cross-attention", y, tensors["cross/y"])


if __name__ == "__main__":
    main()
