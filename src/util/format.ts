/** Numbers for people (stdout); files and JSON keep full precision. */

/** `x` to `digits` significant digits, without trailing zeros: 48.52210281180749 -> '48.5221'. */
export function fmtSig(x: number, digits = 6): string {
  if (!Number.isFinite(x)) return String(x);
  return String(Number(x.toPrecision(digits)));
}
