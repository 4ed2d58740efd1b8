#!/bin/sh
# Ranking study (issue 21). Run from a checkout of the commit in commit.txt; resumable (--resume).
# The stored eval-scores.csv is gzipped (eval-scores.csv.gz): gunzip -k it before a --resume.
set -e
D=/work/wt-ranking/bench/results/ranking/2026-12-04
npx tsx src/cli/main.ts score --archs $D/select.txt --proxies wrcor,naswot,az_nas_expressivity,az_nas_progressivity,az_nas_trainability,az_nas_complexity --batch 64 --seed 0 --device cpu --out $D/select-scores.csv --resume --quiet
npx tsx src/cli/main.ts score --archs $D/eval.txt --proxies wrcor,naswot,az_nas_expressivity,az_nas_progressivity,az_nas_trainability,az_nas_complexity --batch 64 --seed 0 --device cpu --out $D/eval-scores.csv --resume --quiet
