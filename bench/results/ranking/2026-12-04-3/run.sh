#!/bin/sh
# Round three (issue 21, paired comparison): the ensemble's, VKDNW_agg's and AZ-NAS's members on
# held-out cells never used for selection nor in round two's evaluation: the next cells of the same
# split rule (scripts/ranking-cells.ts DIR 4000 2026 writes the same select.txt and, as the first
# 1000 lines of its eval.txt, the same 2026-12-04/eval.txt; lines 1001-4000 are new). more-a.txt /
# more-b.txt = the odd / even lines of those 3000 new cells, so that the two processes together
# cover a prefix of that fixed order whenever they are stopped. Run from the repository root of a
# checkout of the commit in commit.txt; resumable (--resume). Settings as round one / two (batch 64,
# seed 0, CPU backend, one thread per process, nice 10 on the shared 2-core machine).
# How it ran: 2026-12-04 22:27 to 2026-12-05 00:09 UTC (load average 11-18 from other jobs), stopped
# at the deadline with 726 + 725 rows: lines 1-1451 of the 3000 new cells (eval lines 1001-2451).
# The lists and rows are stored gzipped (more-a.txt.gz, more-a-scores.csv.gz...): gunzip -k the rows before a --resume.
D=${D:-bench/results/ranking/2026-12-04-3}
S="nice -n 10 npx tsx src/cli/main.ts score --proxies wrcor,az_nas_expressivity,az_nas_progressivity,az_nas_trainability,az_nas_complexity,vkdnw,jacob_cov,params --batch 64 --seed 0 --device cpu --cpu-threads 1 --resume --quiet"
$S --archs $D/more-a.txt.gz --out $D/more-a-scores.csv &
$S --archs $D/more-b.txt.gz --out $D/more-b-scores.csv &
wait
