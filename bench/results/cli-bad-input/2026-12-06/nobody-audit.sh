#!/bin/bash
# Unreadable inputs (chmod 000) and outputs in a read-only folder, run as the unprivileged user nobody
# (root reads and writes through the permissions).
set -u
cd "${AUDIT_REPO:-$(dirname "$0")/../../../..}"
A='|nor_conv_3x3~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|'
T=data/latency/proxylessnas_mobile_trim.yaml
N=data/latency/proxylessnas_proxyless_mobile.config
D=$(mktemp -d); chmod 755 $D
node bin/wgnas.js evolve-space --hand-designed --out $D/hand.json >/dev/null
for f in u.txt u.csv u.yaml u.json u.config; do echo x > $D/$f; chmod 000 $D/$f; done
mkdir $D/ro; chmod 555 $D/ro
R=$D/ro
run() { # label args...
  local label=$1; shift
  # shellcheck disable=SC2086 # RUN_ENV: NAME=VALUE words for env
  local out; out=$(timeout 60 runuser -u nobody -- env HOME=/tmp ${RUN_ENV:-} node bin/wgnas.js "$@" 2>&1 >/dev/null); local rc=$?
  local lines; lines=$(printf '%s' "$out" | grep -c .)
  local stack; stack=$(printf '%s' "$out" | grep -c '^    at ')
  printf '%s\t%s\t%s\t%s\t%s\n' "$label" "$rc" "$lines" "$stack" "$(printf '%s' "$out" | head -1 | cut -c1-250)"
}
run "score --archs unreadable" score --archs $D/u.txt --device cpu
run "correlate --scores unreadable" correlate --scores $D/u.csv
run "search --space-file unreadable" search --space-file $D/u.json --budget-madds 3M --device cpu
run "search --latency-table unreadable" search --space proxyless --latency-table $D/u.yaml --target-ms 40 --device cpu
run "proxyless --latency-table unreadable" proxyless --latency-table $D/u.yaml --target-ms 40 --device cpu
run "proxyless --space-file unreadable" proxyless --space-file $D/u.json --target-madds 3 --device cpu
run "profile --space-file unreadable" profile --space-file $D/u.json --out $D/t.yaml --device cpu
run "profile --net unreadable" profile --net $D/u.config --out $D/t.yaml --device cpu
run "profile --identity unreadable" profile --target ssh://127.0.0.1:1 --identity $D/u.txt --out $D/t.yaml
run "profile --known-hosts unreadable" profile --target ssh://127.0.0.1:1 --known-hosts $D/u.txt --out $D/t.yaml
run "predict --table unreadable" predict --table $D/u.yaml --net $N
run "predict --net unreadable" predict --table $T --net $D/u.config
run "train --net unreadable" train --net $D/u.config --out $D/tr --device cpu
run "export --net unreadable" export --net $D/u.config --out $D/m.onnx
run "export --weights unreadable" export --nb201 "$A" --weights $D/u.json --out $D/m.onnx
run "bench --compare unreadable" bench matmul --compare $D/u.json --device cpu --baselines none
run "score --out read-only dir" score --arch "$A" --device cpu --out $R/s.csv
run "score --kernel-profile read-only dir" score --arch "$A" --device cpu --kernel-profile $R/k.json
run "correlate --out read-only dir" correlate --sample 3 --device cpu --out $R/c.csv
run "search --out read-only dir" search --budget 2 --device cpu --out $R/o.json
run "search --evaluated read-only dir" search --budget 2 --device cpu --evaluated $R/e.csv
run "search --train-out read-only dir" search --budget 2 --device cpu --train-epochs 1 --train-out $R/t
run "proxyless --out read-only dir" proxyless --latency-table $T --target-ms 40 --device cpu --out $R/o.config
run "proxyless --plot read-only dir" proxyless --latency-table $T --target-ms 40 --device cpu --plot $R/p.svg
run "proxyless --checkpoint read-only dir" proxyless --latency-table $T --target-ms 40 --device cpu --checkpoint $R/ck
run "evolve-space --out read-only dir" evolve-space --budget-madds 3M --device cpu --out $R/s.json
run "evolve-space --history read-only dir" evolve-space --budget-madds 3M --device cpu --history $R/h.json
run "evolve-space --checkpoint read-only dir" evolve-space --budget-madds 3M --device cpu --checkpoint $R/ck
run "profile --out read-only dir" profile --out $R/t.yaml --device cpu
run "train --out read-only dir" train --nb201 "$A" --out $R/tr --device cpu
run "train --out read-only existing dir" train --nb201 "$A" --out $R --device cpu
run "export --out read-only dir" export --nb201 "$A" --out $R/m.onnx
run "bench --json read-only dir" bench matmul --device cpu --baselines none --json $R/b.json
run "bench --svg read-only dir" bench matmul --device cpu --baselines none --svg $R/b.svg
run "data fetch --dir read-only dir" data fetch cifar10 --dir $R/d
run "data fetch --dir read-only existing" data fetch cifar10 --dir $R
RUN_ENV="WGNAS_CACHE_DIR=$R/c" run "WGNAS_CACHE_DIR in a read-only folder (data fetch)" data fetch cifar10
chmod -R u+w $D; rm -rf $D
