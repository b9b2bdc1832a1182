"""PyTorch and numpy peers for adjoint's benchmarks (embedded in package bench).

The Go side (bench.Peers) starts this script once and talks to it in JSON
lines over stdin/stdout, so that each configuration runs in Go and here side
by side, on the same machine at the same time:

  -> {"op": "setup", "device": "cpu"|"cuda", "threads": 2}
  <- {"ok": true, "torch": "1.13.0", "numpy": "1.24.2", "cuda": false, ...}
  -> {"op": "run", "device": "cpu", "config": {...bench.Config...},
      "timing": {"warmup": 1, "min_reps": 3, "max_reps": 25, "min_time": 0.1}}
  <- {"ok": true, "results": [{"impl": "torch", "times": [...]},
                              {"impl": "numpy", "times": [...]}]}
  -> {"op": "quit"}

Every reply is one line; a failure is {"ok": false, "error": "..."}. The
models mirror bench/models.go: the same layer sizes, PyTorch's default
initialisation, softmax cross-entropy with class indices (mean), backward,
and a plain SGD update; GEMM is torch.mm (and numpy.matmul) of op(A) op(B)
with the transposes as views. On CUDA, TF32 is off and every repetition
ends with torch.cuda.synchronize().
"""

import json
import math
import sys
import time

torch = None
np = None



def system_blas():
    """The BLAS a distribution's torch and numpy link through libblas.so.3
    (Debian's alternatives: reference BLAS is ~50x slower than OpenBLAS)."""
    import os

    for d in ("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib"):
        p = os.path.join(d, "libblas.so.3")
        if os.path.exists(p):
            return os.path.realpath(p)
    return ""

def has_attr(obj, name):
    """hasattr for torch.backends objects, which raise AssertionError (not
    AttributeError) for unknown names in older torch releases."""
    try:
        getattr(obj, name)
        return True
    except Exception:  # noqa: BLE001
        return False


def tf32_off():
    """Make float32 matrix products full FP32 (no TF32 tensor cores), with
    the API of this torch: fp32_precision from 2.9 on (where the allow_tf32
    flags are deprecated), allow_tf32 before. Returns the setting read back."""
    m = torch.backends.cuda.matmul
    if has_attr(m, "fp32_precision"):
        m.fp32_precision = "ieee"
        conv = getattr(torch.backends.cudnn, "conv", None)
        if conv is not None and has_attr(conv, "fp32_precision"):
            conv.fp32_precision = "ieee"
        return "matmul.fp32_precision=%s" % m.fp32_precision
    m.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    return "matmul.allow_tf32=%s" % m.allow_tf32


def reply(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def measure(timing, fn, sync):
    for _ in range(timing["warmup"]):
        fn()
    sync()
    times = []
    start = time.perf_counter()
    while len(times) < timing["min_reps"] or (
        len(times) < timing["max_reps"] and time.perf_counter() - start < timing["min_time"]
    ):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return times


def linears(cfg):
    if cfg["kind"] == "residual":
        i, w, o = cfg["sizes"]
        return [(i, w)] + [(w, w)] * (2 * cfg["blocks"]) + [(w, o)]
    s = cfg.get("sizes") or []
    return [(s[k], s[k + 1]) for k in range(len(s) - 1)]


def conv_layers(cfg):
    """The (in, out, stride) of a conv configuration's 3x3 convolutions and
    the flattened size after them (bench.Config.ConvLayers)."""
    c, h, w = cfg["image"]
    layers = []
    for i, out in enumerate(cfg["channels"]):
        stride = 1 if i == 0 else 2
        layers.append((c, out, stride))
        c, h, w = out, (h - 1) // stride + 1, (w - 1) // stride + 1
    return layers, c * h * w


def build_net(cfg, dev):
    relu = torch.nn.functional.relu
    if cfg["kind"] == "conv":
        convs, flat = conv_layers(cfg)
        layers = torch.nn.ModuleList(
            [torch.nn.Conv2d(i, o, 3, stride=s, padding=1) for i, o, s in convs]
            + [torch.nn.Linear(flat, cfg["classes"])]
        ).to(dev)

        def forward(x):
            h = x
            for conv in layers[:-1]:
                h = relu(conv(h))
            return layers[-1](h.flatten(1))

        return layers, forward
    layers = torch.nn.ModuleList(torch.nn.Linear(i, o) for i, o in linears(cfg)).to(dev)
    if cfg["kind"] == "residual":
        blocks = cfg["blocks"]

        def forward(x):
            h = relu(layers[0](x))
            for b in range(blocks):
                u = relu(layers[1 + 2 * b](h))
                h = relu(h + layers[2 + 2 * b](u))
            return layers[-1](h)
    else:

        def forward(x):
            h = x
            for i, l in enumerate(layers):
                h = l(h)
                if i < len(layers) - 1:
                    h = relu(h)
            return h

    return layers, forward


def run_network(cfg, dev, timing, sync):
    torch.manual_seed(0)
    layers, forward = build_net(cfg, dev)
    k = cfg["batch"]
    if cfg["kind"] == "conv":
        x = torch.randn(k, *cfg["image"], device=dev)
        y = torch.randint(0, cfg["classes"], (k,), device=dev)
    else:
        x = torch.randn(k, linears(cfg)[0][0], device=dev)
        y = torch.randint(0, linears(cfg)[-1][1], (k,), device=dev)
    ce = torch.nn.functional.cross_entropy
    opt = torch.optim.SGD(layers.parameters(), lr=0.05)
    order = cfg.get("order", "")

    if order == "fwd":

        def fn():
            with torch.no_grad():
                ce(forward(x), y)

    elif order == "grad":

        def fn():
            opt.zero_grad(set_to_none=True)
            ce(forward(x), y).backward()

    else:

        def fn():
            opt.zero_grad(set_to_none=True)
            ce(forward(x), y).backward()
            opt.step()

    return [{"impl": "torch", "times": measure(timing, fn, sync)}]


def ltr_samples(n, k):
    return max(1, min(k, (1 << 27) // max(n * n * n, 1)))


def run_chain(cfg, dev, timing, sync):
    torch.manual_seed(0)
    n, m, k = cfg["width"], cfg["layers"], cfg["batch"]
    bound = 1 / math.sqrt(n)
    ws = [(torch.rand(n, n, device=dev) * 2 - 1) * bound for _ in range(m)]
    bs = [(torch.rand(n, device=dev) * 2 - 1) * bound for _ in range(m)]
    x = torch.randn(k, n, device=dev)
    t = (torch.rand(k, n, device=dev) * 2 - 1) * 0.5
    if cfg["order"] == "rtl":

        def fn():
            xv = x.clone().requires_grad_(True)
            z = xv
            for w, b in zip(ws, bs):
                z = torch.tanh(torch.nn.functional.linear(z, w, b))
            ((t - z) ** 2).sum().backward()
            return xv.grad

    else:
        s = ltr_samples(n, k)

        def fn():
            with torch.no_grad():
                for i in range(s):
                    z = x[i]
                    j = None
                    for w, b in zip(ws, bs):
                        z = torch.tanh(torch.mv(w, z) + b)
                        a = (1 - z * z)[:, None] * w
                        j = a if j is None else a @ j
                    eps = -2 * (t[i] - z)
                    eps @ j

    return [{"impl": "torch", "times": measure(timing, fn, sync)}]


def run_gemm(cfg, dev, timing, sync):
    m, n, k = cfg["m"], cfg["n"], cfg["k"]
    ta, tb = cfg.get("trans_a", False), cfg.get("trans_b", False)
    torch.manual_seed(0)
    a = torch.randn(*((k, m) if ta else (m, k)), device=dev)
    b = torch.randn(*((n, k) if tb else (k, n)), device=dev)
    c = torch.empty(m, n, device=dev)
    opa, opb = (a.t() if ta else a), (b.t() if tb else b)
    out = [{"impl": "torch", "times": measure(timing, lambda: torch.mm(opa, opb, out=c), sync)}]
    if dev == "cpu" and np is not None:
        an, bn = a.numpy(), b.numpy()
        na, nb = (an.T if ta else an), (bn.T if tb else bn)
        cn = np.empty((m, n), dtype=np.float32)
        out.append({"impl": "numpy", "times": measure(timing, lambda: np.matmul(na, nb, out=cn), lambda: None)})
    return out


def main():
    global torch, np
    dev = "cpu"
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
            op = req.get("op")
            if op == "quit":
                reply({"ok": True})
                return
            if op == "setup":
                try:
                    import torch as _torch
                except Exception as e:  # noqa: BLE001 - any import failure means "no peer"
                    reply({"ok": False, "error": "import torch failed: %s: %s" % (type(e).__name__, e)})
                    continue
                torch = _torch
                try:
                    import numpy as _np

                    np = _np
                except Exception:  # noqa: BLE001
                    np = None
                dev = req.get("device", "cpu")
                threads = int(req.get("threads", 0))
                if threads > 0:
                    torch.set_num_threads(threads)
                info = {
                    "ok": True,
                    "torch": torch.__version__,
                    "numpy": np.__version__ if np is not None else "",
                    "python": sys.version.split()[0],
                    "blas": system_blas(),
                    "threads": torch.get_num_threads(),
                    "cuda": bool(torch.cuda.is_available()),
                }
                if dev.startswith("cuda"):
                    if not torch.cuda.is_available():
                        reply({"ok": False, "error": "torch.cuda is not available"})
                        continue
                    info["tf32"] = tf32_off()
                    info["card"] = torch.cuda.get_device_name(0)
                reply(info)
                continue
            if op != "run":
                reply({"ok": False, "error": "unknown op %r" % op})
                continue
            if torch is None:
                reply({"ok": False, "error": "setup has not succeeded"})
                continue
            cfg, timing = req["config"], req["timing"]
            d = "cuda" if req.get("device", dev).startswith("cuda") else "cpu"
            sync = torch.cuda.synchronize if d == "cuda" else (lambda: None)
            kind = cfg["kind"]
            if kind == "gemm":
                res = run_gemm(cfg, d, timing, sync)
            elif kind in ("mlp", "ksweep", "residual", "conv") or cfg.get("order") in ("fwd", "grad"):
                res = run_network(cfg, d, timing, sync)
            elif cfg.get("order") in ("rtl", "ltr"):
                res = run_chain(cfg, d, timing, sync)
            else:
                raise ValueError("unknown configuration kind %r" % kind)
            reply({"ok": True, "results": res})
        except Exception as e:  # noqa: BLE001 - report, keep serving
            reply({"ok": False, "error": "%s: %s" % (type(e).__name__, e)})


if __name__ == "__main__":
    main()
