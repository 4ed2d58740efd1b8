/**
 * A second run on an output that a live run is writing (score --out, search --evaluated of either
 * space, ...) is refused naming that run ("in use by process N"), in one line, before any work: not
 * told that the output holds an interrupted or earlier run to --resume or --force (what the files
 * alone say). A child holds each lock as the running command does; the files beside it look like
 * that run's (rows with complete: false, a checkpoint, a table). The commands run in process and
 * are refused before the device opens.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { handDesignedSpace, writeSpaceFile } from '../../src/mobilenet/space-file.js';
import { TINY_CIFAR_LAYOUT } from '../helpers/cases.js';
import { holdLock } from '../helpers/hold-lock.js';
import { ARCH, tinyNb201, wgnasInProcess } from '../helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'wgnas-in-use-'));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
});

/** A child holding the lock as a running command does ('hold' a lock file, 'ckpt' a checkpoint directory); its pid. */
const hold = async (mode: 'hold' | 'ckpt', path: string): Promise<number> => (await holdLock(mode, path, children)).pid!;

/** The rows and settings record a running score/search leaves beside its lock. */
function streamingRows(out: string, header: string): void {
  writeFileSync(out, `${header}\n"${ARCH}",1.5\n`);
  writeFileSync(
    `${out}.settings.json`,
    JSON.stringify({ format: 'wgnas-row-stream', version: 1, settings: {}, complete: false }),
  );
}

async function refusedInUse(argv: string[], pid: number): Promise<void> {
  const r = await wgnasInProcess(argv);
  expect(r.err.trim().split('\n'), r.err).toHaveLength(1);
  expect(r.err).toMatch(new RegExp(`is in use by process ${pid} since .*; wait for it to finish or stop it`));
  expect(r.err).not.toMatch(/interrupted|earlier run|already exists|--resume|--force/);
  expect(r.code).toBe(1);
}

const CPU = ['--device', 'cpu', '--cpu-threads', '1'];

describe('a second run on an output in use', () => {
  it('score --out and search --evaluated: named as in use, not as an interrupted run', async () => {
    const out = join(tmp, 'scores.csv');
    streamingRows(out, 'arch,wrcor');
    const pid = await hold('hold', `${out}.lock`);
    const score = ['score', '--sample', '3', '--cells-per-stage', '1', '--channels', '4', '--batch', '4', ...CPU];
    await refusedInUse([...score, '--out', out], pid);
    await refusedInUse([...score, '--out', out, '--force'], pid);

    const ev = join(tmp, 'ev.jsonl');
    writeFileSync(ev, `{"arch":"${ARCH}","wrcor":1.5}\n`);
    writeFileSync(
      `${ev}.settings.json`,
      JSON.stringify({ format: 'wgnas-row-stream', version: 1, settings: {}, complete: false }),
    );
    const evPid = await hold('hold', `${ev}.lock`);
    await refusedInUse(['search', '--budget', '3', '--cells-per-stage', '1', '--batch', '4', ...CPU, '--evaluated', ev], evPid);

    // The cell-space search's --evaluated, fresh and resumed.
    const space = join(tmp, 'space.json');
    writeSpaceFile(space, handDesignedSpace(TINY_CIFAR_LAYOUT));
    const cells = join(tmp, 'cells.csv');
    streamingRows(cells, 'choices,wrcor');
    const cellsPid = await hold('hold', `${cells}.lock`);
    const search = ['search', '--space-file', space, '--budget', '3', '--batch', '4', ...CPU, '--evaluated', cells];
    await refusedInUse(search, cellsPid);
    await refusedInUse([...search, '--resume'], cellsPid);
  });

  it('train --out and a --train-out hand-over: named as in use, not as a checkpoint of an earlier run', async () => {
    const out = join(tmp, 'train');
    const ck = join(out, 'checkpoint');
    const pid = await hold('ckpt', ck);
    const train = ['train', ...tinyNb201(ARCH), '--epochs', '1', '--train-images', '16', '--test-images', '8', ...CPU];
    // Before its first checkpoint, and with one.
    await refusedInUse([...train, '--out', out, '--resume'], pid);
    writeFileSync(join(ck, 'current'), 'ckpt-000001\n');
    await refusedInUse([...train, '--out', out], pid);
    await refusedInUse(
      ['search', '--budget', '3', '--cells-per-stage', '1', '--batch', '4', ...CPU, '--train-epochs', '1', '--train-out', out],
      pid,
    );
  });

  it('profile --out: named as in use, not as a table that already exists', async () => {
    const dir = join(tmp, 'tables');
    mkdirSync(dir);
    const table = join(dir, 't.yaml');
    writeFileSync(table, '# generator: wgnas profile\n');
    const pid = await hold('hold', `${table}.lock`);
    await refusedInUse(['profile', '--space', 'cifar', '--repeats', '1', '--warmup', '0', '--out', table], pid);
  });
});
