/** Trainer.step's device loss against the host-loss step on the WGSL backend, within f32 rounding (trainer-step-cases.ts). */
import { gpuBackend } from '../helpers/backend.js';
import { describeDeviceLossStep } from './trainer-step-cases.js';

describeDeviceLossStep('WGSL backend', gpuBackend, false);
