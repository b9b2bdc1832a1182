#!/usr/bin/env python3
"""Replay adjoint's training steps in PyTorch and compare, step by step.

The Go test optim/torch_test.go trains a small MLP (Linear, ReLU, Linear)
with adjoint in float64 and writes one JSON file: the initial parameters,
the batches in order, the optimizer's torch name and hyper-parameters, the
loss adjoint computed at every step and the parameters it ended with. This
script builds the same torch.nn.Sequential in float64, loads the initial
parameters, runs the same steps with torch.nn.functional.cross_entropy
(mean reduction; or, when the run says "loss": "bce", binary_cross_entropy_with_logits
against one-hot targets; with "layernorm", a torch.nn.LayerNorm after each hidden
Linear, with "batchnorm" a torch.nn.BatchNorm1d, whose running statistics
are compared with the parameters) and the named torch.optim optimizer, and fails when a
step's loss or a final parameter differs by more than --tol (relative to
max(1, |value|)). It prints one line with the largest differences.

usage: train_compare.py RUN.json [RUN.json ...] [--tol 1e-9]
"""

import argparse
import json
import sys

import torch


def build(run):
    sizes = run["sizes"]
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            if run.get("layernorm"):
                layers.append(torch.nn.LayerNorm(sizes[i + 1], eps=1e-5))
            elif run.get("batchnorm"):
                layers.append(torch.nn.BatchNorm1d(sizes[i + 1]))  # training mode
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers).double()
    state = {name: torch.tensor(v, dtype=torch.float64).reshape(run["shapes"][name]) for name, v in run["init"].items()}
    model.load_state_dict(state, strict=True)
    return model


def optimizer(run, params):
    o = dict(run["optim"])
    name = o.pop("name")
    cls = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW, "rmsprop": torch.optim.RMSprop}[name]
    if "betas" in o:
        o["betas"] = tuple(o["betas"])
    return cls(params, **o)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+")
    ap.add_argument("--tol", type=float, default=1e-9)
    args = ap.parse_args()
    failed = False
    for path in args.runs:
        with open(path) as f:
            failed |= not compare(json.load(f), args.tol)
    sys.exit(1 if failed else 0)


def compare(run, tol):
    """Replays run in torch; prints its line and returns whether it agrees."""
    torch.manual_seed(0)
    model = build(run)
    opt = optimizer(run, model.parameters())
    worst_loss = 0.0
    for step, batch in enumerate(run["batches"]):
        x = torch.tensor(batch["x"], dtype=torch.float64).reshape(len(batch["y"]), run["sizes"][0])
        y = torch.tensor(batch["y"], dtype=torch.int64)
        opt.zero_grad(set_to_none=True)
        if run.get("loss") == "bce":
            onehot = torch.nn.functional.one_hot(y, run["sizes"][-1]).double()
            loss = torch.nn.functional.binary_cross_entropy_with_logits(model(x), onehot)
        else:
            loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        ours = run["losses"][step]
        d = abs(loss.item() - ours) / max(1.0, abs(ours))
        worst_loss = max(worst_loss, d)
        if d > tol:
            print(f"{run['name']}: FAIL at step {step}: loss {ours!r} (adjoint) vs {loss.item()!r} (torch)")
            return False
    worst_param, where = 0.0, ""
    for name, p in model.state_dict().items():
        ours = torch.tensor(run["final"][name], dtype=torch.float64).reshape(p.shape)
        d = ((p - ours).abs() / ours.abs().clamp(min=1.0)).max().item()
        if d > worst_param:
            worst_param, where = d, name
    ok = worst_param <= tol
    print(f"{run['name']}: {'ok' if ok else 'FAIL'}: {len(run['batches'])} steps, torch {torch.__version__}: "
          f"max relative difference {worst_loss:.2e} in the losses, {worst_param:.2e} in the parameters ({where or '-'})")
    return ok


if __name__ == "__main__":
    main()
