/** Stacked group scoring on the CPU backend (the cases: stacked-cases.ts). */
import { cpuTestBackend } from '../helpers/backend.js';
import { planCellCases, stackedScoringCases } from './stacked-cases.js';

planCellCases();
stackedScoringCases(async () => cpuTestBackend());
