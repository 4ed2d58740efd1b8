"""PyTorch eager (CPU) timings for bench/native-ops.bench.ts: the same ops and shapes.

Usage: /usr/bin/python3 bench/native-ops-torch.py THREADS
Serves requests on stdin, one JSON object a line: {"op": {"id": ..., "kind": ..., ...}, "repeats": 5,
"minMs": 300, "clock": "wall" | "cpu"}; answers each with one line {"ms": min over samples of ms per
op}. The first line out is {"torch": version, "threads": n}. clock "cpu" times the process's CPU
time (user + system) instead of wall time. Serving one op at a time lets the caller interleave
native and PyTorch measurements. Needs python3-torch (bench only).
"""
import json
import sys
import time

import torch
import torch.nn.functional as F


def timed(fn, repeats, min_ms, clock):
    fn()
    fn()
    # Iterations per sample so that one sample lasts about min_ms / repeats.
    t = time.perf_counter()
    fn()
    one = max(time.perf_counter() - t, 1e-6)
    iters = max(1, int(min_ms / 1000 / repeats / one))
    samples = []
    for _ in range(repeats):
        t = clock()
        for _ in range(iters):
            fn()
        samples.append((clock() - t) / iters * 1000)
    return min(samples)


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
    if kind == "rcb":
        # NB201's ReLU-Conv-BN edge, forward and backward through autograd (eager, as a proxy runs it).
        n, c, h, k = op["N"], op["C"], op["H"], op["k"]
        x = rand(n, c, h, h).requires_grad_()
        conv = torch.nn.Conv2d(c, c, k, padding=k // 2, bias=False)
        bn = torch.nn.BatchNorm2d(c)
        dy = rand(n, c, h, h)

        def step():
            with torch.enable_grad():
                y = bn(conv(torch.relu(x)))
                y.backward(dy)

        return step
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
    torch.set_num_threads(int(sys.argv[1]))
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
    cache = {}
    for line in sys.stdin:
        req = json.loads(line)
        op = req["op"]
        if op["id"] not in cache:
            cache[op["id"]] = make(op)
        clock = time.process_time if req.get("clock") == "cpu" else time.perf_counter
        with torch.no_grad():
            ms = timed(cache[op["id"]], req["repeats"], req["minMs"], clock)
        print(json.dumps({"ms": ms}), flush=True)


main()
