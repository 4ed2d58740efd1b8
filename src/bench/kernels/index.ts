/** Every benchmark entry. To add an op: write src/bench/kernels/OP.ts and list it here. */
import { KernelRegistry } from '../registry.js';
import { batchNormBench, batchNormBwdBench } from './batchnorm.js';
import { gateDotBench } from './binarize.js';
import { copyBench, fmaBench } from './calibrate.js';
import {
  conv2dBench,
  conv2dBwdInputBench,
  conv2dBwdWeightBench,
  conv2dF16Bench,
  depthwiseBench,
  depthwiseBwdInputBench,
  depthwiseBwdWeightBench,
} from './conv2d.js';
import { correlationBench } from './correlation.js';
import { fitnessMixBench, fitnessMixBwdBench } from './fitness.js';
import { matmulBench, matmulF16Bench } from './matmul.js';
import { matmulSgmatBench, matmulSgmatStagedBench } from './matmul-sgmat.js';

export function defaultRegistry(): KernelRegistry {
  return new KernelRegistry([
    matmulBench,
    correlationBench,
    conv2dBench,
    conv2dBwdInputBench,
    conv2dBwdWeightBench,
    depthwiseBench,
    depthwiseBwdInputBench,
    depthwiseBwdWeightBench,
    gateDotBench,
    fitnessMixBench,
    fitnessMixBwdBench,
    batchNormBench,
    batchNormBwdBench,
    fmaBench,
    copyBench,
    matmulF16Bench,
    conv2dF16Bench,
    matmulSgmatBench,
    matmulSgmatStagedBench,
  ]);
}
