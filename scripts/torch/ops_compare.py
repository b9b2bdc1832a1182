#!/usr/bin/env python3
"""Check adjoint's ops and losses against PyTorch, value and gradient.

The Go test autograd/torch_test.go evaluates each case on adjoint's tape in
float64: an op or a loss applied to named inputs, then Backward with a seed
(the vector u of the product uᵀJ; none for a scalar loss). It writes one
JSON file: per case the op, its parameter and reduction, the inputs (with
which of them need a gradient), the seed, and what adjoint computed, the
output and the gradient of each input. This script recomputes both with
torch in float64 (torch.nn.functional, autograd for the gradients) and
fails when a number differs by more than --tol relative to max(1, |value|)
(NaN must meet NaN, and an infinity the same infinity). It prints a line
per case.

Non-finite numbers travel as the strings "NaN", "+Inf" and "-Inf" (Go's
encoding/json writes no NaN).

usage: ops_compare.py CASES.json [--tol 1e-12]
"""

import argparse
import json
import math
import sys

import torch
import torch.nn.functional as F


def number(v):
    return float(v)  # float("NaN"), float("+Inf") and float("-Inf") parse


def tensor(spec, grad):
    data = [number(v) for v in spec["data"]]
    return torch.tensor(data, dtype=torch.float64).reshape(spec["shape"]).requires_grad_(grad)


def reduce(rho, how, rows):
    """rho: one value per element (or per sample); how: adjoint's reduction."""
    if how == "sum":
        return rho.sum()
    if how == "sample-mean":
        return rho.sum() / rows
    return rho.mean()


def loss(op, x, param, how):
    b, a = x["pred"], x["target"]
    rows = b.shape[0]
    if op == "mse":
        return reduce(F.mse_loss(b, a, reduction="none"), how, rows)
    if op == "mae":
        return reduce(F.l1_loss(b, a, reduction="none"), how, rows)
    if op == "huber":
        return reduce(F.huber_loss(b, a, reduction="none", delta=param), how, rows)
    if op == "binary-cross-entropy-logits":
        return reduce(F.binary_cross_entropy_with_logits(b, a, reduction="none"), how, rows)
    # The cross-entropies are per sample: PyTorch's mean divides by K.
    if op == "softmax-cross-entropy-index":  # param: label smoothing
        rho = F.cross_entropy(b, a.long(), reduction="none", label_smoothing=param)
    elif op == "softmax-cross-entropy":
        rho = F.cross_entropy(b, a, reduction="none")  # class probabilities
    elif op == "cross-entropy":
        rho = -(a * torch.log(b)).sum(dim=1)  # NLLLoss of log b, for any a ≥ 0
    else:
        raise ValueError(f"unknown op {op!r}")
    return rho.sum() if how == "sum" else rho.sum() / rows


UNARY = {
    "identity": lambda x: x.clone(),
    "neg": torch.neg,
    "exp": torch.exp,
    "log": torch.log,
    "sqrt": torch.sqrt,
    "square": torch.square,
    "abs": torch.abs,
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "gelu": F.gelu,
    "silu": F.silu,
    "relu6": F.relu6,
    "hardsigmoid": F.hardsigmoid,
    "hardswish": F.hardswish,
}


# The functions with a parameter: the case's param.
UNARY_PARAM = {
    "leaky_relu": lambda x, p: F.leaky_relu(x, negative_slope=p),
    "elu": lambda x, p: F.elu(x, alpha=p),
}


BINARY = {"add": torch.add, "sub": torch.sub, "mul": torch.mul, "div": torch.div}


def forward(case, x):
    op, param = case["op"], case.get("param", 0.0)
    if op in UNARY_PARAM:
        return UNARY_PARAM[op](x["x"], param)
    if op in UNARY:
        return UNARY[op](x["x"])
    if op in BINARY:
        return BINARY[op](x["a"], x["b"])
    if op == "broadcast-to":
        return x["x"].broadcast_to(case["shape"])
    if op == "sum-to":
        return x["x"].sum_to_size(case["shape"])
    if op == "matmul":
        return x["a"] @ x["b"]
    if op.startswith("matmul/"):
        ta, tb = op.split("/", 1)[1]
        a = x["a"].T if ta == "T" else x["a"]
        b = x["b"].T if tb == "T" else x["b"]
        return a @ b
    if op == "swap-axes":
        a, b = case["shape"]
        return x["x"].transpose(a, b)
    if op == "transpose":
        return x["x"].transpose(-2, -1)
    if op == "conv2d":
        sh, sw, ph, pw, dh, dw, groups = case["shape"]
        return F.conv2d(x["x"], x["w"], x.get("b"), stride=(sh, sw), padding=(ph, pw), dilation=(dh, dw), groups=groups)
    if op == "conv-transpose2d":
        sh, sw, ph, pw, oh, ow, dh, dw, groups = case["shape"]
        return F.conv_transpose2d(x["x"], x["w"], x.get("b"), stride=(sh, sw), padding=(ph, pw),
                                  output_padding=(oh, ow), dilation=(dh, dw), groups=groups)
    if op == "max-pool2d":
        kh, kw, sh, sw, ph, pw, dh, dw = case["shape"]
        return F.max_pool2d(x["x"], (kh, kw), stride=(sh, sw), padding=(ph, pw), dilation=(dh, dw))
    if op == "interpolate":
        oh, ow, mode, align = case["shape"]
        if mode == 0:
            return F.interpolate(x["x"], size=(oh, ow), mode="nearest")
        return F.interpolate(x["x"], size=(oh, ow), mode="bilinear", align_corners=bool(align))
    if op == "adaptive-avg-pool2d":
        return F.adaptive_avg_pool2d(x["x"], tuple(case["shape"]))
    if op == "conv1d":
        s, p, d, groups = case["shape"]
        return F.conv1d(x["x"], x["w"], x.get("b"), stride=s, padding=p, dilation=d, groups=groups)
    if op == "conv-transpose1d":
        s, p, op_, d, groups = case["shape"]
        return F.conv_transpose1d(x["x"], x["w"], x.get("b"), stride=s, padding=p, output_padding=op_, dilation=d, groups=groups)
    if op == "pad2d":
        l, r, t, b, mode = case["shape"]
        return F.pad(x["x"], (l, r, t, b), mode=["constant", "reflect", "replicate", "circular"][mode])
    if op == "max-pool1d":
        k, s, p, d = case["shape"]
        return F.max_pool1d(x["x"], k, stride=s, padding=p, dilation=d)
    if op == "avg-pool1d":
        k, s, p = case["shape"]
        return F.avg_pool1d(x["x"], k, stride=s, padding=p)
    if op == "avg-pool2d":
        kh, kw, sh, sw, ph, pw = case["shape"]
        return F.avg_pool2d(x["x"], (kh, kw), stride=(sh, sw), padding=(ph, pw))
    if op == "embedding":
        return F.embedding(x["index"].long(), x["weight"])
    if op.startswith("bmm/"):
        ta, tb = op.split("/", 1)[1]
        a = x["a"].transpose(-2, -1) if ta == "T" else x["a"]
        b = x["b"].transpose(-2, -1) if tb == "T" else x["b"]
        return torch.matmul(a, b)
    if op == "attention":
        q, k, v = x["q"], x["k"], x["v"]
        scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
        return torch.softmax(scores, dim=-1) @ v
    if op == "sum":
        return x["x"].sum()
    if op == "mean":
        return x["x"].mean()
    if op == "softmax":
        return torch.softmax(x["x"], dim=-1)
    if op == "log-softmax":
        return torch.log_softmax(x["x"], dim=-1)
    if op == "layer-norm":
        return F.layer_norm(x["x"], x["x"].shape[-1:], x["gamma"], x["beta"], eps=param)
    if op == "batch-norm/train":  # batch statistics; running ones do not change the output
        return F.batch_norm(x["x"], None, None, x.get("gamma"), x.get("beta"), training=True, eps=param)
    if op == "batch-norm/eval":
        return F.batch_norm(x["x"], x["running_mean"], x["running_var"], x.get("gamma"), x.get("beta"),
                            training=False, eps=param)
    if op == "group-norm":
        return F.group_norm(x["x"], case["shape"][0], x.get("gamma"), x.get("beta"), eps=param)
    if op.startswith("linear/"):
        act = op.split("/", 1)[1]
        return UNARY[act](F.linear(x["x"], x["w"], x["b"]))
    return loss(op, x, param, case["reduction"])


def differs(got, want):
    """The largest difference of two flat lists, relative to max(1, |want|);
    inf where their lengths differ, NaN meets a number or infinities
    disagree."""
    if len(got) != len(want):
        return math.inf
    worst = 0.0
    for g, w in zip(got, want):
        if math.isnan(w) or math.isnan(g):
            if not (math.isnan(w) and math.isnan(g)):
                return math.inf
            continue
        if math.isinf(w) or math.isinf(g):
            if g != w:
                return math.inf
            continue
        worst = max(worst, abs(g - w) / max(1.0, abs(w)))
    return worst


def compare(case, tol):
    x = {name: tensor(spec, spec.get("grad", False)) for name, spec in case["inputs"].items()}
    out = forward(case, x)
    seed = case.get("seed")
    if seed is None:
        out.backward()
    else:
        out.backward(torch.tensor([number(v) for v in seed], dtype=torch.float64).reshape(out.shape))
    worst = differs([number(v) for v in case["out"]], out.detach().reshape(-1).tolist())
    where = "output" if worst > 0 else "-"
    for name, g in case["grads"].items():
        want = x[name].grad.reshape(-1).tolist()
        d = differs([number(v) for v in g], want)
        if d > worst:
            worst, where = d, "grad " + name
    ok = worst <= case.get("tol", tol)
    print(f"{case['name']}: {'ok' if ok else 'FAIL'}: max relative difference {worst:.2e} ({where})")
    if not ok:
        print(f"  ours:  out {case['out']} grads {case['grads']}")
        print(f"  torch: out {out.detach().reshape(-1).tolist()} grads "
              f"{ {n: x[n].grad.reshape(-1).tolist() for n in case['grads']} }")
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cases")
    ap.add_argument("--tol", type=float, default=1e-12)
    args = ap.parse_args()
    with open(args.cases) as f:
        cases = json.load(f)
    failed = 0
    for case in cases:
        failed += not compare(case, args.tol)
    print(f"{len(cases)} cases, {failed} failed, torch {torch.__version__}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
