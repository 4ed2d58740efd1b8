/**
 * A proxyless search whose weights diverge (a huge --lr) ends in one line naming --lr: the
 * architecture step that first meets the exploded weights sees a validation loss that is not
 * finite, and said so before its α update, whose non-finite logits named --arch-lr (the one rate
 * that was fine).
 */
import { describe, expect, it } from 'vitest';
import { cpuTestBackend } from '../helpers/backend.js';
import { TINY_PROXYLESS, wgnasInProcess } from '../helpers/cli.js';

describe('wgnas proxyless with a diverging --lr', () => {
  it('names --lr, not --arch-lr', { timeout: 120_000 }, async ({ skip }) => {
    if (!cpuTestBackend()) return skip();
    const r = await wgnasInProcess([
      ...['proxyless', ...TINY_PROXYLESS, '--steps', '2', '--quiet', '--device', 'cpu', '--cpu-threads', '1'],
      ...['--lr', '1e12'],
    ]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /^wgnas proxyless: training diverged at (architecture|search) step \d: (the (validation|training) loss is (NaN|-?Infinity)|the architecture gradients are not finite \(the network.s weights diverged\)) \(learning rate 1000000000000\); try a smaller --lr\n$/,
    );
  });
});
