#!/bin/sh
# AZ-NAS in its published setup (issue 21, docs/results.md "AZ-NAS in its own setup"). Its notebook
# (cvlab-yonsei/AZ-NAS NB201/tss_general.ipynb) scores every one of the 15625 encodings with
# kaiming-normal weights on 64 N(0, 1) images, seed 1. Runs, in this order (resumable, --resume):
#  B: round two's 1000 evaluation cells (cells.txt), kaiming + gaussian, seed 1
#  C: 1500 encodings drawn uniformly from the 15625 (encodings.txt, scripts/ranking-encodings.ts
#     OUT 1500 2027: 1040 distinct cells), kaiming + gaussian, seed 1
#  D: the same encodings in our default setup (PyTorch init, CIFAR-10 images, seed 0)
# (A, the cells of B in our default setup, is round two's eval-joined.csv.gz.)
# encodings.txt and the larger rows are stored gzipped (NAME.gz): gunzip -k the rows before a --resume.
# Batch 64, CPU backend, one thread, nice 10. Run from the repository root.
D=${D:-bench/results/ranking/2026-12-05/aznas-setup}
S="nice -n 10 npx tsx src/cli/main.ts score --proxies az_nas --batch 64 --device cpu --cpu-threads 1 --resume --quiet"
$S --archs $D/cells.txt --init kaiming --inputs gaussian --seed 1 --out $D/az-kaiming-gaussian-seed1.csv
$S --archs $D/encodings.txt.gz --init kaiming --inputs gaussian --seed 1 --out $D/enc-kaiming-gaussian-seed1.csv
$S --archs $D/encodings.txt.gz --init pytorch --inputs data --seed 0 --out $D/enc-pytorch-data-seed0.csv
