/**
 * Class labels against the classifier that learns or scores them. A label the network has no output
 * for does not fail in the kernels: the loss reads past the row (NaN) or a missing class (0), and
 * every proxy on the loss returns a plausible number. So labels are checked where data meets a
 * network, on the host, before any work.
 */

/** A label that is not a class index of the network: outside [0, classes) or not an integer. */
export class LabelRangeError extends RangeError {
  override readonly name = 'LabelRangeError';
  constructor(
    /** The offending label as given. */
    readonly label: number,
    /** Its position in the labels (the image). */
    readonly index: number,
    /** The class count it was checked against. */
    readonly classes: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The bytes a fingerprint hashes for `labels`: one byte per label while every label is below 256
 * (what the 8-bit labels of earlier versions hashed, so their hashes stay), else two (little-endian).
 */
export function labelBytes(labels: ArrayLike<number>): Uint8Array {
  let max = 0;
  for (let i = 0; i < labels.length; i++) max = Math.max(max, labels[i]);
  if (max < 256) return Uint8Array.from(labels);
  const u16 = Uint16Array.from(labels);
  const out = new Uint8Array(u16.length * 2);
  for (let i = 0; i < u16.length; i++) {
    out[2 * i] = u16[i] & 255;
    out[2 * i + 1] = u16[i] >> 8;
  }
  return out;
}

/** Two class counts that must agree do not (a network's head and the data's classes). */
export class ClassCountError extends RangeError {
  override readonly name = 'ClassCountError';
}

/** Throws unless `classes` is a class count (an integer >= 1); `what` names it. */
export function checkClassCount(classes: number, what: string): void {
  if (!Number.isInteger(classes) || classes < 1)
    throw new ClassCountError(`${what} must be an integer >= 1, got ${String(classes)}`);
}

/**
 * Throws LabelRangeError at the first label that is not an integer in [0, classes) (classes Infinity:
 * where the count is unknown, an integer >= 0). `where` starts the message (the function checking);
 * `advice` ends it (how to give the right class count).
 */
export function checkLabels(labels: ArrayLike<number>, classes: number, where: string, advice = ''): void {
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i];
    if (Number.isInteger(v) && v >= 0 && v < classes) continue;
    throw new LabelRangeError(
      v,
      i,
      classes,
      `${where}: label ${v} (image ${i}) is not a class index ${Number.isFinite(classes) ? `in [0, ${classes})` : '(an integer >= 0)'}${advice ? `: ${advice}` : ''}`,
    );
  }
}
