#!/bin/bash
# Interleaved before/after: /tmp/tape-bench/raw/{before,after}-{cpu,cpu1,gpu}-rROUND.{json,jsonl,log}
set -u
out=/tmp/tape-bench/raw; mkdir -p $out
run() { # tree label name args...
  local tree=$1 label=$2 name=$3; shift 3
  cd $tree; rm -f $out/$label-$name.jsonl
  { uptime; /usr/bin/time -f "elapsed %e s" npx tsx ${PRELOAD:-} src/cli/main.ts score "$@" --quiet --kernel-profile $out/$label-$name.json --out $out/$label-$name.jsonl; uptime; } > $out/$label-$name.log 2>&1
}
for r in ${ROUNDS:-1}; do
  for cfg in cpu cpu1 gpu; do
    case $cfg in
      cpu) args="--device cpu --sample 6 --batch 64";;
      cpu1) args="--device cpu --cpu-threads 1 --sample 6 --batch 64";;
      gpu) args="--device gpu --sample 6 --batch 8 --group 3";;
    esac
    if [ $cfg = gpu ]; then export PRELOAD="--import /tmp/tape-bench/count-copies.mts"; else export PRELOAD=; fi
    run /tmp/wt-tape-before before $cfg-r$r $args
    run /work/wt-tape after $cfg-r$r $args
  done
done
