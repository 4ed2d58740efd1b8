#!/bin/bash
# Before (main 6f5c217, detached worktree + its addon) and after (wp-h3) interleaved, 1 thread,
# process CPU time. Raw JSON per run: {before,after}-{wrcor,naswot,train}-rK.json, score-*.json(l).
set -u
out=${OUT_DIR:-/tmp/h3/final/raw}; mkdir -p $out
export WGNAS_DATA_DIR=/work/shared/data THREADS=1
tree() { [ $1 = before ] && echo /tmp/h3/before || echo /work/wt-h3; }
run() { # side name script env...
  local side=$1 name=$2 script=$3; shift 3
  uptime > $out/$side-$name.load
  env "$@" TREE=$(tree $side) OUT=$out/$side-$name.json npx --prefix /work/wt-h3 tsx $script > $out/$side-$name.log 2>&1
  uptime >> $out/$side-$name.load
}
for r in 1 2 3 4 5; do
  for side in before after; do run $side wrcor-r$r /tmp/h3/probe2.mts ROUNDS=2 PROXY=wrcor; done
done
for r in 1 2 3; do
  for side in before after; do run $side train-r$r /tmp/h3/probe-train.mts ROUNDS=2 STEPS=4; done
done
for r in 1 2; do
  for side in before after; do run $side naswot-r$r /tmp/h3/probe2.mts ROUNDS=2 PROXY=naswot; done
done
# The brief's command, once per side (its profile includes the first cells' page faults).
for side in before after; do
  ( cd $(tree $side) && uptime > $out/$side-score.load && npx tsx src/cli/main.ts score --device cpu --cpu-threads 1 --sample 6 --seed 0 --quiet --kernel-profile $out/$side-score.json --out $out/$side-score.jsonl > $out/$side-score.log 2>&1; uptime >> $out/$side-score.load )
done
