#!/usr/bin/env bash
# The device suite: every GPU figure in one run. On the GPU machine (after scripts/device-pack.sh here;
# carry [".devcarry", ".devrun"], timeout_s 600; the device returns at most 8 files, hence the tarball):
#   source .devcarry/env.sh && source .devrun/env.sh && SUITE_OUT=/tmp/suite SUITE_TAR=$OUT/suite.tgz \
#     bash scripts/device-suite.sh; cp /tmp/suite/summary.md $OUT/
# Locally on lavapipe (what CI-sized testing runs): SUITE_SIZE=tiny bash scripts/device-suite.sh
# (where no data root has CIFAR-10, e.g. a clone without ../shared/data, on the tracked fixture's 1000 images).
# Writes into $SUITE_OUT, else $OUT, else ./out/device-suite: info*.json, autotune.log, score-*.csv, kernel-profile.json,
# bench*.json/.md/.log (bench-conv-program/-legacy: the conv core A/B; bench-bn-64/-256/-256-single/-256-split: the batch norm width and plan A/B), roofline.svg, proxyless-step.txt, autospace-history.json,
# gpu-32/gpu-224 latency tables (.md/.json), imagenet-folder.json/.log (the 224 methods' images/s and memory),
# train-report.json/train.log (wgnas train of an NB201 cell: images/s), suite.log, summary.md
# (and, with SUITE_TAR=FILE, all of it as one .tgz).
# Each step has its own time limit so one slow step cannot eat the others' time; the limits of the
# large size add up to 730 s (info 15 s each, autotune 40, score-all 45, score-1 15, score-stacked 30,
# score-procs 15, score-profile 15, bench 160 (80 cut it at 39 of its 45 cases on an H100, before
# the sustained warm-up of each measurement and the batch-norm cases), conv-program and conv-legacy
# 45 each (18 s for the dense cases on an H100; the depthwise passes, k3-k7, since the program core
# has its own depthwise kernel), bench-bn-64, -256, -256-single and -256-split 15 each (10 cases of <= 231 MB, ~200 ms
# of warm-up each), bench-f16 45 (f32, f16 and tensor-core matmuls at
# 4096^3 and 8192^3 only), proxyless-step 30, autospace-step 20, imagenet 75 (batch 64, 128
# and 256 of three methods: 33 s for 64 and 128 on an H100), latency-gpu 50, summary 10), 750 s
# with train's 20 (wgnas train, the last step before the summary: the one skipped, said in
# suite.log and summary.md, when the others spent the budget; an H100 ran the whole suite in 305 s,
# most steps well inside their limits).
# A step cut by its limit may take 5 s more (timeout's kill grace), so the whole run also has a budget,
# SUITE_BUDGET_S (large: 550 s of the 570 s a device call gives it, the rest for unpacking
# .devcarry/.devrun before and copying out after): each step's limit is cut to what is left
# of it less 15 s, which the summary and the tarball keep, so a slow GPU loses its last steps' figures,
# not the whole run's (the call's limit would kill the run before its summary and tarball exist).
# The all-cells scoring run is cut by its limit on purpose when the GPU is too slow for all 15625
# cells: it streams its rows, and the summary counts what is there.
set -uo pipefail
out="${SUITE_OUT:-${OUT:-out/device-suite}}"
# A rerun on the same (warm) machine finds the last run's files, among them the all-cells CSV cut on
# purpose, which score refuses as interrupted: the last run is moved aside whole, never mixed in.
if [ -d "$out" ] && [ -n "$(ls -A "$out")" ]; then
  prev="$out.prev-$(date -u +%Y%m%dT%H%M%S)"; mv "$out" "$prev" && echo "suite: the last run's $out moved to $prev" >&2
fi
mkdir -p "$out"
size="${SUITE_SIZE:-large}"
[ "$size" = tiny ] && budget="${SUITE_BUDGET_S:-100000}" || budget="${SUITE_BUDGET_S:-550}"
if [ "$size" = tiny ]; then
  shapes=tiny; allsel="--sample 5"; allgroup=2; stackgroup=2; t_stack=300; parity=3; batch=8; net="--cells-per-stage 1 --channels 8"
  t_tune=0; t_lat=0; t_all=300; t_one=300; t_procs=300; procs_sel="--sample 4"; procs=2; t_prof=300; prof_cells=3; t_bench=400; t_f16=300; t_conv=300; t_bn=300; t_steps=300; t_auto=300; t_img=300
  img_args="--batches 1 --steps 1 --per-class 2"
  steps_args="--layout cifar --batch 4 --steps 1"
  auto_args="--iterations 1 --steps 1 --warmup 1 --population 2 --k 2 --tournament 1 --batch 8 --train 16 --val 8 --replace-every 1 --min-evals 1 --guide 0"
  t_train=300; train_args="--channels 8 --cells-per-stage 1 --epochs 2 --batch 8 --train-images 16 --test-images 8"
else
  shapes=large; allsel="${SUITE_ALL:---all}"; allgroup="${SUITE_GROUP:-auto}"; parity="${SUITE_PARITY_CELLS:-32}"; batch=64; net=""
  t_tune="${SUITE_TUNE_S:-40}"; t_all="${SUITE_SCORE_S:-45}"; t_one="${SUITE_PARITY_S:-15}";
  stackgroup="${SUITE_STACKED_GROUP:-$allgroup}"; t_stack="${SUITE_STACKED_S:-30}"
  t_procs="${SUITE_PROCS_S:-15}"; procs="${SUITE_PROCS:-4}"; procs_sel="${SUITE_PROCS_SEL:-$allsel}";
  t_prof="${SUITE_PROFILE_S:-15}"; prof_cells="${SUITE_PROFILE_CELLS:-129}"; t_bench="${SUITE_BENCH_S:-160}"
  t_f16="${SUITE_F16_S:-45}"; t_conv="${SUITE_CONV_AB_S:-45}"; t_bn="${SUITE_BN_AB_S:-15}"; t_lat="${SUITE_LATENCY_S:-50}"; t_steps="${SUITE_STEPS_S:-30}"; t_auto="${SUITE_AUTOSPACE_S:-20}"
  t_img="${SUITE_IMAGENET_S:-75}"; img_args="--batches ${SUITE_IMAGENET_BATCHES:-64,128,256} --steps 2 --per-class 64"
  steps_args="--layout cifar --batch 64 --steps 3"
  auto_args="--iterations 1 --steps 3 --warmup 2 --population 4 --k 4 --batch 64 --train 2048 --val 512"
  # 2 epochs of 10 steps at NAS-Bench-201's batch: the second epoch's images/s, its compilation behind it.
  t_train="${SUITE_TRAIN_S:-20}"; train_args="--epochs 2 --batch 256 --train-images 2560 --test-images 200"
fi
W="${WGNAS_CLI:-npx tsx src/cli/main.ts}"                            # .devrun/env.sh points these at the bundles
S="${WGNAS_PROXYLESS_STEP:-npx tsx bench/proxyless-step.ts}"
I="${WGNAS_IMAGENET_BENCH:-npx tsx bench/imagenet-folder.ts}"
# Exposes shader-f16 and subgroup matrices on NVIDIA (the last toggle: subgroup matrices need Vulkan's memory model).
unsafe='enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia,use_vulkan_memory_model'
log() { echo "[suite $(date +%T)] $*" | tee -a "$out/suite.log" >&2; }
# step name seconds [partial] cmd...: 'partial' accepts a run cut by its time limit (rc 124).
step() {
  local name=$1 s=$2; shift 2; local partial=0 t0=$SECONDS
  [ "$1" = partial ] && { partial=1; shift; }
  # What the budget leaves: 5 s for timeout's kill grace, 15 s for the summary and the tarball (not the summary's own).
  local keep=15; [ "$name" = summary ] && keep=0
  local left=$((budget - SECONDS - 5 - keep))
  if [ "$left" -lt "$s" ]; then
    if [ "$left" -lt 3 ]; then log "skip $name: the suite's ${budget}s budget is spent"; fails=$((fails + 1)); return; fi
    log "$name limit ${s}s cut to ${left}s by the suite's ${budget}s budget"; s=$left
  fi
  log "start $name (limit ${s}s)"
  timeout -k 5 "$s" "$@" & step_pid=$! step_name=$name
  wait "$step_pid"; local rc=$?; step_pid=
  log "end $name rc=$rc in $((SECONDS - t0))s"
  if [ "$rc" = 124 ] && [ "$partial" = 1 ]; then log "$name cut by its limit (partial result kept)"; return; fi
  [ "$rc" = 0 ] || fails=$((fails + 1))
}
# The scoring and training steps read CIFAR-10 (the device's comes in .devrun: scripts/device-env.sh).
# Where the CLI's data roots have none (`wgnas data list`), the tiny size takes the tracked fixture
# (as the tests do) and the large one stops before any step. A listing that fails says nothing: the
# steps then name the problem themselves.
cifar=$(timeout 30 $W data list --json 2>/dev/null | node -e 'let s = "";
process.stdin.on("data", (d) => (s += d)).on("end", () => {
  try { const c = JSON.parse(s).find((d) => d.name === "cifar10"); process.stdout.write(c?.dir ?? "none"); } catch {}
});')
if [ "$cifar" = none ] && [ "$size" = tiny ]; then
  export WGNAS_DATA_DIR="$PWD/test/fixtures/cifar10-mini"
  log "no CIFAR-10 in the data roots (wgnas data list): WGNAS_DATA_DIR=$WGNAS_DATA_DIR, the tracked fixture (1000 training, 200 test images)"
elif [ "$cifar" = none ]; then
  log "no CIFAR-10 in the data roots (wgnas data list): run 'wgnas data fetch cifar10' (or set WGNAS_DATA_DIR; on a device, pack it with scripts/device-pack.sh), or SUITE_SIZE=tiny for the tracked fixture"
  exit 2
fi
# Ctrl-C or SIGTERM stops the suite, not just its step: timeout runs each step in a process group
# of its own, out of the terminal's reach, so the signal is passed to it; then the suite dies by it
# too (a script around it stops). A second signal leaves at once.
step_pid=
stop() {
  trap - INT TERM
  [ -z "$step_pid" ] || { kill -s "$1" "$step_pid" 2>/dev/null; wait "$step_pid"; }
  log "stopped by SIG$1${step_pid:+ in step $step_name}"
  kill -s "$1" $$
}
trap 'stop INT' INT
trap 'stop TERM' TERM
fails=0
log "cli=$W size=$size budget=${budget}s shapes=$shapes cells=[$allsel] group=$allgroup stacked-group=$stackgroup parity=$parity procs=$procs procs-cells=[$procs_sel] batch=$batch"
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv > "$out/nvidia-smi.csv" 2>&1
  # WebGPU does not report device memory: --group auto sizes its groups from half of it.
  mib=$(nvidia-smi --query-gpu=memory.total --format=csv,noheader,nounits 2>/dev/null | head -1 | tr -dc 0-9)
  [ -n "${WGNAS_GPU_MEMORY_BYTES:-}" ] || [ -z "$mib" ] || export WGNAS_GPU_MEMORY_BYTES=$((mib * 1048576 / 2))
fi
log "memory budget of --group auto: ${WGNAS_GPU_MEMORY_BYTES:-twice maxBufferSize, at most 16 GiB}"
step info 15 bash -c "$W info --json > '$out/info.json'"
# The compute steps name --device gpu: without an adapter they fail instead of running on the CPU backend.
if [ "$size" = large ] && grep -qiE 'llvmpipe|lavapipe|swiftshader' "$out/info.json" 2>/dev/null; then
  log "WARNING: the WebGPU adapter is a software one (info.json): these are not hardware GPU figures"
fi
step info-unsafe 15 bash -c "WGNAS_DAWN_FLAGS='$unsafe' $W info --json > '$out/info-unsafe.json'"
# Tile tuning first (cached per adapter in WGNAS_CACHE_DIR), so every later step runs the tuned tile.
if [ "$t_tune" != 0 ]; then step autotune "$t_tune" bash -c "$W bench --autotune > '$out/autotune.log' 2>&1"; else log "autotune skipped at size $size"; fi
# WRCor over the cells (all of NAS-Bench-201 on a GPU), groups sized from the adapter's memory.
step score-all "$t_all" partial $W score --device gpu $allsel --batch "$batch" --seed 0 $net --group "$allgroup" --quiet --out "$out/score-all.csv"
# The first scored cells again, one at a time: grouped and ungrouped scores must agree.
if [ -s "$out/score-all.csv" ]; then
  tail -n +2 "$out/score-all.csv" | head -n "$parity" | cut -d, -f1 | tr -d '"' > "$out/parity-archs.txt"
  step score-1 "$t_one" $W score --device gpu --archs "$out/parity-archs.txt" --batch "$batch" --seed 0 $net --group 1 --quiet --out "$out/score-group1.csv"
else
  log "score-1 skipped: no rows in score-all.csv"; fails=$((fails + 1))
fi
# The same cells (30 s) with each group run as ONE channel-stacked network (--group-mode
# stacked: about one network's dispatches per group, ~4x the conv FLOPs): side by side with score-all.
step score-stacked "$t_stack" partial $W score --device gpu $allsel --batch "$batch" --seed 0 $net --group "$stackgroup" --group-mode stacked --quiet --out "$out/score-stacked.csv"
# The same scoring from several processes sharing the GPU (each records its own groups): whether one
# process's host recording is the bound. Rows stream, so a run cut by its limit still counts. The
# same cells as score-all (large size), so that cells/s compare like for like: a random sample
# (run1 on an H100 used --sample 2000) holds heavier cells than --all's first thousands.
step score-procs "$t_procs" partial $W score --device gpu $procs_sel --batch "$batch" --seed 0 $net --group "$allgroup" --procs "$procs" --quiet --out "$out/score-procs.csv"
# Where a grouped cell's time goes: each dispatch timed in its own pass, host recording counted (after the probe and the first group).
step score-profile "$t_prof" $W score --device gpu --sample "$prof_cells" --batch "$batch" --seed 0 $net --group "$allgroup" --quiet --kernel-profile "$out/kernel-profile.json" --out "$out/score-profile.csv"
step bench "$t_bench" bash -c "$W bench matmul correlation conv2d conv2d-bwd-input conv2d-bwd-weight depthwise depthwise-bwd-input depthwise-bwd-weight gate-dot fitness-mix fitness-mix-bwd fma copy --shapes $shapes --baselines tfjs-webgpu --json '$out/bench.json' --svg '$out/roofline.svg' --markdown > '$out/bench.md' 2> '$out/bench.log'"
# The convolution cores side by side (issue 17): the generated programs (default) and the legacy
# hand-written core (WGNAS_CONV_CORE=legacy), ours only, on the same shapes; summary.md puts them in one table.
for core in program legacy; do
  step "conv-$core" "$t_conv" bash -c "WGNAS_CONV_CORE=$core $W bench conv2d conv2d-bwd-input conv2d-bwd-weight depthwise depthwise-bwd-input depthwise-bwd-weight --shapes $shapes --baselines none --repeats 5 --warmup 2 --json '$out/bench-conv-$core.json' --markdown > '$out/bench-conv-$core.md' 2> '$out/bench-conv-$core.log'"
done
# Batch norm's statistics kernels at width 64 (the plan before they were widened on GPUs; what
# software adapters keep) and 256 (a GPU's default now) under each dispatch plan (WGNAS_BN_PLAN:
# auto, the default; single, one kernel per channel up to 16384 elements; split, always two
# kernels), ours only, on the same shapes (NB201's stages at batch 64, two MBConv layers);
# summary.md puts them in one table.
for run in 64 256 256-single 256-split; do
  wg=${run%%-*}; plan=auto; [ "$run" = "$wg" ] || plan=${run#*-}
  step "bench-bn-$run" "$t_bn" bash -c "WGNAS_BN_WG=$wg WGNAS_BN_PLAN=$plan $W bench batchnorm batchnorm-bwd --shapes $shapes --baselines none --repeats 5 --warmup 2 --json '$out/bench-bn-$run.json' --markdown > '$out/bench-bn-$run.md' 2> '$out/bench-bn-$run.log'"
done
# f16 operands (and what the unsafe Dawn features expose) against our f32 matmul on the same shapes.
# With the tensor-core (subgroup-matrix) matmuls where the unsafe features expose them, side by side in one run.
[ "$size" = tiny ] && only="" || only="--only 4096x4096x4096,8192x8192x8192"
step bench-f16 "$t_f16" bash -c "WGNAS_DAWN_FLAGS='$unsafe' $W bench matmul matmul-f16 matmul-sgmat matmul-sgmat-staged --shapes $shapes $only --baselines tfjs-webgpu --repeats 5 --json '$out/bench-f16.json' --markdown > '$out/bench-f16.md' 2> '$out/bench-f16.log'"
step proxyless-step "$t_steps" bash -c "$S $steps_args --tfjs > '$out/proxyless-step.txt'"
step autospace-step "$t_auto" $W evolve-space --device gpu --budget-madds 12M $auto_args --history "$out/autospace-history.json" --out "$out/autospace-space.json"
# The ImageNet-layout methods at 224 (proxyless, evolve-space, zero-shot): images/s and memory per batch.
step imagenet "$t_img" bash -c "$I --device gpu $img_args --out '$out/imagenet-folder.json' 2> '$out/imagenet-folder.log'"
if [ "$t_lat" != 0 ] && [ -f .devrun/lpt.mjs.xz ]; then step latency-gpu "$t_lat" bash -c "OUT='$out' LPT_TIMEOUT_S=$((t_lat / 2 - 2)) bash scripts/device-latency-gpu.sh run"; fi
# wgnas train of NAS-Bench-201's best CIFAR-10 cell on the bundled subset (C=16, N=5 at size large;
# the device's test split is the fixture's 200 images, scripts/device-env.sh):
# report.json's epochs give images/s (summary.md); its epoch lines stay in train.log if the step is cut.
# Only the report is kept (weights and checkpoint would swell the tarball).
step train "$t_train" bash -c "$W train --device gpu --nb201 '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|' $train_args --latency-runs 0 --out '$out/train' > /dev/null 2> '$out/train.log' && cp '$out/train/report.json' '$out/train-report.json'"
rm -rf "$out/train"
step summary 10 node scripts/device-summary.mjs "$out"
log "done, $fails failed step(s)"
[ -z "${SUITE_TAR:-}" ] || tar czf "$SUITE_TAR" -C "$out" .
[ "$fails" = 0 ]
