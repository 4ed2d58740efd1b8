#!/bin/sh
# VKDNW and jacob_cov (vkdnw_agg's extra members) on the first 300 evaluation cells; run from a checkout of commit a47386a; resumable.
D=/work/wt-ranking/bench/results/ranking/2026-12-04
npx tsx src/cli/main.ts score --archs $D/eval-vkdnw.txt --proxies vkdnw,jacob_cov --batch 64 --seed 0 --device cpu --out $D/eval-vkdnw-scores.csv --resume --quiet
