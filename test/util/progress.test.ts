import { describe, expect, it } from 'vitest';
import { fmtDuration, Progress } from '../../src/util/progress.js';

function sink(isTTY: boolean) {
  const out: string[] = [];
  return { out, stream: { isTTY, columns: 100, write: (s: string) => out.push(s) } };
}

describe('Progress', () => {
  it('prints about one line per 5% when not a TTY and asked for lines, with rate and ETA', () => {
    const { out, stream } = sink(false);
    let t = 0;
    const p = new Progress(200, 'score', stream, { now: () => t, lines: true });
    for (let i = 0; i < 200; i++) {
      t += 500; // 2 it/s
      p.tick(1, i === 99 ? 'halfway' : undefined);
    }
    p.done();
    expect(out.length).toBe(21); // 20 steps of 5% + the summary
    expect(out[0]).toBe('score: 10/200 (5%) 2.00 it/s eta 1m35s\n');
    expect(out[9]).toBe('score: 100/200 (50%) 2.00 it/s eta 50s halfway\n');
    expect(out[20]).toBe('score: 200/200 done in 1m40s (2.00 it/s) halfway\n');
    expect(p.current).toBe(200);
  });

  it('counts bytes as MiB with a MiB/s rate; a resumed download (rebase) starts at its bytes, not in the rate', () => {
    const { out, stream } = sink(false);
    let t = 0;
    const MiB = 2 ** 20;
    const p = new Progress(100 * MiB, 'fetch cifar10', stream, { now: () => t, lines: true, unit: 'bytes' });
    p.rebase(40 * MiB); // 40 MiB kept from an earlier run
    for (let done = 41; done <= 100; done++) {
      t += 500; // 2 MiB/s
      p.update(done * MiB);
    }
    p.done();
    expect(out[0]).toBe('fetch cifar10: 41.0/100.0 MiB (41%) 2.0 MiB/s eta 30s\n');
    expect(out.at(-1)).toBe('fetch cifar10: 100.0/100.0 MiB done in 30s (2.0 MiB/s)\n');
  });

  it("done(info) replaces the last item's info in the summary", () => {
    const { out, stream } = sink(false);
    let t = 0;
    const p = new Progress(4, 'score', stream, { now: () => t, lines: true });
    for (const ms of [4000, 100, 100, 100]) {
      t += ms;
      p.tick(1, `${(ms / 1000).toFixed(2)} s/arch`);
    }
    p.done('');
    expect(out.at(-2)).toBe('score: 4/4 (100%) 1.07 s/it 0.10 s/arch\n');
    expect(out.at(-1)).toBe('score: 4/4 done in 4.3s (1.07 s/it)\n');
  });

  it('with lineMs, a log gets at most one line per lineMs (and always the summary)', () => {
    const { out, stream } = sink(false);
    let t = 0;
    const p = new Progress(100, 'search', stream, { now: () => t, lines: true, lineMs: 30_000 });
    for (let i = 0; i < 100; i++) {
      t += 1000; // 1 it/s: a 5% step every 5 s, a line every 30 s at most
      p.tick();
    }
    p.done();
    expect(out).toEqual([
      'search: 5/100 (5%) 1.00 it/s eta 1m35s\n',
      'search: 35/100 (35%) 1.00 it/s eta 1m05s\n',
      'search: 65/100 (65%) 1.00 it/s eta 35s\n',
      'search: 95/100 (95%) 1.00 it/s eta 5.0s\n',
      'search: 100/100 done in 1m40s (1.00 it/s)\n',
    ]);
  });

  it('redraws one line on a TTY, throttled', () => {
    const { out, stream } = sink(true);
    let t = 0;
    const p = new Progress(10, 'eval', stream, { now: () => t, redrawMs: 100 });
    for (let i = 0; i < 10; i++) {
      t += 30;
      p.tick();
    }
    p.done();
    // ticks at 30..300 ms: draws at 30, 150, 270 and the final count; then the summary line.
    expect(out.length).toBe(5);
    expect(out.every((s) => s.startsWith('\r\x1b[2K'))).toBe(true);
    expect(out[3]).toContain('[##############################] eval: 10/10 (100%)');
    expect(out[4]).toMatch(/eval: 10\/10 done in 0\.3s \(33\.3 it\/s\)\n$/);
    p.tick();
    p.done();
    expect(out.length).toBe(5);
  });

  it('handles a zero total and slow rates', () => {
    const { out, stream } = sink(false);
    let t = 0;
    const p = new Progress(0, 'none', stream, { now: () => t, lines: true });
    t = 1000;
    p.done();
    expect(out).toEqual(['none: 0/0 done in 1.0s\n']); // no item, no rate
    const slow = sink(false);
    const q = new Progress(1, 'slow', slow.stream, { now: () => t, lines: true });
    t += 4000;
    q.tick();
    expect(slow.out[0]).toBe('slow: 1/1 (100%) 4.00 s/it\n');
    expect(fmtDuration(3725)).toBe('1h02m');
    expect(() => new Progress(-1, 'x', slow.stream)).toThrow(/total/);
  });

  it('stays quiet in pipes by default and under quiet, on a terminal too', () => {
    const pipe = sink(false);
    const p = new Progress(10, 'x', pipe.stream, { now: () => 0 });
    p.tick(5);
    p.done();
    expect(pipe.out).toEqual([]);
    const tty = sink(true);
    const q = new Progress(10, 'x', tty.stream, { now: () => 0, quiet: true });
    q.tick(10);
    q.done();
    expect(tty.out).toEqual([]);
  });

  it('draws within a 0-column or narrow terminal, and logs above the bar', () => {
    for (const columns of [0, 20]) {
      const out: string[] = [];
      let t = 0;
      const p = new Progress(10, 'profile', { isTTY: true, columns, write: (s: string) => out.push(s) }, { now: () => t });
      t = 1000;
      p.tick(4, 'k');
      const drawn = out[0].replace('\r\x1b[2K', '');
      // A 0-column terminal (a pipe that claims to be a TTY) gets the 80-column layout, not one character.
      expect(drawn.length).toBe(columns === 0 ? Math.min(79, drawn.length) : 19);
      expect(drawn).toContain(columns === 0 ? 'profile: 4/10 (40%)' : 'profile');
      p.log('a message');
      expect(out[1]).toBe('\r\x1b[2Ka message\n');
      expect(out[2].startsWith('\r\x1b[2K')).toBe(true);
    }
  });

  it('counts resumed items without crediting them to the rate', () => {
    const { out, stream } = sink(false);
    let t = 0;
    const p = new Progress(100, 'profile', stream, { now: () => t, lines: true, initial: 90 });
    t = 10_000;
    p.update(95);
    expect(out[0]).toBe('profile: 95/100 (95%) 2.00 s/it eta 10s\n');
  });

  it("a resumed run's first line has no rate until this run has done an item", () => {
    const { out, stream } = sink(false);
    let t = 0;
    const p = new Progress(70, 'profile', stream, { now: () => t, lines: true, initial: 51 });
    p.update(51); // the kept entries, reported at once
    t = 4000;
    p.update(53, 'k');
    p.done('');
    expect(out).toEqual([
      'profile: 51/70 (73%)\n',
      'profile: 53/70 (76%) 2.00 s/it eta 34s k\n',
      'profile: 53/70 done in 4.0s (2.00 s/it)\n',
    ]);
    const tty = sink(true);
    const q = new Progress(70, 'profile', tty.stream, { now: () => 0, initial: 70 });
    q.update(70); // everything kept: nothing measured, no rate
    q.done();
    expect(tty.out.map((s) => s.replace('\r\x1b[2K', '').replace(/^\[#+\] /, ''))).toEqual([
      'profile: 70/70 (100%)',
      'profile: 70/70 done in 0.0s\n',
    ]);
  });

  it('rebase(): items replayed at once (a resumed search) leave the rate and ETA of the rest alone', () => {
    const { out, stream } = sink(false);
    let t = 0;
    const p = new Progress(100, 'search', stream, { now: () => t, lines: true });
    t = 50; // 50 items replayed from a file
    p.rebase(50);
    for (let i = 0; i < 10; i++) {
      t += 2000;
      p.tick();
    }
    p.done();
    expect(out.at(-2)).toBe('search: 60/100 (60%) 2.00 s/it eta 1m20s\n');
    expect(out.at(-1)).toBe('search: 60/100 done in 20s (2.00 s/it)\n');
  });
});
