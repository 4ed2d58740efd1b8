/** The tape's copy-on-write gradients on the WGSL backend (cases: tape-sharing-cases.ts). */
import { gpuBackend } from '../helpers/backend.js';
import { tapeSharingSuite } from './tape-sharing-cases.js';

tapeSharingSuite(gpuBackend);
