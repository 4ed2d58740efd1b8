/**
 * The one distinction the command line makes between errors: is the message written for the person
 * running wgnas, or is it a bug?
 *
 * A UserFacingError says what is wrong with a file, a setting, the disk or a service, and what to
 * do: `wgnas` prints its message alone (`wgnas score: cannot write 's.csv': ...`). Any other error
 * (a TypeError, a RangeError from an argument check, a shape mismatch between kernels) is a bug in
 * wgnas and keeps its class name on the line (`wgnas score: TypeError: ...`), with its stack under
 * --verbose.
 */
export class UserFacingError extends Error {}

/** An errno code of a Node system error ('ENOSPC'), or undefined for other errors. */
export function errnoCode(e: unknown): string | undefined {
  const c = (e as NodeJS.ErrnoException | undefined)?.code;
  return typeof c === 'string' && /^E[A-Z0-9]+$/.test(c) ? c : undefined;
}

const REASONS: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EIO: 'input/output error',
  EFBIG: 'file too large',
  ENOENT: 'its directory does not exist',
  ENOTDIR: 'a part of the path is not a directory',
  EISDIR: 'it is a directory',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'file name too long',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in the system',
};

/** What an errno error means, in words, with its code: 'no space left on device (ENOSPC)'. */
export function errnoReason(e: unknown): string {
  const code = errnoCode(e);
  const text =
    (code && REASONS[code]) ??
    /^E[A-Z0-9]+: ([^,]+)/.exec((e as Error)?.message ?? '')?.[1] ??
    String((e as Error)?.message ?? e);
  return code ? `${text} (${code})` : text;
}
