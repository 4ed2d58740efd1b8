/** Trainer.step's device loss against the host-loss step on the CPU backend, bit for bit (trainer-step-cases.ts). */
import { cpuTestBackend } from '../helpers/backend.js';
import { describeDeviceLossStep } from './trainer-step-cases.js';

describeDeviceLossStep('CPU backend', async () => cpuTestBackend(), true);
