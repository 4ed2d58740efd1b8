#!/bin/sh
# AZ-NAS in its published setup (run.sh): correlations and paired differences. Run from the repository root.
# A = round two's rows of the same 1000 cells in our default setup (2026-12-04-2/eval-joined.csv.gz).
# The larger rows are stored gzipped (NAME.gz): correlate and ranking-join.ts read them as they are.
set -e
D=bench/results/ranking/2026-12-05/aznas-setup
E=bench/results/ranking/2026-12-04-2/eval-joined.csv.gz
AZ=az_nas_expressivity+az_nas_progressivity+az_nas_trainability+az_nas_complexity
C="npx tsx src/cli/main.ts correlate --bootstrap 1000 --bootstrap-seed 0"
# Each file's AZ-NAS aggregate over the cells both files have (ranks are relative to the population,
# so both over the same one), as two named columns: A.csv B.csv NAME_A NAME_B OUT
pair() {
  npx tsx scripts/ranking-join.ts --add "$3=$AZ" /tmp/az-pair-a.csv "$1" "$2" > /dev/null
  npx tsx scripts/ranking-join.ts --add "$4=$AZ" /tmp/az-pair-b.csv "$2" "$1" > /dev/null
  node -e '
const fs = require("fs");
const read = (f) => { const [h, ...ls] = fs.readFileSync(f, "utf8").trim().split("\n"); const c = h.split(",");
  return new Map(ls.map((l) => { const v = l.split(","); return [v[0], Object.fromEntries(c.map((k, i) => [k, v[i]]))]; })); };
const [a, b] = [read("/tmp/az-pair-a.csv"), read("/tmp/az-pair-b.csv")];
const [na, nb, out] = process.argv.slice(1);
const rows = [...a.keys()].filter((k) => b.has(k)).map((k) => [k, a.get(k)[na], b.get(k)[nb], a.get(k).val_acc].join(","));
const text = ["arch," + na + "," + nb + ",val_acc", ...rows].join("\n") + "\n";
fs.writeFileSync(out, out.endsWith(".gz") ? require("zlib").gzipSync(text, { level: 9 }) : text);
' "$3" "$4" "$5"
}
# B: the 1000 evaluation cells, AZ-NAS's setup; and against our default setup on the same cells.
$C --scores $D/az-kaiming-gaussian-seed1.csv.gz > $D/correlate-eval1000-kaiming-gaussian.txt
pair $E $D/az-kaiming-gaussian-seed1.csv.gz az_ours az_paper $D/eval1000-ours-vs-paper.csv.gz
$C --scores $D/eval1000-ours-vs-paper.csv.gz --paired > $D/paired-eval1000-ours-vs-paper.txt
# C: 1500 encodings drawn uniformly from the 15625 (AZ-NAS's population), AZ-NAS's setup.
$C --scores $D/enc-kaiming-gaussian-seed1.csv.gz > $D/correlate-encodings-kaiming-gaussian.txt
# D: the same encodings in our default setup, as far as it got; paired with C on the encodings both have.
if [ -s $D/enc-pytorch-data-seed0.csv.gz ]; then
  pair $D/enc-pytorch-data-seed0.csv.gz $D/enc-kaiming-gaussian-seed1.csv.gz az_ours az_paper $D/encodings-ours-vs-paper.csv.gz
  $C --scores $D/encodings-ours-vs-paper.csv.gz --paired > $D/paired-encodings-ours-vs-paper.txt
fi
rm -f /tmp/az-pair-a.csv /tmp/az-pair-b.csv
