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

/**
 * NAS-Bench-201's schedule (AutoDL-Projects CosineAnnealingLR with eta_min 0, as its training loop
 * updates it): step k of epoch e (from 0) of S steps per epoch; during the W warm-up epochs
 * lr·(e + k/S)/W (from 0), then 0.5·lr·(1 + cos(π(e − W)/(E − W))), constant within an epoch (their
 * T_max is the epochs after the warm-up; E counts all epochs).
 */
export function nb201CosineLr(baseLr: number, step: number, stepsPerEpoch: number, epochs: number, warmupEpochs: number): number {
  const e = Math.floor(step / stepsPerEpoch);
  if (e < warmupEpochs) return ((e + (step - e * stepsPerEpoch) / stepsPerEpoch) / warmupEpochs) * baseLr;
  return 0.5 * baseLr * (1 + Math.cos((Math.PI * (e - warmupEpochs)) / Math.max(1, epochs - warmupEpochs)));
}
