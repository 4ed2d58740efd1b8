/** The tape's copy-on-write gradients on the CPU backend (cases: tape-sharing-cases.ts). */
import { cpuTestBackend } from '../helpers/backend.js';
import { tapeSharingSuite } from './tape-sharing-cases.js';

tapeSharingSuite(async () => cpuTestBackend());
