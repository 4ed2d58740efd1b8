#!/bin/sh
# VKDNW and jacob_cov (vkdnw_agg's extra members) on the 200 selection cells and on the 700
# evaluation cells that 2026-12-04/run-vkdnw.sh left out (its 300 + these 700 = the 1000
# evaluation cells), params (a host count) on all 1200. Run from the repository root of a checkout
# of the commit in commit.txt; resumable (--resume); every list has its own CSV.
# How it ran (2026-12-04, shared 2-core machine, load average 12-17 from other jobs): one process
# per list, at nice 10, one CPU thread each (with two OpenMP threads a process spent its time
# waiting for the other thread under that load). eval-rest-head.txt + eval-rest-tail.txt =
# eval-rest.txt (lines 1-350, 351-700); eval-rest-b.txt / -d.txt are lines 176-350 / 526-700,
# started 20:19 so that both halves progress (a cell scored twice is joined once); b and d were
# paused 20:24-20:57 (memory), select-b.txt / -c.txt (select.txt lines 141-170 / 171-200) ran
# 20:22-21:05 so that the selection cells came first; at 21:05 (the selection ran) the selection
# processes stopped and eval-rest-e.txt / -f.txt (eval-rest.txt lines 100-175 / 440-525) started.
# All were stopped at the deadline; the CSVs hold what was scored by then.
# The stored eval-params.csv is gzipped (eval-params.csv.gz): gunzip -k it before a --resume.
D=${D:-bench/results/ranking/2026-12-04-2}
OUT=${OUT:-$D}
S="nice -n 10 npx tsx src/cli/main.ts score --proxies vkdnw,jacob_cov --batch 64 --seed 0 --device cpu --cpu-threads 1 --resume --quiet"
$S --archs $D/select.txt --out $OUT/select-vkdnw-scores.csv &
$S --archs $D/eval-rest-head.txt --out $OUT/eval-rest-vkdnw-scores.csv &
$S --archs $D/eval-rest-b.txt --out $OUT/eval-rest-b-vkdnw-scores.csv &
$S --archs $D/eval-rest-tail.txt --out $OUT/eval-rest-tail-vkdnw-scores.csv &
$S --archs $D/eval-rest-d.txt --out $OUT/eval-rest-d-vkdnw-scores.csv &
$S --archs $D/select-b.txt --out $OUT/select-b-vkdnw-scores.csv &
$S --archs $D/select-c.txt --out $OUT/select-c-vkdnw-scores.csv &
$S --archs $D/eval-rest-e.txt --out $OUT/eval-rest-e-vkdnw-scores.csv &
$S --archs $D/eval-rest-f.txt --out $OUT/eval-rest-f-vkdnw-scores.csv &
P="nice -n 10 npx tsx src/cli/main.ts score --proxies params --batch 64 --seed 0 --device cpu --resume --quiet"
$P --archs $D/select.txt --out $OUT/select-params.csv
$P --archs $D/../2026-12-04/eval.txt --out $OUT/eval-params.csv
wait
# After the selection (21:29-21:51, load ~4): the 325 evaluation cells not yet scored, in two lists.
$S --archs $D/eval-rest-g.txt --out $OUT/eval-rest-g-vkdnw-scores.csv &
$S --archs $D/eval-rest-h.txt --out $OUT/eval-rest-h-vkdnw-scores.csv &
wait
