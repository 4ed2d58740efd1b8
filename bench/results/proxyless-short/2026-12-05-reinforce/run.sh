#!/bin/bash
# The REINFORCE row of the short-search table again, after the 2026-12-05 REINFORCE change (shared
# validation batch, the authors' baseline): 20 warm-up + 40 search steps on lavapipe, first with the
# table's old schedule (α every step, no label smoothing, α from 0), then with the new defaults
# (the authors' schedule: α every 5 steps, smoothing 0.1, α from N(0, 1e-3)).
cd "$(dirname "$0")/../../../.."
out=bench/results/proxyless-short/2026-12-05-reinforce
T=data/latency/proxylessnas_mobile_trim.yaml
W="npx tsx src/cli/main.ts proxyless --device gpu --latency-table $T"
run() { name=$1; shift; echo "== $name: $*" >> $out/commands.txt; /usr/bin/time -f "%e s" $W "$@" --out $out/$name.config > $out/$name.stdout 2> $out/$name.stderr; echo "$name rc=$?" >> $out/commands.txt; }
run reinforce-w2-t40-old-schedule --mode reinforce --reward-w 2 --target-ms 40 --arch-every 1 --label-smoothing 0 --arch-init-std 0
run reinforce-w2-t40 --mode reinforce --reward-w 2 --target-ms 40
git rev-parse HEAD > $out/commit
