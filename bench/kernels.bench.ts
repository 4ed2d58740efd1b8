/**
 * npm run bench [-- wgnas-bench options]: matmul and correlation, ours vs tfjs-webgpu (same Dawn
 * device), tfjs-wasm, gpu.js, oneDNN and TypeScript on the CPU, GFLOP/s and GB/s side by side. A thin wrapper over the harness
 * behind `wgnas bench`; shapes default to `small` on software adapters (lavapipe: about a minute)
 * and `default` on real GPUs. `npm run bench -- --shapes large --json out.json --svg roofline.svg`
 * is the full sweep for a big GPU.
 */
import { benchCommand } from '../src/cli/commands/bench.js';
import { kernelsBenchArgs } from './kernels-args.js';

benchCommand(kernelsBenchArgs(process.argv.slice(2))).then(
  // Dawn keeps handles alive; exit explicitly.
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`bench: ${(e as Error).message}\n`);
    process.exit(1);
  },
);
