#!/bin/sh
# Round four of issue 21 (protocol.md): every member of the ensembles, VKDNW_agg and AZ-NAS on the
# fresh cells, two processes (odd / even lines of fresh.txt), resumable (--resume). Settings as
# rounds one to three (batch 64, seed 0, CPU backend, one thread per process, nice 10). Run from the
# repository root of a checkout of the commit in commit.txt.
# The lists and rows are stored gzipped (fresh-a.txt.gz, fresh-a-scores.csv.gz...): gunzip -k the rows before a --resume.
D=${D:-bench/results/ranking/2026-12-05}
S="nice -n 10 npx tsx src/cli/main.ts score --proxies wrcor,az_nas_expressivity,az_nas_progressivity,az_nas_trainability,az_nas_complexity,vkdnw,jacob_cov,params --batch 64 --seed 0 --device cpu --cpu-threads 1 --resume --quiet"
$S --archs $D/fresh-a.txt.gz --out $D/fresh-a-scores.csv &
$S --archs $D/fresh-b.txt.gz --out $D/fresh-b-scores.csv &
wait
