#!/bin/bash
# bench/cpu-vs-torch.ts, WRCor only, base and pool2 addons alternating (the branch's src/ for both),
# against torch*+OpenBLAS: 1 thread process CPU time, then 2 threads wall clock.
set -u
W=/work/wt-cpu-blocked; H=$(cd "$(dirname "$0")" && pwd)
export WGNAS_DATA_DIR=/work/shared/data
OB=/tmp/openblas/root/usr/lib/x86_64-linux-gnu/openblas-pthread
for cfg in "1 cpu" "2 wall"; do
  set -- $cfg
  for s in base pool2; do
    d=$H/vs-torch/$s-threads$1-$2; mkdir -p $d
    uptime > $d/load-start
    ( cd $W && WGNAS_NATIVE_PATH=$H/addons/$s.node npx tsx bench/cpu-vs-torch.ts --threads $1 --clock $2 --cells 10 --repeats 3 --only wrcor --openblas $OB --openblas-only --json $d/result.json > $d/log 2>&1 )
    uptime > $d/load-end
  done
done
