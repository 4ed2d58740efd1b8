#!/bin/sh
# Round four's evaluation (protocol.md) from the stored rows; run from the repository root.
# fresh-a/-b hold the odd/even lines of fresh.txt in order: the longest prefix of fresh.txt both
# cover is taken (a's first k+1 rows and b's first k, or k and k), so the cells evaluated are a
# prefix of the fixed order whenever the scoring stopped. The rows are stored gzipped (fresh-a-scores.csv.gz...).
set -e
D=bench/results/ranking/2026-12-05
R2=wrcor+az_nas_expressivity+az_nas_trainability+az_nas_complexity+params+jacob_cov
na=$(($(zcat $D/fresh-a-scores.csv.gz | wc -l) - 1)); nb=$(($(zcat $D/fresh-b-scores.csv.gz | wc -l) - 1))
ka=$((na < nb + 1 ? na : nb + 1)); kb=$((nb < na ? nb : na))
{ zcat $D/fresh-a-scores.csv.gz | head -1; zcat $D/fresh-a-scores.csv.gz | tail -n +2 | head -n $ka; zcat $D/fresh-b-scores.csv.gz | tail -n +2 | head -n $kb; } > $D/fresh-scores.csv
echo "fresh cells: lines 1-$((ka + kb)) of fresh.txt ($ka from fresh-a, $kb from fresh-b)"
# Round two's ensemble as a column (the registry's 'ensemble' is round four's, recomputed by correlate).
npx tsx scripts/ranking-join.ts --add ensemble_r2=$R2 $D/fresh-joined.csv $D/fresh-scores.csv
C="npx tsx src/cli/main.ts correlate --bootstrap 1000 --bootstrap-seed 0"
$C --scores $D/fresh-joined.csv > $D/correlate-fresh-cifar10.txt
# Paired: round four's ensemble (the registry's, from its members) against round two's, VKDNW_agg and AZ-NAS.
$C --scores $D/fresh-joined.csv --proxies ensemble --versus ensemble_r2,vkdnw_agg,az_nas > $D/paired-fresh-cifar10.txt
# The derived CSVs are not kept (this script writes them again from the raw rows).
rm -f $D/fresh-scores.csv $D/fresh-joined.csv
