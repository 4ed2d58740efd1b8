#!/usr/bin/env bash
# The device suite: every GPU figure in one run. On the GPU machine (after scripts/device-pack.sh here):
#   source .devcarry/env.sh && source .devrun/env.sh && bash scripts/device-suite.sh
# Locally on lavapipe (what CI-sized testing runs): SUITE_SIZE=tiny bash scripts/device-suite.sh
# Writes into $OUT (default ./out/device-suite): info*.json, bench.json/.md, roofline.svg, score-*.csv, suite.log.
# Each step has its own time limit so one slow step cannot eat the others' time.
set -uo pipefail
out="${OUT:-out/device-suite}"; mkdir -p "$out"
size="${SUITE_SIZE:-large}"
if [ "$size" = tiny ]; then
  shapes=tiny; cells=3; gcells=4; group=2; batch=8; net="--cells-per-stage 1 --channels 8"; tb=300; ts=300
else
  shapes=large; cells="${SUITE_CELLS:-64}"; gcells="${SUITE_GROUP_CELLS:-512}"; group="${SUITE_GROUP:-16}"; batch=64; net=""
  tb="${SUITE_BENCH_S:-180}"; ts="${SUITE_SCORE_S:-90}"
fi
W="${WGNAS_CLI:-npx tsx src/cli/main.ts}"  # .devrun/env.sh points this at the bundle
log() { echo "[suite $(date +%T)] $*" | tee -a "$out/suite.log" >&2; }
step() { # name seconds cmd...
  local name=$1 s=$2; shift 2; local t0=$SECONDS
  log "start $name (limit ${s}s)"
  timeout -k 5 "$s" "$@"; local rc=$?
  log "end $name rc=$rc in $((SECONDS - t0))s"
  [ "$rc" = 0 ] || fails=$((fails + 1))
}
fails=0
log "cli=$W size=$size shapes=$shapes cells=$cells grouped=$gcells group=$group batch=$batch"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$out/nvidia-smi.csv" 2>&1
step info 30 bash -c "$W info --json > '$out/info.json'"
step info-unsafe 30 bash -c "WGNAS_DAWN_FLAGS='enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia' $W info --json > '$out/info-unsafe.json'"
step score-1 "$ts" $W score --sample "$cells" --ground-truth --batch "$batch" --seed 0 $net --out "$out/score-group1.csv"
step score-g "$ts" $W score --sample "$gcells" --ground-truth --batch "$batch" --seed 0 $net --group "$group" --out "$out/score-group$group.csv"
step bench "$tb" bash -c "$W bench all --shapes $shapes --baselines tfjs-webgpu --json '$out/bench.json' --svg '$out/roofline.svg' --markdown > '$out/bench.md'"
step summary 30 node scripts/device-summary.mjs "$out"
log "done, $fails failed step(s)"
[ "$fails" = 0 ]
