#!/bin/sh
# Paired comparison on every held-out cell scored (issue 21): round two's 1000 evaluation cells
# (2026-12-04-2/eval-joined.csv.gz) plus the next cells of the same split scored by run.sh
# (more-a/-b-scores.csv.gz, as far as they got), and on those new cells alone. The aggregates
# (ensemble, vkdnw_agg, az_nas) are computed by correlate on each file set's whole population.
# Run from the repository root.
set -e
D=bench/results/ranking/2026-12-04-3
E=bench/results/ranking/2026-12-04-2/eval-joined.csv.gz
P="--proxies ensemble,vkdnw_agg --versus vkdnw_agg,az_nas --bootstrap 1000 --bootstrap-seed 0"
C="npx tsx src/cli/main.ts correlate"
$C --scores $E --scores $D/more-a-scores.csv.gz --scores $D/more-b-scores.csv.gz $P > $D/paired-all-cifar10.txt
$C --scores $D/more-a-scores.csv.gz --scores $D/more-b-scores.csv.gz $P > $D/paired-more-cifar10.txt
