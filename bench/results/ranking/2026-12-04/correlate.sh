#!/bin/sh
# Correlations of the ranking study from the stored rows (run from the worktree root).
D=bench/results/ranking/2026-12-04
C="npx tsx src/cli/main.ts correlate --bootstrap 1000 --bootstrap-seed 0"
$C --scores $D/select-scores.csv > $D/correlate-select-cifar10.txt
$C --scores $D/eval-scores.csv.gz > $D/correlate-eval-cifar10.txt
$C --scores $D/eval-scores.csv.gz --dataset cifar100 > $D/correlate-eval-cifar100.txt
$C --scores $D/eval-scores.csv.gz --dataset ImageNet16-120 > $D/correlate-eval-imagenet16.txt
npx tsx scripts/ranking-join.ts $D/eval-joined-vkdnw.csv $D/eval-scores.csv.gz $D/eval-vkdnw-scores.csv
$C --scores $D/eval-joined-vkdnw.csv > $D/correlate-vkdnw-cifar10.txt
$C --scores $D/eval-joined-vkdnw.csv --dataset cifar100 > $D/correlate-vkdnw-cifar100.txt
$C --scores $D/eval-joined-vkdnw.csv --dataset ImageNet16-120 > $D/correlate-vkdnw-imagenet16.txt
