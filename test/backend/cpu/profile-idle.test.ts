/**
 * The CPU backend's kernel profile (score --kernel-profile on --device cpu): its idle time is the
 * worker's wait inside the profiled window. A wait that began before startProfile used to count whole,
 * so a profile started after a pause said the worker idled longer than the profile lasted.
 */
import { describe, expect, it } from 'vitest';
import { cpuTestBackend } from '../../helpers/backend.js';

describe('CPU backend profile', () => {
  it('counts idle time only from startProfile: busy + idle fit in the wall time', async ({ skip }) => {
    const b = cpuTestBackend();
    if (!b) return skip();
    const x = b.zeros([64, 64]);
    const y = b.empty([64, 64]);
    try {
      b.ops.matmul(x, x, { out: y });
      await b.sync();
      // The worker now waits for commands; this wait is before the profile and not its idle time.
      await new Promise((r) => setTimeout(r, 300));
      b.startProfile();
      for (let i = 0; i < 4; i++) b.ops.matmul(x, x, { out: y });
      const p = await b.stopProfile();
      expect(p.kernels.find((k) => k.kernel === 'matmul')?.count).toBe(4);
      expect(p.idleMs).toBeGreaterThanOrEqual(0);
      // 0.5 ms for the clocks read on either side (the JS one after the addon's reset).
      expect(p.idleMs! + p.deviceMs).toBeLessThanOrEqual(p.wallMs + 0.5);
    } finally {
      x.dispose();
      y.dispose();
    }
  });
});
