"""PyTorch's side of the `wgnas train` parity fixture (test/helpers/train-parity.ts describes the format).

Reads the inputs scripts/train-parity-inputs.ts wrote (initial weights, images, the batches in the
trainer's order), trains the same network (a NAS-Bench-201 cell network, or a ProxylessNAS net.config
built as mit-han-lab/proxylessnas builds it) the plain PyTorch way and writes the fixture
test/train/torch-parity*.test.ts compare `wgnas train` with:

  for c in nb201 nb201-none-fed nb201-recipe mbconv mbconv-eps; do
    npx tsx scripts/train-parity-inputs.ts $c /tmp/$c-in.json &&
      /usr/bin/python3 scripts/train-reference.py /tmp/$c-in.json test/fixtures/train-parity/$c.json
  done

The recipe, written from PyTorch's and the papers' definitions, not from wgnas's code:
  - torch.optim.SGD(nesterov=True, momentum, weight_decay) in two parameter groups: weight decay on
    conv and linear weights, none on BatchNorm weights/biases and on biases (OFA/ProxylessNAS's
    no_decay_keys 'bn#bias'); under the settings' recipe 'nb201' one group, every parameter decayed,
    as NAS-Bench-201 does;
  - the learning rate set before every step as OFA's run manager does it: warm-up
    lr * (t + 1) / T_warmup (t counted from 0), then 0.5 * lr * (1 + cos(pi * t' / T_cosine)) with t'
    counted from 0 at the first step after the warm-up, T_cosine = total - warm-up steps (recipe
    'nb201': NAS-Bench-201's per-epoch CosineAnnealingLR, lr_nb201);
  - nn.CrossEntropyLoss(label_smoothing=eps), BatchNorm2d(momentum=0.1, eps=1e-5) in train mode
    (running statistics updated in the forward), model.eval() for the test logits.
Runs in float64 by default (--dtype float32 for PyTorch's own f32 numbers), one thread, no
augmentation; the results are stored as f32. A float64 run trains again in float32 and prints how
near the ReLU kinks the trajectory passes against how far f32 rounding moves the ReLU inputs
(kink_report; 'kinks: worst margin/deviation ratio R': a fixture wants R well above 1). Needs
torch (Debian's python3-torch 1.13 here); no test or CI runs it.
"""

import argparse
import json
import math
import os
import re
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

EDGE_FROM = [0, 0, 1, 0, 1, 2]
EDGE_TO = [1, 2, 2, 3, 3, 3]


class Kinks:
    """The input of every ReLU / ReLU6 call of every training step, kept while `steps` is a list (one
    list of (fn, bn, where, input) per step). A gradient is discontinuous at an activation's kink (0,
    and 6 for ReLU6): an input rounding moves across it changes that element's gradient by all of its
    upstream gradient, and the runs part by far more than f32 roundoff from there on. kink_report
    says how near the kinks the trajectory passes, against how far f32 rounding moves the inputs."""

    steps = None


def act(fn, x, bn, where):
    """fn(x), recording x (see Kinks); `bn` and `where` name it: the activation is 'into' the conv
    that BN follows, or 'after' that BN."""
    if Kinks.steps is not None:
        Kinks.steps[-1].append((fn, bn, where, x.detach().to(torch.float64).clone()))
    return fn(x)


def kink_distance(fn, x):
    """Signed distance of each input to its activation's nearest kink (the side it is on)."""
    return torch.where(x < 3, x, x - 6) if fn is F.relu6 else x


def parse_arch(arch):
    """'|op~0|+|op~0|op~1|+|...|' -> 6 op names in edge order (1<-0),(2<-0),(2<-1),(3<-0),(3<-1),(3<-2)."""
    ops = []
    for node in arch.split('+'):
        ops += [tok.split('~')[0] for tok in node.strip('|').split('|')]
    assert len(ops) == 6, arch
    return ops


class ReLUConvBN(nn.Module):
    def __init__(self, cin, cout, k, stride, pad, bn_momentum):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride, pad, bias=False)
        self.bn = nn.BatchNorm2d(cout, eps=1e-5, momentum=bn_momentum)

    def forward(self, x):
        return self.bn(self.conv(act(F.relu, x, self.bn, 'into')))


class Cell(nn.Module):
    """NAS-Bench-201's InferCell: node j = sum over edges i->j of op(node i), 'none' giving x * 0
    (its Zero op), so an edge out of a node that receives only 'none' still runs on zeros."""

    def __init__(self, ops, c, bn_momentum):
        super().__init__()
        self.ops = ops
        self.edges = nn.ModuleDict()
        for e, op in enumerate(ops):
            if op in ('nor_conv_3x3', 'nor_conv_1x1'):
                k = 3 if op == 'nor_conv_3x3' else 1
                self.edges[f'e{e}'] = ReLUConvBN(c, c, k, 1, k // 2, bn_momentum)
            elif op not in ('skip_connect', 'avg_pool_3x3', 'none'):
                raise ValueError(f'op {op} is not in this reference')

    def forward(self, x):
        nodes = [x]
        for j in (1, 2, 3):
            acc = 0
            for e in range(6):
                if EDGE_TO[e] != j:
                    continue
                src, op = nodes[EDGE_FROM[e]], self.ops[e]
                if op == 'none':
                    y = src * 0.0
                elif op == 'skip_connect':
                    y = src
                elif op == 'avg_pool_3x3':
                    y = F.avg_pool2d(src, 3, 1, 1, count_include_pad=False)
                else:
                    y = self.edges[f'e{e}'](src)
                acc = acc + y
            nodes.append(acc)
        return nodes[3]


class Reduction(nn.Module):
    """NAS-Bench-201's ResNetBasicblock at stride 2: b(a(x)) + conv1x1(avgpool2(x))."""

    def __init__(self, cin, cout, bn_momentum):
        super().__init__()
        self.a = ReLUConvBN(cin, cout, 3, 2, 1, bn_momentum)
        self.b = ReLUConvBN(cout, cout, 3, 1, 1, bn_momentum)
        self.down = nn.Conv2d(cin, cout, 1, 1, 0, bias=False)

    def forward(self, x):
        return self.b(self.a(x)) + self.down(F.avg_pool2d(x, 2, 2, 0))


class Nb201(nn.Module):
    def __init__(self, ops, C, N, classes, bn_momentum):
        super().__init__()
        self.stem_conv = nn.Conv2d(3, C, 3, 1, 1, bias=False)
        self.stem_bn = nn.BatchNorm2d(C, eps=1e-5, momentum=bn_momentum)
        self.blocks = nn.ModuleList()
        self.names = []  # wgnas name prefix of each block
        cin = C
        for stage in range(3):
            cout = C * 2**stage
            if stage > 0:
                self.blocks.append(Reduction(cin, cout, bn_momentum))
                self.names.append(f'reduce{stage}')
                cin = cout
            for i in range(N):
                self.blocks.append(Cell(ops, cout, bn_momentum))
                self.names.append(f's{stage}.c{i}')
        self.last_bn = nn.BatchNorm2d(cin, eps=1e-5, momentum=bn_momentum)
        self.classifier = nn.Linear(cin, classes)

    def forward(self, x):
        x = self.stem_bn(self.stem_conv(x))
        for b in self.blocks:
            x = b(x)
        x = act(F.relu, self.last_bn(x), self.last_bn, 'after')
        return self.classifier(x.mean(dim=(2, 3)))

    def by_wgnas_name(self):
        """wgnas parameter name -> tensor, and BN name -> module (the weights-file names)."""
        params, bns = {}, {}

        def bn(prefix, m):
            params[f'{prefix}.gamma'] = m.weight
            params[f'{prefix}.beta'] = m.bias
            bns[prefix] = m

        params['stem.conv'] = self.stem_conv.weight
        bn('stem.bn', self.stem_bn)
        for name, b in zip(self.names, self.blocks):
            if isinstance(b, Reduction):
                for part in ('a', 'b'):
                    params[f'{name}.{part}.conv'] = getattr(b, part).conv.weight
                    bn(f'{name}.{part}.bn', getattr(b, part).bn)
                params[f'{name}.down'] = b.down.weight
            else:
                for key, m in b.edges.items():
                    params[f'{name}.{key}.conv'] = m.conv.weight
                    bn(f'{name}.{key}.bn', m.bn)
        bn('last.bn', self.last_bn)
        params['classifier.w'] = self.classifier.weight
        params['classifier.b'] = self.classifier.bias
        return params, bns


class ConvLayer(nn.Module):
    """ProxylessNAS's ConvLayer as its net.configs use it: conv (same padding, no bias), BN, ReLU6
    (ops_order 'weight_bn_act')."""

    def __init__(self, cfg, bn):
        super().__init__()
        assert cfg.get('ops_order', 'weight_bn_act') == 'weight_bn_act' and cfg.get('use_bn', True)
        assert cfg.get('act_func') == 'relu6' and cfg.get('groups', 1) == 1 and not cfg.get('bias', False)
        k = cfg['kernel_size']
        self.conv = nn.Conv2d(cfg['in_channels'], cfg['out_channels'], k, cfg['stride'], k // 2, bias=False)
        self.bn = nn.BatchNorm2d(cfg['out_channels'], **bn)

    def forward(self, x):
        return act(F.relu6, self.bn(self.conv(x)), self.bn, 'after')


class MBInvertedConv(nn.Module):
    """ProxylessNAS's MBInvertedConvLayer: [1x1 expand conv + BN + ReLU6 unless expand_ratio is 1],
    kxk depthwise conv (stride, padding k//2) + BN + ReLU6, 1x1 projection conv + BN; the middle
    width round(in_channels * expand_ratio) unless mid_channels is given."""

    def __init__(self, cfg, bn):
        super().__init__()
        cin, cout, k, e = cfg['in_channels'], cfg['out_channels'], cfg['kernel_size'], cfg['expand_ratio']
        mid = cfg.get('mid_channels') or round(cin * e)
        self.expand = e
        if e != 1:
            self.expand_conv = nn.Conv2d(cin, mid, 1, 1, 0, bias=False)
            self.expand_bn = nn.BatchNorm2d(mid, **bn)
        self.dw_conv = nn.Conv2d(mid, mid, k, cfg['stride'], k // 2, groups=mid, bias=False)
        self.dw_bn = nn.BatchNorm2d(mid, **bn)
        self.pw_conv = nn.Conv2d(mid, cout, 1, 1, 0, bias=False)
        self.pw_bn = nn.BatchNorm2d(cout, **bn)

    def forward(self, x):
        if self.expand != 1:
            x = act(F.relu6, self.expand_bn(self.expand_conv(x)), self.expand_bn, 'after')
        x = act(F.relu6, self.dw_bn(self.dw_conv(x)), self.dw_bn, 'after')
        return self.pw_bn(self.pw_conv(x))

    def parts(self):
        """(conv, bn, wgnas op suffix pattern) in order."""
        out = [] if self.expand == 1 else [(self.expand_conv, self.expand_bn, rf'pw{self.expand}')]
        k = self.dw_conv.kernel_size[0]
        return out + [(self.dw_conv, self.dw_bn, rf'dw{k}'), (self.pw_conv, self.pw_bn, 'pwl')]


class ProxylessNet(nn.Module):
    """ProxylessNASNets built from a net.config as mit-han-lab/proxylessnas does: first_conv, blocks
    (MobileInvertedResidualBlock: a ZeroLayer gives x, no shortcut gives conv(x), an IdentityLayer
    shortcut x + conv(x)), feature_mix_layer, global average pool, classifier (LinearLayer, bias,
    no dropout here); every BN with the config's 'bn' momentum and eps (theirs default 0.1, 1e-3)."""

    def __init__(self, config):
        super().__init__()
        bn = dict(config.get('bn', {'momentum': 0.1, 'eps': 1e-3}))
        self.bn_param = bn
        self.first_conv = ConvLayer(config['first_conv'], bn)
        self.blocks = nn.ModuleList()
        self.shortcuts = []
        for b in config['blocks']:
            conv, sc = b['mobile_inverted_conv'], b['shortcut']
            if conv['name'] == 'ZeroLayer':
                assert sc and sc['name'] == 'IdentityLayer'
                self.blocks.append(None)
            else:
                assert conv['name'] == 'MBInvertedConvLayer'
                self.blocks.append(MBInvertedConv(conv, bn))
            assert sc is None or sc['name'] == 'IdentityLayer'
            self.shortcuts.append(sc is not None)
        self.feature_mix_layer = ConvLayer(config['feature_mix_layer'], bn)
        c = config['classifier']
        assert c['name'] == 'LinearLayer' and c.get('bias', True) and not c.get('dropout_rate', 0)
        self.classifier = nn.Linear(c['in_features'], c['out_features'])

    def forward(self, x):
        x = self.first_conv(x)
        for m, sc in zip(self.blocks, self.shortcuts):
            if m is None:
                continue  # ZeroLayer: the block is its shortcut
            x = m(x) + x if sc else m(x)
        x = self.feature_mix_layer(x)
        return self.classifier(x.mean(dim=(2, 3)))

    def by_wgnas_name(self, wgnas_names):
        """Pairs the parameters in network order with wgnas's names (FixedNet's order: stem, first
        block, layers, feature mix, classifier), checking each name against the module it maps to."""
        parts = [(self.first_conv.conv, self.first_conv.bn, r'stem\.conv')]
        for i, m in enumerate(self.blocks):
            if m is None:
                continue
            prefix = r'first' if i == 0 else rf'b{i - 1}\.c\d+'
            parts += [(conv, bn, rf'{prefix}\.n{j}\.{op}') for j, (conv, bn, op) in enumerate(m.parts())]
        parts.append((self.feature_mix_layer.conv, self.feature_mix_layer.bn, r'mix\.conv'))
        expect = []
        for conv, bn, pattern in parts:
            expect += [(conv.weight, pattern, None), (bn.weight, pattern + r'\.bn\.gamma', bn), (bn.bias, pattern + r'\.bn\.beta', bn)]
        expect += [(self.classifier.weight, r'classifier\.w', None), (self.classifier.bias, r'classifier\.b', None)]
        if len(expect) != len(wgnas_names):
            sys.exit(f'{len(wgnas_names)} wgnas parameters, {len(expect)} torch ones')
        params, bns = {}, {}
        for name, (t, pattern, bn) in zip(wgnas_names, expect):
            if not re.fullmatch(pattern, name):
                sys.exit(f"wgnas parameter '{name}' is where torch has /{pattern}/")
            params[name] = t
            if bn is not None:
                bns[name.rsplit('.', 1)[0]] = bn
        return params, bns


def lr_nb201(base, t, per_epoch, epochs, warmup):
    """NAS-Bench-201's CosineAnnealingLR (AutoDL-Projects lib/procedures/optimizers.py, eta_min 0,
    T_max = its config's epochs, which exclude the warm-up) as funcs_nasbench.procedure updates it:
    update(epoch, 0.0) before an epoch, update(None, i / len(loader)) before step i."""
    e, i = divmod(t, per_epoch)
    if e < warmup:
        return (e / warmup + (i / per_epoch) / warmup) * base
    return 0.5 * base * (1 + math.cos(math.pi * (e - warmup) / (epochs - warmup)))


def lr_at(base, t, total, warmup):
    if t < warmup:
        return base * (t + 1) / warmup
    return 0.5 * base * (1 + math.cos(math.pi * (t - warmup) / max(1, total - warmup)))


def train(meta, raw, dtype, record=False):
    """Trains the inputs' network in `dtype`; with `record`, every step's activation inputs are kept
    (Kinks). Returns what the fixture stores."""

    def tensor(name):
        t = next(t for t in meta['tensors'] if t['name'] == name)
        n = int(np.prod(t['shape']))
        return torch.from_numpy(raw[t['offset'] : t['offset'] + n].reshape(t['shape']).astype(np.float64)).to(dtype)

    c, s = meta['case'], meta['case']['settings']
    assert not s['augment']
    names = [p['name'] for p in meta['params']]
    if c.get('netConfig'):
        model = ProxylessNet(c['netConfig']).to(dtype)
        assert model.bn_param['momentum'] == s['bnMomentum'], 'the net.config and the settings give other BN momenta'
        params, bns = model.by_wgnas_name(names)
    else:
        model = Nb201(parse_arch(c['arch']), c['channels'], c['cellsPerStage'], c['classes'], s['bnMomentum']).to(dtype)
        params, bns = model.by_wgnas_name()
    if sorted(names) != sorted(params):
        sys.exit(f'parameters differ: wgnas {sorted(names)} vs torch {sorted(params)}')
    assert len(params) == len(list(model.parameters())), 'a torch parameter without a wgnas name'
    with torch.no_grad():
        for n in names:
            params[n].copy_(tensor(f'init.{n}'))

    # Decay by module, not by wgnas's labels: BN affine parameters and biases are exempt, except
    # under NAS-Bench-201's recipe, whose SGD takes net.parameters() with one weight decay.
    recipe = s.get('recipe', 'default')
    exempt = {id(m.weight) for m in bns.values()} | {id(m.bias) for m in bns.values()} | {id(model.classifier.bias)}
    if recipe == 'nb201':
        exempt = set()
    decay = [p for p in model.parameters() if id(p) not in exempt]
    no_decay = [p for p in model.parameters() if id(p) in exempt]
    opt = torch.optim.SGD(
        [{'params': decay, 'weight_decay': s['weightDecay']}, {'params': no_decay, 'weight_decay': 0.0}],
        lr=s['lr'],
        momentum=s['momentum'],
        nesterov=True,
    )
    criterion = nn.CrossEntropyLoss(label_smoothing=s['labelSmoothing'])

    xs, ys = tensor('input.train'), torch.tensor(meta['trainLabels'], dtype=torch.long)
    steps = meta['steps']
    per_epoch = c['trainImages'] // s['batchSize']
    total = s['epochs'] * per_epoch
    assert len(steps) == total, f'{len(steps)} steps in the inputs, {total} in the settings'
    warmup = round(s['warmupEpochs'] * per_epoch)
    lrs, losses = [], []
    model.train()
    Kinks.steps = [] if record else None
    for t, idx in enumerate(steps):
        if record:
            Kinks.steps.append([])
        if recipe == 'nb201':
            lr = lr_nb201(s['lr'], t, per_epoch, s['epochs'], s['warmupEpochs'])
        else:
            lr = lr_at(s['lr'], t, total, warmup)
        for g in opt.param_groups:
            g['lr'] = lr
        idx = torch.tensor(idx, dtype=torch.long)
        loss = criterion(model(xs[idx]), ys[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        lrs.append(lr)
        losses.append(loss.item())

    kinks, Kinks.steps = Kinks.steps, None
    model.eval()
    with torch.no_grad():
        logits = model(tensor('input.test'))
        yt = torch.tensor(meta['testLabels'], dtype=torch.long)
        eval_loss = F.cross_entropy(logits, yt).item()
        eval_acc = (logits.argmax(1) == yt).double().mean().item()

    bn_names = {id(m): n for n, m in bns.items()}
    return {
        'tensor': tensor,
        'names': names,
        'params': params,
        'bns': bns,
        'lrs': lrs,
        'losses': losses,
        'logits': logits,
        'eval_loss': eval_loss,
        'eval_acc': eval_acc,
        'kinks': kinks,
        'bn_name': lambda bn: bn_names[id(bn)],
    }


def kink_report(ref, low):
    """How near the activation kinks `ref`'s trajectory (float64) passes, against how far the same
    training in float32 (`low`) moves the activation inputs. Per step: the smallest margin (|distance
    to a kink| of a nonzero input: exact zeros, from 'none' edges, stay zero in any precision) of any
    activation; the activation with the worst ratio of its margin to its deviation (the largest
    |float32 - float64| of its inputs); and the elements float32 puts on the other side of a kink.
    wgnas's f32 rounding differs from PyTorch's but is of the same size: a step whose ratio is not
    well above 1 can flip a kink in one run and not the other, and the parity test then measures
    chaos, not the recipe. Returns the worst ratio and the smallest margin over the steps."""
    worst, least = math.inf, math.inf
    for t, (a, b) in enumerate(zip(ref['kinks'], low['kinks'])):
        assert len(a) == len(b), f'step {t}: {len(a)} activations in float64, {len(b)} in float32'
        step = (math.inf, 0.0, 0.0, '')
        near = (math.inf, '')
        flips = 0
        for (fn, bn, where, x), (_, _, _, y) in zip(a, b):
            d = kink_distance(fn, x)
            margin = d.abs()[d != 0].min().item() if (d != 0).any() else math.inf
            dev = (x - y).abs().max().item()
            flips += int(((d > 0) != (kink_distance(fn, y) > 0)).sum())
            at = f'{fn.__name__} {where} {ref["bn_name"](bn)}'
            near = min(near, (margin, at))
            step = min(step, (margin / max(dev, 1e-300), margin, dev, at))
        ratio, margin, dev, at = step
        print(
            f'  step {t:2d}: smallest margin {near[0]:.2e} ({near[1]}); worst ratio {ratio:6.1f}: '
            f'margin {margin:.2e}, float32 deviation {dev:.2e} ({at}); flips {flips}'
        )
        worst, least = min(worst, ratio), min(least, near[0])
    return worst, least


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('inputs', help='the JSON scripts/train-parity-inputs.ts wrote (its .bin beside it)')
    ap.add_argument('out', help='fixture JSON to write (its .bin beside it)')
    ap.add_argument('--dtype', choices=['float64', 'float32'], default='float64')
    a = ap.parse_args()
    torch.set_num_threads(1)
    dtype = getattr(torch, a.dtype)

    meta = json.load(open(a.inputs))
    raw = np.fromfile(a.inputs[: -len('.json')] + '.bin', dtype='<f4')
    r = train(meta, raw, dtype, record=True)
    if dtype == torch.float64:
        ratio, margin = kink_report(r, train(meta, raw, torch.float32, record=True))
        print(f'kinks: worst margin/deviation ratio {ratio:.1f}, smallest margin {margin:.2e}')
    tensor, names, params, bns, logits = r['tensor'], r['names'], r['params'], r['bns'], r['logits']
    lrs, losses, eval_loss, eval_acc = r['lrs'], r['losses'], r['eval_loss'], r['eval_acc']

    out_tensors = []
    chunks = []
    offset = 0

    def add(name, t):
        nonlocal offset
        arr = t.detach().to(torch.float64).numpy().astype('<f4').ravel()
        out_tensors.append({'name': name, 'shape': list(t.shape), 'offset': offset})
        chunks.append(arr)
        offset += arr.size

    for t in meta['tensors']:
        add(t['name'], tensor(t['name']))
    for n in names:
        add(f'torch.{n}', params[n])
    for n, m in bns.items():
        add(f'torch.{n}.running_mean', m.running_mean)
        add(f'torch.{n}.running_var', m.running_var)
    add('torch.eval_logits', logits)

    meta['tensors'] = out_tensors
    meta['torch'] = {
        'version': torch.__version__,
        'dtype': a.dtype,
        'lrs': lrs,
        'losses': losses,
        'evalLoss': eval_loss,
        'evalAcc': eval_acc,
    }
    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    np.concatenate(chunks).tofile(a.out[: -len('.json')] + '.bin')
    with open(a.out, 'w') as f:
        json.dump(meta, f)
        f.write('\n')
    print(f'{a.out}: losses {" ".join(f"{v:.5f}" for v in losses)}; eval loss {eval_loss:.5f} acc {eval_acc:.2f}')


if __name__ == '__main__':
    main()
