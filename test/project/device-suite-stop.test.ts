/**
 * scripts/device-suite.sh stopped by Ctrl-C (SIGINT to its process group, as a terminal sends it):
 * each step runs under timeout, in a process group of its own that the terminal's signal does not
 * reach, so the suite passes the signal on, then dies by it, and a script around it stops too.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const root = resolve(__dirname, '..', '..');
let work = '';
afterEach(() => rmSync(work, { recursive: true, force: true }));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// A stand-in CLI: `data list` and `info` answer; every other command runs until a signal ends it
// (Node's default action: it dies by the signal, as wgnas does once it has said so).
const FAKE = `import { writeFileSync } from 'node:fs';
const cmd = process.argv[2];
if (cmd === 'data') console.log(JSON.stringify([{ name: 'cifar10', dir: '/fake/cifar10' }]));
else if (cmd === 'info') console.log(JSON.stringify({ adapter: { description: 'fake GPU', features: [] } }));
else {
  writeFileSync(process.env.FAKE_PIDS + '/' + process.pid, '');
  setInterval(() => {}, 1000);
}
`;

describe('device suite and Ctrl-C', () => {
  it('SIGINT to its process group stops the running step and the suite, which dies by it', { timeout: 120_000 }, async () => {
    work = mkdtempSync(join(tmpdir(), 'wgnas-suite-stop-'));
    const fake = join(work, 'fake.mjs');
    writeFileSync(fake, FAKE);
    const out = join(work, 'out');
    const W = `${process.execPath} ${fake}`;
    const pids = join(work, 'pids');
    mkdirSync(pids);
    const env = {
      ...process.env,
      FAKE_PIDS: pids,
      SUITE_SIZE: 'tiny',
      SUITE_OUT: out,
      WGNAS_CLI: W,
      WGNAS_PROXYLESS_STEP: W,
      WGNAS_IMAGENET_BENCH: W,
    };
    const c = spawn('bash', ['scripts/device-suite.sh'], { cwd: root, env, detached: true, stdio: 'ignore' });
    const done = new Promise<NodeJS.Signals | null>((r) => c.on('close', (_code, sig) => r(sig)));
    const log = () => (existsSync(join(out, 'suite.log')) ? readFileSync(join(out, 'suite.log'), 'utf8') : '');
    // Once the first step that runs until stopped (score-all) has its command running.
    while (readdirSync(pids).length === 0 && c.exitCode === null) await sleep(50);
    process.kill(-c.pid!, 'SIGINT');
    const timer = setTimeout(() => process.kill(-c.pid!, 'SIGKILL'), 60_000);
    const signal = await done;
    clearTimeout(timer);
    expect(signal, log()).toBe('SIGINT');
    expect(log()).toMatch(/start score-all \(limit 300s\)\n\[suite [\d:]+\] stopped by SIGINT in step score-all\n$/);
    // The step's command was stopped with it (not left running in its own process group).
    const running = readdirSync(pids);
    expect(running).toHaveLength(1);
    expect(() => process.kill(Number(running[0]), 0)).toThrow(/ESRCH/);
  });
});
