/**
 * Every file wgnas writes goes through src/util/durable.ts (docs/reliability.md, "Atomic files"):
 * no module of src/ writes with node:fs directly, nor do the bench and scripts that write result
 * files (a few write test inputs, temporary files or a resumable download, listed here with why).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { expect, it } from 'vitest';
import { repoRoot } from '../../src/data/paths.js';

const ROOT = repoRoot();
// Also the descriptor-level writes: writeSync / fs.write, openSync for writing or appending, and a
// FileHandle's write (`.write(` on anything but a stream is caught by the first two).
const RAW =
  /\b(writeFileSync|appendFileSync|createWriteStream|writeFile|appendFile|copyFileSync|cpSync|writeSync|writevSync)\s*\(|\.toFile\s*\(|\bopenSync\s*\([^)]*['"][wa]\+?['"]/;

/** Files allowed to write directly, and why. */
const ALLOWED: Record<string, string> = {
  'src/util/durable.ts': 'the primitives themselves',
  'src/data/download.ts': 'a partial download appended where it stopped (resumable; MD5-checked, then renamed into place)',
  'bench/cpu-vs-torch.ts': 'an input batch for the PyTorch child, in a fresh mkdtemp folder',
  'scripts/kill-audit.ts': 'old outputs and a mirror it builds in its own mkdtemp folder',
  'scripts/device-summary.mjs': 'the device suite summary (not this audit\u2019s to change)',
};

function* sources(dir: string, deep: boolean): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      if (deep) yield* sources(p, deep);
    } else if (/\.(ts|mts|mjs)$/.test(e.name)) yield relative(ROOT, p);
  }
}

it('only src/util/durable.ts writes files with node:fs (src, bench, scripts)', () => {
  const files = [
    ...sources(join(ROOT, 'src'), true),
    ...sources(join(ROOT, 'bench'), true),
    ...sources(join(ROOT, 'scripts'), true),
  ];
  // bench/results holds raw material of past runs (one-off scripts beside their outputs), not tools.
  const tools = files.filter((f) => !f.startsWith('bench/results/'));
  const raw = tools.filter((f) => !(f in ALLOWED) && RAW.test(readFileSync(join(ROOT, f), 'utf8')));
  expect(raw).toEqual([]);
});
