/** Shared by the SynFlow tests: a network whose parameters are scaled to push the score's range. */
import type { Backend } from '../../src/backend/index.js';
import type { ScorableNet } from '../../src/nn/scorable.js';

/** Multiplies a parameter by 2^k (exact: a power of two, rounded on the host). */
export async function scaleParam(b: Backend, net: ScorableNet, name: string, k: number): Promise<void> {
  const p = net.params.find((q) => q.name === name)!;
  const t = b.upload(
    (await p.value.read()).map((x) => x * 2 ** k),
    p.shape,
  );
  p.value.dispose();
  p.value = t;
}
