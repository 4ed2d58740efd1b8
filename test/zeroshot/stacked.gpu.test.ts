/** Stacked group scoring on the webgpu backend (lavapipe here; the cases: stacked-cases.ts). */
import { gpuBackend } from '../helpers/backend.js';
import { stackedScoringCases } from './stacked-cases.js';

stackedScoringCases(gpuBackend);
