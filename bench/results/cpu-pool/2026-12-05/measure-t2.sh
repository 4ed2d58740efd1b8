#!/bin/bash
# Rounds 6-11: measure.sh's 2-thread WRCor items only, base / pool2 interleaved, after the first five.
set -u
W=/work/wt-cpu-blocked; H=$(cd "$(dirname "$0")" && pwd)
out=${OUT_DIR:-$H/raw}; mkdir -p $out
export WGNAS_DATA_DIR=/work/shared/data CELLS=$H/cells.jsonl TREE=$W
for r in 6 7 8 9 10 11; do
  for s in base pool2; do
    uptime > $out/$s-wrcor-t2-r$r.load
    ( cd $W && WGNAS_NATIVE_PATH=$H/addons/$s.node THREADS=2 ROUNDS=1 OUT=$out/$s-wrcor-t2-r$r.json npx tsx $H/probe-wrcor.mts > $out/$s-wrcor-t2-r$r.log 2>&1 )
    uptime >> $out/$s-wrcor-t2-r$r.load
  done
done
