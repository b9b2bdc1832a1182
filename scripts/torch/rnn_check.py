#!/usr/bin/env python3
"""An LSTM or GRU from adjoint, recomputed by PyTorch with its gradients.

Reads an adjoint checkpoint of nn.LSTM or nn.GRU (weight_ih_l0,
weight_hh_l0, bias_ih_l0, bias_hh_l0) with test tensors, loads it into
torch.nn.LSTM or torch.nn.GRU(In, H, num_layers=LAYERS,
bidirectional=BIDIRECTIONAL, batch_first=BATCH_FIRST) with
load_state_dict(strict=True), runs test/x from test/h0 (and test/c0 for
an LSTM), and checks, to 1e-5:

  test/y, test/h, test/c  = the outputs and the last states
  test/g/x, test/g/h0, test/g/c0 and test/g/<parameter>
                          = the gradients of
                            sum(y * test/wy) + sum(h * test/wh) (+ sum(c * test/wc))

usage: rnn_check.py ADJOINT.safetensors lstm|gru LAYERS BIDIRECTIONAL(0|1) BATCH_FIRST(0|1)
"""

import sys

import torch

from checkpoint_roundtrip import load_strict, read_safetensors


def check(what, got, want):
    diff = float((got - want).abs().max())
    print(f"{what}: shape {tuple(got.shape)}, max |torch - adjoint| = {diff:.3g}")
    if got.shape != want.shape or diff > 1e-5:
        sys.exit(f"{what}: torch differs from adjoint by {diff} (shapes {tuple(got.shape)}, {tuple(want.shape)})")


def main():
    if len(sys.argv) != 6 or sys.argv[2] not in ("lstm", "gru"):
        sys.exit(__doc__)
    tensors, _ = read_safetensors(sys.argv[1])
    kind, layers, bidirectional, batch_first = sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1", sys.argv[5] == "1"
    hidden, inp = tensors["weight_hh_l0"].shape[1], tensors["weight_ih_l0"].shape[1]
    cls = torch.nn.LSTM if kind == "lstm" else torch.nn.GRU
    rnn = cls(inp, hidden, num_layers=layers, bidirectional=bidirectional, batch_first=batch_first)
    state = load_strict(rnn, tensors)
    print(f"{kind}: strict load of {sorted(state)}, {rnn}")

    x = tensors["test/x"].clone().requires_grad_(True)
    h0 = tensors["test/h0"].clone().requires_grad_(True)
    if kind == "lstm":
        c0 = tensors["test/c0"].clone().requires_grad_(True)
        y, (h, c) = rnn(x, (h0, c0))
        loss = (y * tensors["test/wy"]).sum() + (h * tensors["test/wh"]).sum() + (c * tensors["test/wc"]).sum()
    else:
        y, h = rnn(x, h0)
        loss = (y * tensors["test/wy"]).sum() + (h * tensors["test/wh"]).sum()
    loss.backward()
    check("every step's hidden state", y.detach(), tensors["test/y"])
    check("the last hidden states", h.detach(), tensors["test/h"])
    check("its gradient in x", x.grad, tensors["test/g/x"])
    check("in h0", h0.grad, tensors["test/g/h0"])
    if kind == "lstm":
        check("the last cell states", c.detach(), tensors["test/c"])
        check("in c0", c0.grad, tensors["test/g/c0"])
    for name, p in rnn.named_parameters():
        check(f"in {name}", p.grad, tensors[f"test/g/{name}"])


if __name__ == "__main__":
    main()
