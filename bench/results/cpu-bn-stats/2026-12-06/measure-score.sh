#!/bin/bash
# wgnas score --sample 12 (WRCor, 1 thread) end to end per addon, alternating: wall, process CPU, sys, faults (GNU time).
set -u
H=/work/bench-native; out=$H/raw-score; mkdir -p $out
export WGNAS_DATA_DIR=/work/shared/data
for r in ${ROUNDS_LIST:-1 2 3}; do
  for s in ${SIDES:-v8 v9}; do
    f=$out/$s-r$r; uptime > $f.load
    ( cd /work/wt-native && WGNAS_NATIVE_PATH=$H/addons/$s.node /usr/bin/time -f "wall %e user %U sys %S minflt %R maxrssKB %M" node --import tsx src/cli/main.ts score --sample 12 --seed 0 --device cpu --cpu-threads 1 --quiet --out $f.jsonl --force > $f.log 2>&1 )
    uptime >> $f.load
  done
done
