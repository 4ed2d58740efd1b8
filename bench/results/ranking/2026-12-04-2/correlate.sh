#!/bin/sh
# Round-two selection and evaluation from the stored rows (run from the worktree root).
# Large files are stored gzipped (NAME.gz; correlate and ranking-join.ts read them as they are).
# SEL: the subset ranking-select.ts picked (selection.txt), written here after the selection ran.
set -e
D=bench/results/ranking/2026-12-04-2
R1=bench/results/ranking/2026-12-04
SEL=${SEL:?set SEL to the selected members, a+b+c}
C="npx tsx src/cli/main.ts correlate --bootstrap 1000 --bootstrap-seed 0"
# Every VKDNW row of the evaluation cells: round one's 300, then this round's lists.
{ head -1 $R1/eval-vkdnw-scores.csv; for f in $R1/eval-vkdnw-scores.csv $D/eval-rest-vkdnw-scores.csv $D/eval-rest-b-vkdnw-scores.csv $D/eval-rest-tail-vkdnw-scores.csv $D/eval-rest-d-vkdnw-scores.csv $D/eval-rest-e-vkdnw-scores.csv $D/eval-rest-f-vkdnw-scores.csv $D/eval-rest-g-vkdnw-scores.csv $D/eval-rest-h-vkdnw-scores.csv; do if [ -f $f ]; then tail -n +2 $f; fi; done; } | gzip -9n > $D/eval-vkdnw-all.csv.gz
{ head -1 $D/select-vkdnw-scores.csv; for f in $D/select-vkdnw-scores.csv $D/select-b-vkdnw-scores.csv $D/select-c-vkdnw-scores.csv; do if [ -f $f ]; then tail -n +2 $f; fi; done; } > $D/select-vkdnw-all.csv
npx tsx scripts/ranking-join.ts --add ensemble_r1=wrcor+az_nas_expressivity+az_nas_trainability+az_nas_complexity --add ensemble_r2=$SEL \
  $D/select-joined.csv $R1/select-scores.csv $D/select-vkdnw-all.csv $D/select-params.csv
npx tsx scripts/ranking-join.ts --add ensemble_r1=wrcor+az_nas_expressivity+az_nas_trainability+az_nas_complexity --add ensemble_r2=$SEL \
  $D/eval-joined.csv.gz $R1/eval-scores.csv.gz $D/eval-vkdnw-all.csv.gz $D/eval-params.csv.gz
$C --scores $D/select-joined.csv > $D/correlate-select-cifar10.txt
$C --scores $D/eval-joined.csv.gz > $D/correlate-eval-cifar10.txt
$C --scores $D/eval-joined.csv.gz --dataset cifar100 > $D/correlate-eval-cifar100.txt
$C --scores $D/eval-joined.csv.gz --dataset ImageNet16-120 > $D/correlate-eval-imagenet16.txt
