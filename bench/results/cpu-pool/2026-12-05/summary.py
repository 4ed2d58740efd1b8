# Medians over rounds 1..5 of each side's figures (SIDES: the sides, base first; RAW: the folder).
import json, glob, os, statistics as st, sys
H = os.path.dirname(os.path.abspath(__file__)); raw = os.path.join(H, os.environ.get('RAW', 'raw'))
sides = os.environ.get('SIDES', 'base pool2').split()
def load(pat):
    out = {}
    for s in sides:
        v = []
        for f in sorted(glob.glob(os.path.join(raw, f'{s}-{pat}-r*.json'))):
            if f.endswith('-r0.json'): continue
            v.append(json.load(open(f)))
        out[s] = v
    return out
res = {}
for t in (1, 2):
    d = load(f'wrcor-t{t}')
    for key in ('cellCpuMs', 'wallMs', 'workerMs'):
        res[f'wrcor t{t} {key}'] = {s: [x[key] for x in d[s]] for s in sides}
    res[f'wrcor t{t} pool ops'] = {s: [x['ops'].get('avgPool2d', {}).get('cpuMs', 0) + x['ops'].get('avgPool2dBackward', {}).get('cpuMs', 0) for x in d[s]] for s in sides}
    res[f'wrcor t{t} bn ops'] = {s: [x['ops']['batchNormForward']['cpuMs'] + x['ops']['batchNormBackward']['cpuMs'] for x in d[s]] for s in sides}
    sc = {s: [x['scores'] for x in d[s]] for s in sides}
    print(f't{t} scores identical to base:', {s: all(a == sc['base'][0] for a in sc[s]) for s in sides})
d = load('proxyless')
res['proxyless t1 meanOfMinsMs'] = {s: [x['meanOfMinsMs'] for x in d[s]] for s in sides}
d = load('autospace')
res['autospace t1 ms'] = {s: [x['rows'][0]['ms']['ours'] for x in d[s]] for s in sides}
summary = {}
for k, v in res.items():
    med = {s: st.median(v[s]) if v[s] and isinstance(v[s][0], (int, float)) else None for s in sides}
    summary[k] = {'median': med, 'rounds': v}
    if med['base']:
        print(f"{k:28} " + '  '.join(f"{s} {med[s]:8.1f}" for s in sides) + ''.join(f"   base/{s} {med['base']/med[s]:.3f}" for s in sides[1:]) + f"  n={len(v['base'])}")
json.dump(summary, open(os.path.join(H, os.environ.get('SUMMARY', 'summary.json')), 'w'), indent=1)
