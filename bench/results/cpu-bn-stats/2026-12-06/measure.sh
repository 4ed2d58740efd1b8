#!/bin/bash
# WRCor cell probe (6 cells, warm-up pass + ROUNDS passes, 1 thread), addons interleaved, each item one process.
set -u
H=/work/bench-native; out=${OUT_DIR:-$H/raw}; mkdir -p $out
export WGNAS_DATA_DIR=/work/shared/data CELLS=$H/cells.jsonl TREE=/work/wt-native
for r in ${ROUNDS_LIST:-1 2 3 4 5}; do
  for s in ${SIDES:-base v8}; do
    f=$out/$s-r$r
    uptime > $f.load
    ( cd /work/wt-native && WGNAS_NATIVE_PATH=$H/addons/$s.node THREADS=1 ROUNDS=2 OUT=$f.json npx tsx $H/probe-wrcor.mts > $f.log 2>&1 )
    uptime >> $f.load
  done
done
