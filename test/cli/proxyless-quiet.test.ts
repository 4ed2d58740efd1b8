/**
 * `wgnas proxyless --quiet`, as --quiet on the other computing commands: no progress on stderr (the
 * settings header, the step lines and the bar, status), the same result, and errors still printed;
 * --train-epochs' hand-over to `wgnas train` passes it on.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { trainFound } from '../../src/cli/train-found.js';
import { cpuTestBackend } from '../helpers/backend.js';
import { TABLE, TINY_PROXYLESS, wgnasCapturingStderr } from '../helpers/cli.js';
import { resultOf } from '../helpers/provenance.js';

const tmp = mkdtempSync(join(tmpdir(), 'wgnas-proxyless-quiet-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const RUN = ['proxyless', ...TINY_PROXYLESS, '--steps', '2', '--log-every', '1', '--device', 'cpu', '--cpu-threads', '1'];

describe('wgnas proxyless --quiet', () => {
  it('prints no progress, and the same result', { timeout: 120_000 }, async ({ skip }) => {
    if (!cpuTestBackend()) return skip();
    const loud = await wgnasCapturingStderr([...RUN, '--out', join(tmp, 'loud.config')]);
    expect(loud.code, loud.err).toBe(0);
    expect(loud.err).toMatch(/^proxyless: cifar layout, \d+ searchable blocks, on /);
    expect(loud.stderr).toMatch(/search +2\/2/);

    const quiet = await wgnasCapturingStderr([...RUN, '--quiet', '--out', join(tmp, 'quiet.config')]);
    expect(quiet.code, quiet.err).toBe(0);
    expect(quiet.err).toBe('');
    expect(quiet.stderr).toBe('');
    // The result is printed as without --quiet (the seconds it took aside), and the file is the same.
    const result = (s: string) => s.replace(/α steps, \d+ s on /, 'α steps, N s on ').replace(/quiet|loud/g, 'X');
    expect(result(quiet.out)).toBe(result(loud.out));
    expect(quiet.out).toMatch(
      /^derived network \(3 weight steps, \d+ α steps, \d+ s on native CPU \(1 thread\), as --cpu-threads 1 \(/,
    );
    // The file is the same but for its provenance (each run's command line and date).
    expect(resultOf(join(tmp, 'quiet.config'))).toEqual(resultOf(join(tmp, 'loud.config')));
  });

  it('still prints errors', async () => {
    const missing = join(tmp, 'missing.yaml');
    const r = await wgnasCapturingStderr([...RUN.map((a) => (a === TABLE ? missing : a)), '--quiet']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^wgnas proxyless: .*missing\.yaml/);
  });

  it('--train-epochs hands --quiet on to wgnas train', async () => {
    let err = '';
    const ctx = {
      command: 'proxyless',
      given: new Set<string>(),
      positionals: [],
      io: { out: () => {}, err: (s: string) => void (err += s) },
    };
    const v = { 'train-epochs': 0, 'train-out': join(tmp, 'train'), dataset: 'cifar10', device: 'cpu', seed: 0 };
    // --epochs 0 is refused by train's parser: the hand-over line is all that runs.
    await expect(trainFound({ json: '{}' }, { ...v, quiet: true }, 100, ctx)).rejects.toThrow(/--epochs/);
    expect(err).toMatch(/^training the network found: wgnas train .* --quiet --net /);
    err = '';
    await expect(trainFound({ json: '{}' }, v, 100, ctx)).rejects.toThrow(/--epochs/);
    expect(err).not.toMatch(/--quiet/);
  });
});
