/**
 * The learning-rate schedule of `wgnas train`: linear warm-up from lr / warmup to lr over the first
 * `warmupSteps`, then cosine decay over the remaining steps, reaching 0 at the step after the last
 * (OFA/ProxylessNAS's per-step convention; test/train/torch-parity.test.ts checks it).
 */
export function warmupCosineLr(baseLr: number, step: number, totalSteps: number, warmupSteps: number): number {
  if (step < warmupSteps) return (baseLr * (step + 1)) / warmupSteps;
  const span = Math.max(1, totalSteps - warmupSteps);
  return 0.5 * baseLr * (1 + Math.cos((Math.PI * (step - warmupSteps)) / span));
}
