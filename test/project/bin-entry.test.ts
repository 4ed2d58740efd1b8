/**
 * bin/wgnas.js in a checkout without tsx (installed with npm ci --omit=dev): it runs dist/ where it
 * was built, else says in one line what to run instead of a module-resolution stack. Simulated by a
 * copy of bin/wgnas.js in a temporary folder with no node_modules above it (so tsx cannot resolve),
 * a src/cli/main.ts beside it as in a checkout, and a stand-in dist/cli/main.js where a case has one.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN } from '../helpers/paths.js';

const root = realpathSync(mkdtempSync(join(tmpdir(), 'wgnas-bin-')));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A checkout's skeleton in `root/name`: package.json (ESM), bin/wgnas.js and the files given. */
function checkout(name: string, files: Record<string, string>): string {
  const dir = join(root, name);
  mkdirSync(join(dir, 'bin'), { recursive: true });
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  copyFileSync(BIN, join(dir, 'bin', 'wgnas.js'));
  for (const [f, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    writeFileSync(join(dir, f), text);
  }
  return dir;
}

const run = (dir: string) => spawnSync(process.execPath, [join(dir, 'bin', 'wgnas.js'), '--version'], { encoding: 'utf8' });

const LINE =
  'wgnas: no compiled dist/ and no tsx to run src/ (a dev dependency: installed with --omit=dev?): run `npm ci` to install the dev dependencies, or `npm ci && npm run build:ts` to build dist/\n';

describe('bin/wgnas.js without tsx', () => {
  it('the simulation holds: no node_modules/tsx in any folder above the copies', () => {
    for (let d = root; ; d = dirname(d)) {
      expect(existsSync(join(d, 'node_modules', 'tsx')), d).toBe(false);
      if (dirname(d) === d) break;
    }
  });

  it('a checkout with src/ and no dist/ says what to run, in one line (exit 1)', () => {
    const r = run(checkout('bare', { 'src/cli/main.ts': 'throw new Error("src ran without tsx");\n' }));
    expect(r.stderr).toBe(LINE);
    expect(r.stdout).toBe('');
    expect(r.status).toBe(1);
  });

  it('a package without dist/ (nor src/) says the same', () => {
    const r = run(checkout('no-dist', {}));
    expect(r.stderr).toBe(LINE);
    expect(r.status).toBe(1);
  });

  it('a checkout with src/ and a built dist/ runs dist/', () => {
    const dir = checkout('built', {
      'src/cli/main.ts': 'throw new Error("src ran without tsx");\n',
      'dist/cli/main.js': 'console.log(`dist ran: ${process.argv.slice(2).join(" ")}`);\n',
    });
    const r = run(dir);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('dist ran: --version\n');
    expect(r.status).toBe(0);
  });
});
