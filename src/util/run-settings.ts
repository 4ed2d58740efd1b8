/**
 * The settings a long run records beside its saved state (a checkpoint, a streamed output file),
 * keyed by the CLI flag that sets each one, and the check a resume makes against them: a resume
 * with other settings would mix two runs, so it is refused naming the flag (`--seed was 1, now 2`).
 */
import { UserFacingError } from './errors.js';

export type SettingValue = string | number | boolean | null;
export type RunSettings = Record<string, SettingValue>;

/** A resume whose settings differ from the saved run's: the command line is wrong (exit code 2). */
export class ResumeMismatchError extends UserFacingError {
  override readonly name = 'ResumeMismatchError';
}

/** A setting as it appears in a message. */
export function showSetting(v: unknown): string {
  return v === null || v === undefined ? 'unset' : typeof v === 'string' ? v : JSON.stringify(v);
}

export interface SettingsCheck {
  /** Settings that may only grow on a resume (a longer run continues a shorter one). */
  growable?: readonly string[];
  /** Ignore settings the saved run did not record (older formats record fewer). */
  skipUnrecorded?: boolean;
  /** Text after "now X": where the saved settings are (e.g. ` in out.csv`). */
  where?: string;
  /** What to do instead, after the '; '. */
  advice: string;
  /** The advice for a refusal of this setting instead (undefined: `advice`); `was` and `now` its two values. */
  adviceFor?: (key: string, was: unknown, now: SettingValue) => string | undefined;
}

/** Throws ResumeMismatchError naming the first setting of `now` that differs from `saved`. */
export function checkRunSettings(saved: Readonly<Record<string, unknown>>, now: RunSettings, o: SettingsCheck): void {
  const growable = o.growable ?? [];
  for (const [k, v] of Object.entries(now)) {
    if (o.skipUnrecorded && !(k in saved)) continue;
    const was = saved[k];
    if (JSON.stringify(was) === JSON.stringify(v)) continue;
    const grows = growable.includes(k);
    if (grows && typeof was === 'number' && typeof v === 'number' && v > was) continue;
    const hint = grows ? ` (${k} may only grow on --resume)` : '';
    throw new ResumeMismatchError(
      `--resume: ${k} was ${showSetting(was)}, now ${showSetting(v)}${o.where ?? ''}${hint}; ${o.adviceFor?.(k, was, v) ?? o.advice}`,
    );
  }
}
