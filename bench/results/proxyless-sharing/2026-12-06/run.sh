#!/bin/sh
# The runs of docs/results.md "Why the supernet stays near chance" (2026-12-06, CPU backend, 1 thread;
# the 2-core shared VM). WGNAS_DATA_DIR=../shared/data: the bundled 5000-image CIFAR-10 subset.
D=bench/results/proxyless-sharing/2026-12-06
run() { name=$1; shift; npx tsx bench/proxyless-sharing.ts "$@" --out $D/$name.json > $D/$name.txt 2>&1; }
run one --copies 1
run pin --copies 2 --pin
run dup --copies 2
run tie --copies 2 --tie
run one-lr0.01 --copies 1 --lr 0.01
run tie-lr0.01 --copies 2 --tie --lr 0.01
run dup-600 --copies 2 --steps 600
# The default search space (7 candidates per block), defaults but the warm-up (cli-*.txt; run at
# cdd0fee plus this branch's uncommitted changes, which leave the weight step as it was):
T=../shared/data/latency/proxylessnas_mobile_trim.yaml
for lr in 0.01 0.05; do
  wgnas proxyless --latency-table $T --target-ms 60 --device cpu --cpu-threads 1 --warmup 1200 --warmup-lr $lr --steps 1 --log-every 100 > $D/cli-warmup1200-lr$lr.txt 2>&1
done
for lr in 0.2 0.5; do
  wgnas proxyless --latency-table $T --target-ms 60 --device cpu --cpu-threads 1 --warmup 1200 --warmup-lr $lr --steps 1 --log-every 300 > $D/cli-warmup1200-lr$lr.txt 2>&1
done
wgnas proxyless --latency-table $T --target-ms 60 --device cpu --cpu-threads 1 --warmup 4000 --steps 1 --log-every 250 > $D/cli-warmup4000.txt 2>&1
# Before space files refused a repeated cell: the reviewer's one.json / dup.json (one MBConv k3 e6 per
# layer / two copies of it), 150 warm-up steps, no augmentation or label smoothing (2 threads).
for f in one dup; do
  wgnas proxyless --space-file $f.json --target-madds 5 --warmup 150 --steps 1 --no-augment --label-smoothing 0 --device cpu --log-every 25 > $D/cli-space-$f.txt 2>&1
done
