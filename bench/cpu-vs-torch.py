"""PyTorch eager (CPU) side of bench/cpu-vs-torch.ts: the same workloads, written the plain way.

Usage: /usr/bin/python3 bench/cpu-vs-torch.py THREADS
Serves requests on stdin, one JSON object a line; answers each with one JSON line. The first line
out is {"torch": version, "threads": n}. Requests:
  {"task": "wrcor" | "naswot" | "synflow" | "jacob_cov", "arch": NB201 arch string, "batch": FILE,
   "n": 64, "channels": 16, "cells": 5, "repeats": R, "clock": "wall" | "cpu", "seed": S}
      -> {"ms": [per-run ms], "score": value}
     One run = build the NAS-Bench-201 network (PyTorch default init) + the proxy's passes + its
     score, as bench/cpu-vs-torch.ts times ours (scoreCell).
  {"task": "proxyless", "choices": [[active, inactive], ...], "batch": FILE, "n": 32, ...}
  {"task": "autospace", "cells": [[...]], ...}
      -> {"ms": [...], "loss": value}: one ProxylessNAS / AutoSpace step (see those functions).
FILE holds the batch as float32 NCHW images followed by float32 labels (written by the .ts side).
Needs python3-torch (bench only).
"""
import json
import math
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

EDGE_FROM = [0, 0, 1, 0, 1, 2]
EDGE_TO = [1, 2, 2, 3, 3, 3]


def parse_arch(s):
    return [tok.split("~")[0] for part in s.strip("|").split("|+|") for tok in part.split("|")]


class ReLUConvBN(nn.Module):
    def __init__(self, cin, cout, k, stride, module):
        super().__init__()
        self.relu = nn.ReLU()
        # WRCor weighs this ReLU 2^module: its cell's or reduction block's index (ReluPlace.module).
        self.relu.module = module
        self.conv = nn.Conv2d(cin, cout, k, stride, k // 2, bias=False)
        self.bn = nn.BatchNorm2d(cout)

    def forward(self, x):
        return self.bn(self.conv(self.relu(x)))


class Cell(nn.Module):
    def __init__(self, ops, c, module):
        super().__init__()
        self.ops = ops
        self.edges = nn.ModuleList()
        for op in ops:
            if op == "nor_conv_3x3":
                self.edges.append(ReLUConvBN(c, c, 3, 1, module))
            elif op == "nor_conv_1x1":
                self.edges.append(ReLUConvBN(c, c, 1, 1, module))
            elif op == "avg_pool_3x3":
                self.edges.append(nn.AvgPool2d(3, 1, 1, count_include_pad=False))
            else:
                self.edges.append(nn.Identity())

    def forward(self, x):
        nodes = [x, None, None, None]
        for j in (1, 2, 3):
            acc = None
            for e in range(6):
                if EDGE_TO[e] != j or nodes[EDGE_FROM[e]] is None or self.ops[e] == "none":
                    continue
                y = self.edges[e](nodes[EDGE_FROM[e]])
                acc = y if acc is None else acc + y
            nodes[j] = acc
        return nodes[3] if nodes[3] is not None else torch.zeros_like(x)


class Reduction(nn.Module):
    def __init__(self, cin, cout, module):
        super().__init__()
        self.a = ReLUConvBN(cin, cout, 3, 2, module)
        self.b = ReLUConvBN(cout, cout, 3, 1, module)
        self.pool = nn.AvgPool2d(2, 2)
        self.down = nn.Conv2d(cin, cout, 1, 1, 0, bias=False)

    def forward(self, x):
        return self.b(self.a(x)) + self.down(self.pool(x))


class Nb201Net(nn.Module):
    """The NAS-Bench-201 network as src/nn/nb201-net.ts builds it."""

    def __init__(self, ops, c=16, cells=5, classes=10, bn=True):
        super().__init__()
        norm = (lambda ch: nn.BatchNorm2d(ch)) if bn else (lambda ch: nn.Identity())
        self.stem = nn.Sequential(nn.Conv2d(3, c, 3, 1, 1, bias=False), norm(c))
        mods = []
        cin = c
        # The 3N+2 cells and reduction blocks in order, each its index: the authors' net.cells.
        for stage in range(3):
            cout = c * 2**stage
            if stage > 0:
                mods.append(Reduction(cin, cout, len(mods)))
                cin = cout
            for _ in range(cells):
                mods.append(Cell(ops, cout, len(mods)))
        self.body = nn.Sequential(*mods)
        self.last = norm(cin)
        self.relu = nn.ReLU()
        self.relu.module = len(mods)  # the authors' lastact: one past the last cell
        self.fc = nn.Linear(cin, classes)
        if not bn:
            for m in self.modules():
                if isinstance(m, ReLUConvBN):
                    m.bn = nn.Identity()

    def forward(self, x):
        h = self.relu(self.last(self.body(self.stem(x))))
        return self.fc(h.mean((2, 3)))


def relus(net):
    return [m for m in net.modules() if isinstance(m, nn.ReLU)]


def corr(m):
    """Pearson correlation of the rows of m (constant rows: 0 off the diagonal, 1 on it)."""
    z = m - m.mean(1, keepdim=True)
    n = z.norm(dim=1, keepdim=True)
    z = torch.where(n > 0, z / n.clamp_min(1e-30), torch.zeros_like(z))
    c = z @ z.t()
    c.fill_diagonal_(1.0)
    return c


def abs_corr(m):
    return corr(m).abs()


def constant_row(m):
    """Whether a row of m is constant (as normalize_rows decides): a matrix WRCor skips."""
    z = m - m.mean(1, keepdim=True)
    css = (z * z).sum(1)
    return bool(((css <= 1e-10 * (m * m).sum(1)) | (css == 0)).any())


def logdet(k):
    return torch.linalg.slogdet(k.double())[1].item()


def load_batch(path, n):
    raw = np.fromfile(path, dtype=np.float32)
    x = torch.from_numpy(raw[: n * 3 * 32 * 32].copy()).view(n, 3, 32, 32)
    y = torch.from_numpy(raw[n * 3 * 32 * 32 : n * 3 * 32 * 32 + n].copy()).long()
    return x, y


def wrcor(req, x, y):
    net = Nb201Net(parse_arch(req["arch"]), req["channels"], req["cells"])
    for p in net.parameters():
        p.requires_grad_(False)  # WRCor reads activation gradients only (as ours: no weight gradients)
    recs = []

    def fwd_hook(mod, inp, out):
        rec = {"module": mod.module, "act": inp[0].detach().flatten(1), "grad": None}
        mask = inp[0].detach() > 0
        out.register_hook(lambda g: rec.__setitem__("grad", (g * mask).flatten(1)))
        recs.append(rec)

    for r in relus(net):
        r.register_forward_hook(fwd_hook)
    xi = x.clone().requires_grad_(True)
    loss = F.cross_entropy(net(xi), y)
    loss.backward()
    n = x.shape[0]
    ka, kg, kau, kgu = (torch.zeros(n, n) for _ in range(4))
    # Our definition (src/proxies/wrcor.ts: the authors' 2^module weights), ported; a matrix with a
    # constant row adds nothing.
    for r in recs:
        w = 2.0 ** r["module"]
        if not constant_row(r["act"]):
            ca = abs_corr(r["act"])
            ka += w * ca
            kau += ca
        if r["grad"] is not None and not constant_row(r["grad"]):
            cg = abs_corr(r["grad"])
            kg += w * cg
            kgu += cg
    scores = [logdet(ka + kg), logdet(ka), logdet(kg), logdet(kau + kgu)]
    return scores[0]


def naswot(req, x, y):
    net = Nb201Net(parse_arch(req["arch"]), req["channels"], req["cells"])
    n = x.shape[0]
    k = torch.zeros(n, n)

    def hook(mod, inp, out):
        c = (inp[0].flatten(1) > 0).float()
        k.add_(c @ c.t() + (1 - c) @ (1 - c).t())

    for r in relus(net):
        r.register_forward_hook(hook)
    with torch.no_grad():
        net(x)
    return logdet(k)


def synflow(req, x, y):
    net = Nb201Net(parse_arch(req["arch"]), req["channels"], req["cells"], bn=False)
    with torch.no_grad():
        for p in net.parameters():
            p.abs_()
    # As ours: the all-ones input scaled by 2^-64 keeps f32 far from overflow; ln adds 64 ln 2 back.
    ones = torch.full((1, 3, 32, 32), 2.0**-64)
    net(ones).sum().backward()
    s = sum((m.weight * m.weight.grad).abs().sum().item() for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear)) and m.weight.grad is not None)
    return math.log(s) + 64 * math.log(2) if s > 0 else float("-inf")


def jacob_cov(req, x, y):
    net = Nb201Net(parse_arch(req["arch"]), req["channels"], req["cells"])
    for p in net.parameters():
        p.requires_grad_(False)
    xi = x.clone().requires_grad_(True)
    out = net(xi)
    out.backward(torch.ones_like(out))
    c = corr(xi.grad.flatten(1))
    ev = torch.linalg.eigvalsh(c.double())
    k = 1e-5
    return -float(torch.sum(torch.log(ev.clamp_min(0) + k) + 1.0 / (ev.clamp_min(0) + k)))


TASKS = {"wrcor": wrcor, "naswot": naswot, "synflow": synflow, "jacob_cov": jacob_cov}


def timed(fn, repeats, clock):
    fn()  # warm-up: allocator, oneDNN primitive caches
    out = []
    value = None
    for _ in range(repeats):
        t = clock()
        value = fn()
        out.append((clock() - t) * 1000)
    return out, value


def main():
    threads = int(sys.argv[1])
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
    cache = {}
    for line in sys.stdin:
        req = json.loads(line)
        clock = time.process_time if req.get("clock") == "cpu" else time.perf_counter
        key = (req["batch"], req["n"])
        if key not in cache:
            cache[key] = load_batch(req["batch"], req["n"])
        x, y = cache[key]
        task = req["task"]
        if task in TASKS:
            torch.manual_seed(req.get("seed", 0))
            ms, score = timed(lambda: TASKS[task](req, x, y), req["repeats"], clock)
            print(json.dumps({"ms": ms, "score": score}), flush=True)
        elif task in STEPS:
            ms, loss = STEPS[task](req, x, y, clock)
            print(json.dumps({"ms": ms, "loss": loss}), flush=True)
        else:
            print(json.dumps({"error": f"unknown task {task}"}), flush=True)


# ---- MobileNet skeleton, MBConv cells: the ProxylessNAS and AutoSpace steps ---------------------


class ConvBN(nn.Sequential):
    def __init__(self, cin, cout, k, stride, groups=1, act=True):
        layers = [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
        if act:
            layers.append(nn.ReLU6())
        super().__init__(*layers)


class MBConv(nn.Sequential):
    """MBConv k/e as src/mobilenet/cell.ts mbconvCell: 1x1 expand (e > 1), k x k depthwise (strided), 1x1 project."""

    def __init__(self, cin, cout, k, e, stride):
        mid = cin * e
        layers = [ConvBN(cin, mid, 1, 1)] if e > 1 else []
        layers += [ConvBN(mid, mid, k, stride, groups=mid), ConvBN(mid, cout, 1, 1, act=False)]
        super().__init__(*layers)


class Skeleton(nn.Module):
    """Stem, fixed first block, the searchable layers (body), feature mix, classifier (src/mobilenet/skeleton.ts)."""

    def __init__(self, L, layers, body):
        super().__init__()
        self.stem = ConvBN(3, L["stemC"], 3, L["stemStride"])
        self.first = MBConv(L["stemC"], L["firstBlockC"], 3, 1, 1)
        self.layers = layers
        self.body = body
        self.mix = ConvBN(L["lastC"], L["featureMixC"], 1, 1)
        self.fc = nn.Linear(L["featureMixC"], L["classes"])

    def forward(self, x, arg):
        h = self.first(self.stem(x))
        for b, layer in enumerate(self.layers):
            h = self.body(layer, b, h, arg)
        return self.fc(self.mix(h).mean((2, 3)))


def shortcut(shape):
    return shape["stride"] == 1 and shape["inC"] == shape["outC"]


def build_supernet(req):
    """Every candidate of every layer (None for 'zero'), as ProxylessSupernet allocates them."""
    shapes = req["shapes"]
    layers = nn.ModuleList()
    for sh in shapes:
        cands = nn.ModuleList()
        for c in sh["candidates"]:
            cands.append(nn.Identity() if c == "zero" else MBConv(sh["inC"], sh["outC"], c[0], c[1], sh["stride"]))
        layers.append(cands)

    def body(cands, b, h, gates):
        sh = shapes[b]
        active, inactive, gate = gates[b]
        if sh["candidates"][active] == "zero":
            out = None
        else:
            out = cands[active](h)
        if gate is not None:  # the architecture step: binary gates whose gradients are dL/dg_j = sum o_j dL/dy
            g_a, g_i = gate
            if out is not None:
                out = out * g_a
            if inactive is not None and sh["candidates"][inactive] != "zero":
                with torch.no_grad():
                    o_i = cands[inactive](h)
                out = o_i * g_i if out is None else out + o_i * g_i
        if out is None:
            return h
        return h + out if shortcut(sh) else out

    return Skeleton(req["layout"], layers, body)


def cached(key, build):
    """CACHE[key], built once."""
    if key not in CACHE:
        CACHE[key] = build()
    return CACHE[key]


def weight_step_setup(net, req, x, y):
    """net in train mode, its parameters, their SGD (Nesterov 0.9, as ours), the weight batch and
    the validation batch (the request's first n images, then the next n)."""
    net.train()
    params = list(net.parameters())
    opt = torch.optim.SGD(params, lr=0.05, momentum=0.9, nesterov=True, weight_decay=4e-5)
    n = req["n"]
    return params, opt, (x[:n], y[:n]), (x[n : 2 * n], y[n : 2 * n])


def set_requires_grad(params, on):
    for p in params:
        p.requires_grad_(on)


def proxyless_steps(req, x, y, clock):
    """Per step: a weight step on one sampled path per block (forward, CE backward, SGD Nesterov
    0.9 on the parameters that got a gradient), then an architecture step on two sampled paths per
    block (the inactive one without gradient), with gradients of the binary gates only (as ours:
    no weight-gradient convolutions). Returns ms per step (weight + architecture)."""
    torch.manual_seed(1)
    net = cached(json.dumps([req["layout"], req["shapes"]]), lambda: build_supernet(req))
    params, opt, (xb, yb), (xv, yv) = weight_step_setup(net, req, x, y)

    def step(st):
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(net(xb, [(a, None, None) for a in st["weight"]]), yb)
        loss.backward()
        opt.step()
        set_requires_grad(params, False)
        gates, gate_params = [], []
        for a, b in st["arch"]:
            ga = torch.ones((), requires_grad=True)
            gi = torch.zeros((), requires_grad=True)
            gate_params += [ga, gi]
            gates.append((a, b, (ga, gi)))
        grads = torch.autograd.grad(F.cross_entropy(net(xv, gates), yv), gate_params, allow_unused=True)
        _ = [0.0 if g is None else float(g) for g in grads]
        set_requires_grad(params, True)
        return float(loss)

    steps = req["steps"]
    step(steps[0])  # warm-up: allocator, oneDNN primitives
    ms = []
    loss_v = 0.0
    for st in steps:
        t = clock()
        loss_v = step(st)
        ms.append((clock() - t) * 1000)
    return ms, loss_v


def build_mixture(req):
    shapes = req["shapes"]
    layers = nn.ModuleList()
    for sh in shapes:
        layers.append(nn.ModuleList([MBConv(sh["inC"], sh["outC"], k, e, sh["stride"]) for k, e in req["cells"]]))
    phis = [torch.zeros(len(req["cells"]), requires_grad=True) for _ in shapes]

    def body(cells, b, h, phi):
        p = torch.softmax(phi[b], 0)
        y = sum(p[k] * c(h) for k, c in enumerate(cells))
        return h + y if shortcut(shapes[b]) else y

    return Skeleton(req["layout"], layers, body), phis


def autospace_steps(req, x, y, clock):
    """Per step: a weight step of the mixture network (every layer mixes the K cells by softmax(phi):
    forward, CE backward, SGD Nesterov 0.9), then a fitness step on another batch with gradients of
    phi only (as ours: no weight-gradient convolutions). Returns ms per step."""
    torch.manual_seed(1)
    net, phis = cached("mix:" + json.dumps([req["layout"], req["shapes"], req["cells"]]), lambda: build_mixture(req))
    params, opt, (xb, yb), (xv, yv) = weight_step_setup(net, req, x, y)
    ms = []
    loss_v = 0.0
    for i in range(req["repeats"] + 1):
        t = clock()
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(net(xb, [p.detach() for p in phis]), yb)
        loss.backward()
        opt.step()
        set_requires_grad(params, False)
        vloss = F.cross_entropy(net(xv, phis), yv)
        grads = torch.autograd.grad(vloss, phis)
        with torch.no_grad():
            for p, g in zip(phis, grads):
                p -= 0.0  # the fitness update happens on the host in ours as well: not timed work
        set_requires_grad(params, True)
        loss_v = float(loss)
        if i > 0:
            ms.append((clock() - t) * 1000)
    return ms, loss_v


CACHE = {}
STEPS = {"proxyless": proxyless_steps, "autospace": autospace_steps}

if __name__ == "__main__":
    main()
