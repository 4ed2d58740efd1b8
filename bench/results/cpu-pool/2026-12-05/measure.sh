#!/bin/bash
# base (3e119ed's addon) and pool2 (+ same-size average pooling, one pass per direction for k = 3) interleaved,
# each item one process; both run the same src/ (the branch's: the changes are
# native only). WRCor: probe-wrcor.mts (6 cells, warm-up pass + 1 pass), 1 and 2 threads; ProxylessNAS
# step: probe-proxyless.mts (bench/results/cpu-proxyless/2026-12-05/probe.mts: 3 steps x 3 rounds, 1 thread);
# AutoSpace step: bench/cpu-vs-torch.ts --no-torch --only autospace (3 steps x 3 repeats, 1 thread).
set -u
W=/work/wt-cpu-blocked; H=$(cd "$(dirname "$0")" && pwd)
out=${OUT_DIR:-$H/raw}; mkdir -p $out
export WGNAS_DATA_DIR=/work/shared/data CELLS=$H/cells.jsonl TREE=$W
addon() { echo $H/addons/$1.node; }
wrcor() { # side threads round
  uptime > $out/$1-wrcor-t$2-r$3.load
  ( cd $W && WGNAS_NATIVE_PATH=$(addon $1) THREADS=$2 ROUNDS=1 OUT=$out/$1-wrcor-t$2-r$3.json npx tsx $H/probe-wrcor.mts > $out/$1-wrcor-t$2-r$3.log 2>&1 )
  uptime >> $out/$1-wrcor-t$2-r$3.load
}
proxyless() { # side round
  uptime > $out/$1-proxyless-r$2.load
  ( cd $W/bench/results/cpu-proxyless/2026-12-05 && WGNAS_NATIVE_PATH=$(addon $1) npx tsx probe.mts $out/$1-proxyless-r$2.json 3 3 > $out/$1-proxyless-r$2.log 2>&1 )
  uptime >> $out/$1-proxyless-r$2.load
}
autospace() { # side round
  uptime > $out/$1-autospace-r$2.load
  ( cd $W && WGNAS_NATIVE_PATH=$(addon $1) npx tsx bench/cpu-vs-torch.ts --threads 1 --clock cpu --repeats 3 --steps 3 --only autospace --no-torch --json $out/$1-autospace-r$2.json > $out/$1-autospace-r$2.log 2>&1 )
  uptime >> $out/$1-autospace-r$2.load
}
SIDES=${SIDES:-base pool lanes}
for r in ${ROUNDS:-1 2 3 4 5}; do
  for s in $SIDES; do wrcor $s 1 $r; done
  for s in $SIDES; do wrcor $s 2 $r; done
  for s in $SIDES; do proxyless $s $r; done
  [ $r -le 3 ] && for s in $SIDES; do autospace $s $r; done
done
