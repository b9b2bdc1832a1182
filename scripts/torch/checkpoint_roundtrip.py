#!/usr/bin/env python3
"""Checkpoint round trip between adjoint and PyTorch.

1. Loads an adjoint checkpoint (safetensors, written by `adjoint train --save`)
   into the same torch.nn.Sequential (Linear, act, Linear, ..., Linear; with
   the metadata's norm "layer" a LayerNorm before each act, with "batch" a
   BatchNorm1d, whose running statistics evaluation uses, and with its
   dropout p > 0 a Dropout(p) after each act, so that the state_dict names
   match), puts it in evaluation mode (model.eval(): Dropout off, as adjoint
   predicts), standardises the given input rows with the checkpoint's
   data/mean and data/std, and compares torch's outputs with adjoint's
   (`adjoint predict --raw`), failing if any differs by more than --tol.
2. Writes a checkpoint made by torch (a freshly initialised model of the same
   shape, with torch's own initialisation and generator) in the same format,
   and torch's outputs for the inputs, so that adjoint can be checked to load
   it and predict identically.

The safetensors format is parsed and written here in plain Python (struct and
json): an 8-byte little-endian header length, a JSON header mapping tensor
names to {dtype, shape, data_offsets} (plus "__metadata__"), then raw
little-endian bytes. F32 tensors are written; F32, F64 and I64 (BatchNorm's
num_batches_tracked) are read. Names containing '/' are
adjoint's extra state (optimizer moments, standardisation), not parameters.

usage:
  checkpoint_roundtrip.py --checkpoint adjoint.safetensors --inputs x.csv \
      --adjoint-outputs y.csv --write-checkpoint torch.safetensors \
      --write-outputs torch_y.csv [--tol 1e-4] [--seed 0]
"""

import argparse
import csv
import json
import struct
import sys

import torch


def read_safetensors(path):
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise ValueError(f"{path}: too short for a safetensors file")
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8 : 8 + n].decode("utf-8"))
    body = blob[8 + n :]
    meta = header.pop("__metadata__", {}) or {}
    tensors = {}
    dtypes = {"F32": torch.float32, "F64": torch.float64, "I64": torch.int64}
    for name, info in header.items():
        if info["dtype"] not in dtypes:
            raise ValueError(f"{path}: {name}: dtype {info['dtype']}, this script reads {', '.join(dtypes)} only")
        start, end = info["data_offsets"]
        t = torch.frombuffer(bytearray(body[start:end]), dtype=dtypes[info["dtype"]])
        tensors[name] = t.reshape(info["shape"]).clone()
    return tensors, meta


def load_strict(module, tensors):
    """Loads the state_dict entries of an adjoint checkpoint's tensors (the
    names without '/': the others are adjoint's extras) into module with
    load_state_dict(strict=True), and returns them."""
    state = {k: v for k, v in tensors.items() if "/" not in k}
    module.load_state_dict(state, strict=True)
    return state


def check_test_outputs(model, tensors, state):
    """Runs model (in its current mode, without gradients) on the
    checkpoint's test/x and exits unless the output equals adjoint's test/y
    to 1e-5; state is what load_strict loaded, for the report."""
    with torch.no_grad():
        y = model(tensors["test/x"])
    want = tensors["test/y"]
    if y.shape != want.shape:
        sys.exit(f"torch's output has shape {tuple(y.shape)}, adjoint's {tuple(want.shape)}")
    diff = float((y - want).abs().max())
    print(f"adjoint -> torch: strict load of {sorted(state)}, output {tuple(y.shape)}, max |torch - adjoint| = {diff:.3g}")
    if diff > 1e-5:
        sys.exit(f"torch outputs differ from adjoint's by {diff}")


def write_safetensors(path, tensors, meta):
    header = {"__metadata__": dict(meta)}
    chunks, offset = [], 0
    for name in sorted(tensors):
        t = tensors[name].detach()
        if t.dtype == torch.int64:  # BatchNorm's num_batches_tracked
            data, dtype = struct.pack(f"<{t.numel()}q", *t.flatten().tolist()), "I64"
        else:
            t = t.to(torch.float32).contiguous()
            data, dtype = struct.pack(f"<{t.numel()}f", *t.flatten().tolist()), "F32"
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for c in chunks:
            f.write(c)


# torch's defaults, as adjoint's MLP uses them: LeakyReLU(0.01), ELU(1.0).
ACTS = {"relu": torch.nn.ReLU, "tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid, "gelu": torch.nn.GELU, "silu": torch.nn.SiLU,
        "leaky_relu": torch.nn.LeakyReLU, "elu": torch.nn.ELU, "relu6": torch.nn.ReLU6,
        "hardsigmoid": torch.nn.Hardsigmoid, "hardswish": torch.nn.Hardswish}


def build(sizes, act, norm="none", dropout=0.0):
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i + 2 < len(sizes):
            if norm == "layer":
                layers.append(torch.nn.LayerNorm(sizes[i + 1], eps=1e-5))
            elif norm == "batch":
                layers.append(torch.nn.BatchNorm1d(sizes[i + 1]))
            layers.append(ACTS[act]())
            if dropout > 0:
                layers.append(torch.nn.Dropout(dropout))
    return torch.nn.Sequential(*layers)


def dropout_of(meta):
    """The metadata's dropout probability; absent (older checkpoints) is 0."""
    p = float(meta.get("dropout", "0"))
    if not 0 <= p < 1:
        raise ValueError(f"metadata dropout {p}: want a value in [0, 1)")
    return p


def read_rows(path):
    rows = []
    with open(path, newline="") as f:
        for rec in csv.reader(f):
            if not rec or all(not c.strip() for c in rec):
                continue
            try:
                rows.append([float(c) for c in rec])
            except ValueError:
                if rows:
                    raise
                # a header row
    return torch.tensor(rows, dtype=torch.float32)


def write_rows(path, t):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        for row in t.tolist():
            w.writerow([repr(float(v)) for v in row])


def outputs(model, tensors, meta, x):
    model.eval()  # Dropout off, as adjoint eval and predict run a model
    if "data/mean" in tensors:
        x = (x - tensors["data/mean"]) / tensors["data/std"]
    with torch.no_grad():
        y = model(x)
    if meta.get("task") == "regression" and "data/y_mean" in tensors:
        y = y * tensors["data/y_std"] + tensors["data/y_mean"]
    return y


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", required=True)
    ap.add_argument("--inputs", required=True)
    ap.add_argument("--adjoint-outputs", required=True)
    ap.add_argument("--write-checkpoint", required=True)
    ap.add_argument("--write-outputs", required=True)
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()

    tensors, meta = read_safetensors(a.checkpoint)
    sizes = [int(s) for s in meta["sizes"].split(",")]
    dropout = dropout_of(meta)
    model = build(sizes, meta["act"], meta.get("norm", "none"), dropout)
    state = load_strict(model, tensors)  # names and shapes as torch's own

    x = read_rows(a.inputs)
    ours = outputs(model, tensors, meta, x)
    theirs = read_rows(a.adjoint_outputs)
    if theirs.shape != ours.shape:
        sys.exit(f"shape mismatch: adjoint outputs {tuple(theirs.shape)}, torch {tuple(ours.shape)}")
    scale = max(1.0, float(ours.abs().max()))
    diff = float((ours - theirs).abs().max())
    print(f"adjoint -> torch: {x.shape[0]} rows, max |torch - adjoint| = {diff:.3g} (scale {scale:.3g})")
    if diff > a.tol * scale:
        sys.exit(f"adjoint checkpoint: torch predictions differ by {diff} > {a.tol * scale}")
    if meta.get("task") == "classification":
        agree = int((ours.argmax(1) == theirs.argmax(1)).sum())
        print(f"adjoint -> torch: classes agree on {agree}/{x.shape[0]} rows")
        if agree != x.shape[0]:
            sys.exit("adjoint checkpoint: predicted classes differ")

    # The other way: a model made and initialised by torch.
    torch.manual_seed(a.seed)
    mine = build(sizes, meta["act"], meta.get("norm", "none"), dropout)
    with torch.no_grad():  # normalisations start at 1 and 0: make their parameters matter
        for m in mine:
            if isinstance(m, (torch.nn.LayerNorm, torch.nn.BatchNorm1d)):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
            if isinstance(m, torch.nn.BatchNorm1d):  # and the running statistics
                m.running_mean.uniform_(-0.5, 0.5)
                m.running_var.uniform_(0.5, 2)
                m.num_batches_tracked.fill_(7)
    out = dict(mine.state_dict())
    for k in ("data/mean", "data/std", "data/y_mean", "data/y_std"):
        if k in tensors:
            out[k] = tensors[k]
    keep = ("format", "sizes", "act", "norm", "dropout", "task", "loss")
    write_safetensors(a.write_checkpoint, out, {k: meta[k] for k in keep if k in meta})
    write_rows(a.write_outputs, outputs(mine, out, meta, x))
    print(f"torch -> adjoint: wrote {a.write_checkpoint} and {a.write_outputs}")


if __name__ == "__main__":
    main()
