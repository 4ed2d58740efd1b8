/** Small dense linear algebra in f64 for N x N proxy matrices (N = batch size, typically 64). */
import type { Backend, Tensor } from '../backend/index.js';

/** log|det A| via LU with partial pivoting. -Infinity for a singular matrix. */
export function logAbsDet(a: ArrayLike<number>, n: number): number {
  const m = Float64Array.from(a as ArrayLike<number>);
  if (m.length !== n * n) throw new RangeError(`logAbsDet: ${m.length} values is not ${n}x${n}`);
  let logDet = 0;
  for (let k = 0; k < n; k++) {
    let piv = k;
    let best = Math.abs(m[k * n + k]);
    for (let i = k + 1; i < n; i++) {
      const v = Math.abs(m[i * n + k]);
      if (v > best) {
        best = v;
        piv = i;
      }
    }
    if (best === 0 || !Number.isFinite(best)) return best === 0 ? -Infinity : NaN;
    if (piv !== k) {
      for (let j = 0; j < n; j++) {
        const t = m[k * n + j];
        m[k * n + j] = m[piv * n + j];
        m[piv * n + j] = t;
      }
    }
    const d = m[k * n + k];
    logDet += Math.log(Math.abs(d));
    for (let i = k + 1; i < n; i++) {
      const f = m[i * n + k] / d;
      if (f === 0) continue;
      for (let j = k + 1; j < n; j++) m[i * n + j] -= f * m[k * n + j];
    }
  }
  return logDet;
}

/**
 * Eigenvalues (ascending) of the correlation between the rows of x viewed as [rows, cols]: the
 * matrix on the backend, its eigenvalues here.
 */
export async function rowCorrelationEigenvalues(backend: Backend, x: Tensor, rows: number, cols: number): Promise<Float64Array> {
  const c = backend.ops.correlation(x.view([rows, cols]));
  const ev = symmetricEigenvalues(await c.read(), rows);
  c.dispose();
  return ev;
}

/** Eigenvalues of a symmetric matrix (cyclic Jacobi), ascending. */
export function symmetricEigenvalues(a: ArrayLike<number>, n: number, maxSweeps = 60): Float64Array {
  const m = Float64Array.from(a as ArrayLike<number>);
  if (m.length !== n * n) throw new RangeError(`symmetricEigenvalues: ${m.length} values is not ${n}x${n}`);
  // Symmetrise against f32 round-off from the GPU.
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      const v = 0.5 * (m[i * n + j] + m[j * n + i]);
      m[i * n + j] = v;
      m[j * n + i] = v;
    }
  }
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0;
    for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) off += m[i * n + j] ** 2;
    if (off < 1e-22) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = m[p * n + q];
        if (Math.abs(apq) < 1e-300) continue;
        const app = m[p * n + p];
        const aqq = m[q * n + q];
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = m[k * n + p];
          const akq = m[k * n + q];
          m[k * n + p] = c * akp - s * akq;
          m[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = m[p * n + k];
          const aqk = m[q * n + k];
          m[p * n + k] = c * apk - s * aqk;
          m[q * n + k] = s * apk + c * aqk;
        }
      }
    }
  }
  const ev = new Float64Array(n);
  for (let i = 0; i < n; i++) ev[i] = m[i * n + i];
  return ev.sort();
}

/**
 * Eigenvalues of a symmetric matrix, ascending, for the larger host matrices (VKDNW's Fisher
 * information, up to ~300 x 300, where cyclic Jacobi's sweeps take seconds): Householder reduction
 * to tridiagonal form, then implicit QL with Wilkinson-style shifts, about 4/3 n^3 flops. Only the
 * lower triangle of `a` is read.
 */
export function symmetricEigenvaluesQl(a: ArrayLike<number>, n: number): Float64Array {
  const m = Float64Array.from(a);
  if (m.length !== n * n) throw new RangeError(`symmetricEigenvaluesQl: ${m.length} values is not ${n}x${n}`);
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  // Householder: row i's part left of the diagonal is reflected away, last row first.
  for (let i = n - 1; i > 0; i--) {
    const l = i - 1;
    let h = 0;
    if (l > 0) {
      let scale = 0;
      for (let k = 0; k <= l; k++) scale += Math.abs(m[i * n + k]);
      if (scale === 0) e[i] = m[i * n + l];
      else {
        for (let k = 0; k <= l; k++) {
          m[i * n + k] /= scale;
          h += m[i * n + k] ** 2;
        }
        let f = m[i * n + l];
        const g = f >= 0 ? -Math.sqrt(h) : Math.sqrt(h);
        e[i] = scale * g;
        h -= f * g;
        m[i * n + l] = f - g;
        f = 0;
        for (let j = 0; j <= l; j++) {
          let gg = 0;
          for (let k = 0; k <= j; k++) gg += m[j * n + k] * m[i * n + k];
          for (let k = j + 1; k <= l; k++) gg += m[k * n + j] * m[i * n + k];
          e[j] = gg / h;
          f += e[j] * m[i * n + j];
        }
        const hh = f / (h + h);
        for (let j = 0; j <= l; j++) {
          const fj = m[i * n + j];
          const gj = e[j] - hh * fj;
          e[j] = gj;
          for (let k = 0; k <= j; k++) m[j * n + k] -= fj * e[k] + gj * m[i * n + k];
        }
      }
    } else e[i] = m[i * n + l];
  }
  for (let i = 0; i < n; i++) d[i] = m[i * n + i];
  // QL on the tridiagonal (d, e): e[i] couples i and i+1 after the shift.
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  if (n) e[n - 1] = 0;
  for (let l = 0; l < n; l++) {
    let iter = 0;
    let mm: number;
    do {
      for (mm = l; mm < n - 1; mm++) {
        const dd = Math.abs(d[mm]) + Math.abs(d[mm + 1]);
        if (Math.abs(e[mm]) <= Number.EPSILON * dd) break;
      }
      if (mm !== l) {
        if (iter++ === 100) throw new Error('symmetricEigenvaluesQl: no convergence');
        let g = (d[l + 1] - d[l]) / (2 * e[l]);
        let r = Math.hypot(g, 1);
        g = d[mm] - d[l] + e[l] / (g + (g >= 0 ? r : -r));
        let s = 1;
        let c = 1;
        let p = 0;
        let i: number;
        for (i = mm - 1; i >= l; i--) {
          const f = s * e[i];
          const b = c * e[i];
          e[i + 1] = r = Math.hypot(f, g);
          if (r === 0) {
            d[i + 1] -= p;
            e[mm] = 0;
            break;
          }
          s = f / r;
          c = g / r;
          g = d[i + 1] - p;
          r = (d[i] - g) * s + 2 * c * b;
          p = s * r;
          d[i + 1] = g + p;
          g = c * r - b;
        }
        if (r === 0 && i >= l) continue;
        d[l] -= p;
        e[l] = g;
        e[mm] = 0;
      }
    } while (mm !== l);
  }
  return d.sort();
}
