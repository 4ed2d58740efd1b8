#!/bin/sh
# Round four's evaluation (protocol.md) from the stored rows; run from the repository root.
# fresh-a/-b hold the odd/even lines of fresh.txt in order: the longest prefix of fresh.txt both
# cover is taken (a's first k+1 rows and b's first k, or k and k), so the cells evaluated are a
# prefix of the fixed order whenever the scoring stopped.
set -e
D=bench/results/ranking/2026-12-05
R2=wrcor+az_nas_expressivity+az_nas_trainability+az_nas_complexity+params+jacob_cov
na=$(($(wc -l < $D/fresh-a-scores.csv) - 1)); nb=$(($(wc -l < $D/fresh-b-scores.csv) - 1))
ka=$((na < nb + 1 ? na : nb + 1)); kb=$((nb < na ? nb : na))
{ head -1 $D/fresh-a-scores.csv; tail -n +2 $D/fresh-a-scores.csv | head -n $ka; tail -n +2 $D/fresh-b-scores.csv | head -n $kb; } > $D/fresh-scores.csv
echo "fresh cells: lines 1-$((ka + kb)) of fresh.txt ($ka from fresh-a, $kb from fresh-b)"
# Round two's ensemble as a column (the registry's 'ensemble' is round four's, recomputed by correlate).
npx tsx scripts/ranking-join.ts --add ensemble_r2=$R2 $D/fresh-joined.csv $D/fresh-scores.csv
C="npx tsx src/cli/main.ts correlate --bootstrap 1000 --bootstrap-seed 0"
$C --scores $D/fresh-joined.csv > $D/correlate-fresh-cifar10.txt
$C --scores $D/fresh-scores.csv --proxies ensemble --versus vkdnw_agg,az_nas > $D/paired-fresh-cifar10.txt
# Round four's ensemble against round two's on the same cells (two columns, --paired).
npx tsx scripts/ranking-join.ts --add ensemble_r4=$R2+az_nas_progressivity --add ensemble_r2=$R2 $D/fresh-r4r2-full.csv $D/fresh-scores.csv > /dev/null
node -e '
const fs=require("fs");const [h,...ls]=fs.readFileSync(process.argv[1],"utf8").trim().split("\n");const c=h.split(",");
const k=["arch","ensemble_r4","ensemble_r2","val_acc"].map(n=>c.indexOf(n));
fs.writeFileSync(process.argv[2],[k.map(i=>c[i]).join(","),...ls.map(l=>{const v=l.split(",");return k.map(i=>v[i]).join(",")})].join("\n")+"\n");
' $D/fresh-r4r2-full.csv $D/fresh-r4r2.csv
rm $D/fresh-r4r2-full.csv
$C --scores $D/fresh-r4r2.csv --paired > $D/paired-r4-r2-fresh-cifar10.txt
