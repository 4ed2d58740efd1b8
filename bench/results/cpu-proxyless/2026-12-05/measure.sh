#!/bin/bash
# Before (c0c392d, the branch's base: an exported tree at /tmp/h7-before with /work/main's addon) and
# after (wp-h7, its addon in /work/build-h7) interleaved; 1 thread, process CPU time, probe.mts (the
# ProxylessNAS step of bench/cpu-vs-torch.ts, 3 steps x 3 rounds after a warm-up over all 3 steps).
# "after-inputgrad": the new addon with the architecture step's input still requiring a gradient
# (the old tape work), to split the native changes from the backward cut.
set -u
export WGNAS_DATA_DIR=/work/shared/data
out=${OUT_DIR:-raw}; mkdir -p $out
here=bench/results/cpu-proxyless/2026-12-05
run() { # name tree addon input_grad extra-env...
  local name=$1 tree=$2 addon=$3 ig=$4; shift 4
  uptime > $out/$name.load
  ( cd $tree/$here && env "$@" WARM_ALL=1 INPUT_GRAD=$ig WGNAS_NATIVE_PATH=$addon npx tsx probe.mts $OLDPWD/$out/$name.json 3 3 > $OLDPWD/$out/$name.log 2>&1 )
  uptime >> $out/$name.load
}
B=/tmp/h7-before; A=/work/wt-h7
for r in ${ROUNDS:-1 2 3 4}; do
  run before-r$r $B /work/main/build/Release/wgnas_native.node 1
  run after-r$r $A /work/build-h7/Release/wgnas_native.node 0
  [ -n "${NO_INPUTGRAD:-}" ] || run after-inputgrad-r$r $A /work/build-h7/Release/wgnas_native.node 1
done
[ -n "${NO_PROFILE:-}" ] || run before-profile $B /work/main/build/Release/wgnas_native.node 1 PROFILE=1
[ -n "${NO_PROFILE:-}" ] || run after-profile $A /work/build-h7/Release/wgnas_native.node 0 PROFILE=1
