"""PyTorch eager (CPU) timings for bench/native-ops.bench.ts: the same ops and shapes, one JSON line out.

Usage: /usr/bin/python3 bench/native-ops-torch.py '<json config>'
Config: {"threads": 2, "repeats": 7, "minMs": 200, "ops": [{"id": ..., "kind": ..., ...}]}
Prints {"torch": version, "threads": n, "ms": {id: median ms per op}}. Needs python3-torch (bench only).
"""
import json
import statistics
import sys
import time

import torch
import torch.nn.functional as F


def timed(fn, repeats, min_ms):
    fn()
    fn()
    # Iterations per sample so that one sample lasts about min_ms / repeats.
    t = time.perf_counter()
    fn()
    one = max(time.perf_counter() - t, 1e-6)
    iters = max(1, int(min_ms / 1000 / repeats / one))
    samples = []
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(iters):
            fn()
        samples.append((time.perf_counter() - t) / iters * 1000)
    return statistics.median(samples)


def make(op):
    kind = op["kind"]
    g = torch.Generator().manual_seed(1)
    rand = lambda *s: torch.randn(*s, generator=g)
    if kind.startswith("conv"):
        n, c, h, co, k, s, p = op["N"], op["C"], op["H"], op["Cout"], op["k"], op["stride"], op["pad"]
        x, w = rand(n, c, h, h), rand(co, c, k, k) * 0.1
        y = F.conv2d(x, w, stride=s, padding=p)
        dy = rand(*y.shape)
        if kind == "conv_fwd":
            return lambda: F.conv2d(x, w, stride=s, padding=p)
        mask = [True, False, False] if kind == "conv_bwd_data" else [False, True, False]
        return lambda: torch.ops.aten.convolution_backward(dy, x, w, None, [s, s], [p, p], [1, 1], False, [0, 0], 1, mask)
    if kind.startswith("bn"):
        n, c, h = op["N"], op["C"], op["H"]
        x, gamma, beta, dy = rand(n, c, h, h), rand(c), rand(c), rand(n, c, h, h)
        if kind == "bn_fwd":
            return lambda: torch.native_batch_norm(x, gamma, beta, None, None, True, 0.1, 1e-5)
        _, mean, invstd = torch.native_batch_norm(x, gamma, beta, None, None, True, 0.1, 1e-5)
        return lambda: torch.ops.aten.native_batch_norm_backward(dy, x, gamma, None, None, mean, invstd, True, 1e-5, [True, True, True])
    if kind.startswith("relu"):
        n, c, h = op["N"], op["C"], op["H"]
        x, dy = rand(n, c, h, h), rand(n, c, h, h)
        if kind == "relu_fwd":
            return lambda: torch.relu(x)
        return lambda: torch.ops.aten.threshold_backward(dy, x, 0)
    if kind == "gram":
        n, d = op["N"], op["D"]
        x = rand(n, d)

        def corr():
            xc = x - x.mean(dim=1, keepdim=True)
            z = xc / xc.norm(dim=1, keepdim=True)
            return z @ z.t()

        return corr
    raise ValueError(f"unknown op kind {kind}")


def main():
    cfg = json.loads(sys.argv[1])
    torch.set_num_threads(cfg["threads"])
    out = {}
    with torch.no_grad():
        for op in cfg["ops"]:
            out[op["id"]] = timed(make(op), cfg["repeats"], cfg["minMs"])
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "ms": out}))


main()
