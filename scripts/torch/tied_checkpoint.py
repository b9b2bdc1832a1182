#!/usr/bin/env python3
"""A tied checkpoint between adjoint and PyTorch.

Reads an adjoint checkpoint of Sequential(l, Tanh(), l), one Linear(n, n)
used twice, whose state_dict holds l's tensors under 0.* and 2.*, and loads
it into the same tied torch model with load_state_dict(strict=True). It
checks that torch counts 2 parameters, and that torch's outputs on the
checkpoint's test/x equal adjoint's test/y. Then it changes the weights and
writes torch's own state_dict (both names again) with its outputs as test/y,
for adjoint to load and compare.

usage: tied_checkpoint.py ADJOINT.safetensors OUT.safetensors
"""

import sys

import torch

from checkpoint_roundtrip import load_strict, read_safetensors, write_safetensors


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    tensors, _ = read_safetensors(sys.argv[1])
    n = tensors["0.weight"].shape[0]
    l = torch.nn.Linear(n, n)
    model = torch.nn.Sequential(l, torch.nn.Tanh(), l)
    if len(list(model.parameters())) != 2:
        sys.exit(f"torch lists {len(list(model.parameters()))} parameters, want 2")
    state = load_strict(model, tensors)
    x = tensors["test/x"]
    with torch.no_grad():
        y = model(x)
    diff = float((y - tensors["test/y"]).abs().max())
    print(f"adjoint -> torch: strict load of {sorted(state)}, max |torch - adjoint| = {diff:.3g}")
    if diff > 1e-5:
        sys.exit(f"torch outputs differ from adjoint's by {diff}")

    with torch.no_grad():
        l.weight.mul_(-1.5)
        l.bias.add_(0.25)
        y = model(x)
    out = dict(model.state_dict())
    if sorted(out) != ["0.bias", "0.weight", "2.bias", "2.weight"]:
        sys.exit(f"torch state_dict keys {sorted(out)}")
    out["test/x"], out["test/y"] = x, y
    write_safetensors(sys.argv[2], out, {})
    print(f"torch -> adjoint: wrote {sys.argv[2]}")


if __name__ == "__main__":
    main()
