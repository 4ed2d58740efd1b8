# Medians per side over rounds of measure.sh's JSON: cell CPU ms, worker ms, per-op ms, faults; ratio base/side; load.
import json, glob, statistics as st, sys, os
d = sys.argv[1]; sides = sys.argv[2:]
rows = {}
for s in sides:
    js = [json.load(open(f)) for f in sorted(glob.glob(f'{d}/{s}-r*.json'))]
    loads = []
    for f in sorted(glob.glob(f'{d}/{s}-r*.load')):
        for l in open(f): loads.append(float(l.split('load average:')[1].split(',')[0]))
    rows[s] = dict(n=len(js), cell=st.median(j['cellCpuMs'] for j in js), worker=st.median(j['workerMs'] for j in js),
        bnF=st.median(j['ops']['batchNormForward']['cpuMs'] for j in js), bnB=st.median(j['ops']['batchNormBackward']['cpuMs'] for j in js),
        corr=st.median(j['ops']['correlationRows']['cpuMs'] for j in js), conv=st.median(j['ops']['conv2d']['cpuMs'] for j in js),
        convBI=st.median(j['ops']['conv2dBackwardInput']['cpuMs'] for j in js), faults=st.median(j['faultsPerCell'] for j in js),
        load=(min(loads), max(loads)), scores=js[0]['scores'][:6], perRound=[j['cellCpuMs'] for j in js])
b = rows[sides[0]]
for s, r in rows.items():
    print(s, {k: (round(v, 2) if isinstance(v, float) else v) for k, v in r.items() if k not in ('scores', 'perRound')})
    if s != sides[0]:
        print('  base/side', {k: round(b[k] / r[k], 3) for k in ('cell', 'worker', 'bnF', 'bnB', 'corr', 'conv', 'convBI')},
              'per round', [round(x / y, 2) for x, y in zip(b['perRound'], r['perRound'])])
        print('  max rel score diff', max(abs(x - y) / abs(x) for x, y in zip(b['scores'], r['scores'])))
