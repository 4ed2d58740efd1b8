#!/bin/bash
# Raw runs of this folder: the A/B (before = tree A, after = tree B) on Dawn's null backend, its
# bit-identity check on lavapipe, and the per-upload microbenchmark. Run from the after tree's root.
A=${A:-/work/wt-stage0}
B=${B:-/work/wt-stage}
D=bench/results/gpu-host-cost/2026-12-06-staging
for cfg in "stacked 4 8 8" "stacked 8 4 8" "stacked 16 2 8" "separate 4 16 8"; do
  WGNAS_BACKEND=null npx tsx $D/ab.mts $A $B $cfg ${ROUNDS:-40} 2>&1 | tail -1 >> $D/null-ab${RUN:-}.jsonl
done
[ -n "$NULL_ONLY" ] && exit 0
for cfg in "stacked 4 8 8" "stacked 8 4 8" "separate 4 16 8"; do
  npx tsx $D/ab.mts $A $B $cfg 2 2>&1 | tail -1 >> $D/lavapipe-ab.jsonl
done
WGNAS_BACKEND=null npx tsx $D/micro.mts $B > $D/null-micro.txt 2>&1
