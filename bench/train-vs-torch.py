"""PyTorch's side of bench/train-vs-torch.ts: training steps of a NAS-Bench-201 network (the network
of scripts/train-reference.py, in float32) with the recipe of `wgnas train` (SGD Nesterov, weight
decay on conv/linear weights, label smoothing 0.1, BN momentum 0.1), on random 32x32 images.
Prints one JSON line: {"version", "ms": [per-step ms]} (process CPU time or wall clock).
"""

import argparse
import importlib.util
import json
import os
import time

import torch
import torch.nn as nn

ap = argparse.ArgumentParser()
ap.add_argument('--arch', required=True)
ap.add_argument('--channels', type=int, default=16)
ap.add_argument('--cells', type=int, default=5)
ap.add_argument('--batch', type=int, default=64)
ap.add_argument('--steps', type=int, default=5)
ap.add_argument('--threads', type=int, default=1)
ap.add_argument('--clock', choices=['cpu', 'wall'], default='cpu')
a = ap.parse_args()
torch.set_num_threads(a.threads)
here = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location('train_reference', os.path.join(here, '..', 'scripts', 'train-reference.py'))
ref = importlib.util.module_from_spec(spec)
spec.loader.exec_module(ref)

torch.manual_seed(0)
model = ref.Nb201(ref.parse_arch(a.arch), a.channels, a.cells, 10, 0.1)
_, bns = model.by_wgnas_name()
exempt = {id(m.weight) for m in bns.values()} | {id(m.bias) for m in bns.values()} | {id(model.classifier.bias)}
opt = torch.optim.SGD(
    [
        {'params': [p for p in model.parameters() if id(p) not in exempt], 'weight_decay': 5e-4},
        {'params': [p for p in model.parameters() if id(p) in exempt], 'weight_decay': 0.0},
    ],
    lr=0.01,
    momentum=0.9,
    nesterov=True,
)
criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
x = torch.randn(a.batch, 3, 32, 32)
y = torch.randint(0, 10, (a.batch,))
clock = time.process_time if a.clock == 'cpu' else time.perf_counter
model.train()
ms = []
for _ in range(a.steps + 1):
    t0 = clock()
    loss = criterion(model(x), y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    loss.item()
    ms.append((clock() - t0) * 1000)
print(json.dumps({'version': torch.__version__, 'ms': ms[1:]}))
