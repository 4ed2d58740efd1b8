#!/bin/bash
# usage: ab.sh ADAPTER(null|lavapipe) ROUNDS REPS "workload:batch ..."
adapter=$1; rounds=$2; reps=$3; shift 3
out=${OUT:-raw}
mkdir -p $out
for r in $(seq 1 $rounds); do
  for wb in $@; do
    w=${wb%%:*}; b=${wb##*:}
    for v in before after; do
      dir=/work/wt-step; [ $v = before ] && dir=/work/wt-step-before
      f=$out/$adapter-$w-b$b-$v-r$r.txt
      ( cd $dir && if [ $adapter = null ]; then export WGNAS_BACKEND=null; fi; timeout 1200 npx tsx bench/gpu-host-cost.ts --workload $w --batch $b --reps $reps 2>&1 | grep -v "^Warning\|^ - \|^validation\|^out of memory\|^Out of\|^\[Invalid\|^    at " > $f )
      echo "$(date -u +%T) $f $(grep median $f | cut -c1-120)"
    done
  done
done
