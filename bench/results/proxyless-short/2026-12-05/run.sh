#!/bin/bash
# ProxylessNAS short searches (20 warm-up + 40 search steps, defaults otherwise), lavapipe, after the 2026-12-05 estimator fixes.
cd /work/main
out=/work/runs/pxt/out; mkdir -p $out
T=../shared/data/latency/proxylessnas_mobile_trim.yaml
W="npx tsx src/cli/main.ts proxyless --device gpu --latency-table $T"
run() { name=$1; shift; echo "== $name: $*" >> $out/commands.txt; /usr/bin/time -f "%e s" $W "$@" --out $out/$name.config > $out/$name.stdout 2> $out/$name.stderr; echo "$name rc=$?" >> $out/commands.txt; }
run add-l0.1-p2-t30 --loss add --lambda 0.1 --paths 2 --target-ms 30
run add-l2-p1-t30 --loss add --lambda 2 --target-ms 30
run add-l2-p1-t90 --loss add --lambda 2 --target-ms 90
run hinge-t40 --target-ms 40 --plot $out/proxyless-search-40ms.svg
run hinge-t60 --target-ms 60 --plot $out/proxyless-search-60ms.svg
run hinge-t90 --target-ms 90
run reinforce-w2-t40 --mode reinforce --reward-w 2 --target-ms 40
git rev-parse HEAD > $out/commit
