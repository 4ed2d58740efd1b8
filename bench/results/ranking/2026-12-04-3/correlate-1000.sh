#!/bin/sh
# Paired comparison on round two's 1000 evaluation cells (issue 21): the ensemble (as chosen in
# 2026-12-04-2/selection.txt, unchanged) against VKDNW_agg and AZ-NAS, all three aggregated by
# correlate from the same member columns of 2026-12-04-2/eval-joined.csv.gz. Run from the repository root.
set -e
D=bench/results/ranking/2026-12-04-3
E=bench/results/ranking/2026-12-04-2/eval-joined.csv.gz
C="npx tsx src/cli/main.ts correlate --scores $E --proxies ensemble,vkdnw_agg --versus vkdnw_agg,az_nas --bootstrap 1000 --bootstrap-seed 0"
$C > $D/paired-eval1000-cifar10.txt
$C --dataset cifar100 > $D/paired-eval1000-cifar100.txt
$C --dataset ImageNet16-120 > $D/paired-eval1000-imagenet16.txt
