/**
 * Architectures of the MobileNetV2 / ProxylessNAS space, their lookup-table keys and the op chain
 * the native addon runs end to end. Two input forms: the ProxylessNAS `net.config` JSON (as in
 * ../shared/data/latency/*.config) and a compact form (`ProxylessArch`, blocks as plain objects).
 */
import type { NativeOp } from '../native/binding.js';
import { expandedConvKey, featureMixKey, logitsKey, outSize, stemKey } from './keys.js';
import { UserFacingError } from '../util/errors.js';

export class ArchError extends UserFacingError {
  override readonly name = 'ArchError';
}

/** One MBConv block: 1×1 expand (skipped when expand is 1) → k×k depthwise → 1×1 project. */
export interface MBBlock {
  kernel: number;
  expand: number;
  stride: number;
  inC: number;
  outC: number;
  /** Input height (= width). */
  inH: number;
  /** Identity skip connection (needs stride 1 and inC === outC). */
  idskip: boolean;
}

/** 'zero' is ProxylessNAS's ZeroLayer with an identity shortcut: the block is skipped (no latency). */
export type BlockSpec = MBBlock | 'zero';

export interface ProxylessArch {
  /** Input height = width (224 for ImageNet, 32 for the CIFAR layout). */
  inputSize: number;
  /** First conv: 3 → outC channels. */
  stem: { outC: number; kernel: number; stride: number };
  blocks: BlockSpec[];
  /** Final 1×1 conv (`Conv_1`); null when the net has none. */
  featureMix: { outC: number } | null;
  /** Classifier outputs (`Logits` = global pool + linear). */
  classes: number;
}

const posInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

function field(obj: unknown, path: string, name: string): number {
  const v = (obj as Record<string, unknown> | null)?.[name];
  if (!posInt(v)) throw new ArchError(`net config: ${path}.${name} must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

/** The input size a net.config records (wgnas writes `resolution`), else undefined. */
export function netConfigResolution(config: unknown): number | undefined {
  const r = (config as Record<string, unknown> | null)?.resolution;
  return posInt(r) ? r : undefined;
}

/** Why a net.config is refused when it asks for a layer wgnas does not build (one clause of the message). */
const ONLY_PROXYLESS = 'wgnas builds ProxylessNAS MobileNetV2 net.configs only (ReLU6, no squeeze-excite, no final_expand_layer)';

const shown = (v: unknown): string => JSON.stringify(v) ?? String(v);

/**
 * The layer fields of a net.config that ask for something wgnas does not build, checked in the
 * file's order so the first is named: another network family (Once-for-All's MobileNetV3: h_swish,
 * squeeze-excite, a final_expand_layer) would otherwise be built as a ReLU6 MobileNetV2, its extra
 * fields dropped. Absent fields are ProxylessNAS's defaults; `conv` and `linear` list the fields of
 * its ConvLayer and LinearLayer (mit-han-lab/proxylessnas's layers.py) that have one buildable value.
 */
function checkBuildable(c: Record<string, unknown>): void {
  const refuse = (path: string, v: unknown, why = ONLY_PROXYLESS): never => {
    throw new ArchError(`net config: ${path} is ${shown(v)}: ${why}`);
  };
  const name = (o: Record<string, unknown>, path: string, ok: readonly string[], what = 'layer') => {
    if (o.name !== undefined && !ok.includes(o.name as string))
      refuse(`${path}.name`, o.name, `unknown ${what}; ${ONLY_PROXYLESS}`);
  };
  const fields = (o: unknown, path: string, want: Record<string, unknown>) => {
    if (o === null || typeof o !== 'object') return;
    for (const [k, v] of Object.entries(o)) {
      if (!(k in want) || v === undefined || v === want[k]) continue;
      refuse(`${path}.${k}`, v, k === 'dropout_rate' ? 'wgnas builds no dropout (0 builds the network without it)' : undefined);
    }
  };
  const conv = {
    act_func: 'relu6',
    use_bn: true,
    use_se: false,
    ops_order: 'weight_bn_act',
    bias: false,
    groups: 1,
    dilation: 1,
    has_shuffle: false,
    dropout_rate: 0,
  };
  const layer = (o: unknown, path: string, names: readonly string[], want: Record<string, unknown>) => {
    if (o === null || typeof o !== 'object') return;
    name(o as Record<string, unknown>, path, names);
    fields(o, path, want);
  };
  if (c.name !== undefined && c.name !== 'ProxylessNASNets') refuse('name', c.name);
  layer(c.first_conv, 'first_conv', ['ConvLayer'], conv);
  if (Array.isArray(c.blocks))
    c.blocks.forEach((b: unknown, i: number) => {
      if (b === null || typeof b !== 'object') return;
      const path = `blocks[${i}]`;
      name(b as Record<string, unknown>, path, ['MobileInvertedResidualBlock'], 'block');
      const r = b as Record<string, unknown>;
      // MBInvertedConvLayer: ReLU6 inside, no SE (OFA's adds act_func and use_se fields).
      layer(r.mobile_inverted_conv, `${path}.mobile_inverted_conv`, ['MBInvertedConvLayer', 'ZeroLayer'], {
        act_func: 'relu6',
        use_se: false,
      });
      layer(r.shortcut, `${path}.shortcut`, ['IdentityLayer'], {
        act_func: null,
        use_bn: false,
        ops_order: 'weight_bn_act',
        dropout_rate: 0,
      });
    });
  if (c.final_expand_layer !== undefined && c.final_expand_layer !== null)
    throw new ArchError(`net config: final_expand_layer is present (MobileNetV3's 1x1 conv before the pool): ${ONLY_PROXYLESS}`);
  layer(c.feature_mix_layer, 'feature_mix_layer', ['ConvLayer'], conv);
  layer(c.classifier, 'classifier', ['LinearLayer'], {
    act_func: null,
    use_bn: false,
    bias: true,
    ops_order: 'weight_bn_act',
    dropout_rate: 0,
  });
}

/**
 * Parses a ProxylessNAS net.config (name ProxylessNASNets) into the compact form. The input size:
 * `inputSize` when given, else the config's `resolution`, else 224 (the ImageNet default).
 */
export function fromNetConfig(config: unknown, inputSize?: number): ProxylessArch {
  if (typeof config !== 'object' || config === null) throw new ArchError('net config must be a JSON object');
  const c = config as Record<string, unknown>;
  if (c.resolution !== undefined && !posInt(c.resolution)) {
    throw new ArchError(`net config: resolution must be a positive integer, got ${JSON.stringify(c.resolution)}`);
  }
  inputSize ??= netConfigResolution(c) ?? 224;
  checkBuildable(c);
  if (!Array.isArray(c.blocks)) throw new ArchError("net config: missing 'blocks' array (is this a ProxylessNAS net.config?)");
  const fc = c.first_conv;
  if (field(fc, 'first_conv', 'in_channels') !== 3) throw new ArchError('net config: first_conv.in_channels must be 3');
  const stem = {
    outC: field(fc, 'first_conv', 'out_channels'),
    kernel: field(fc, 'first_conv', 'kernel_size'),
    stride: field(fc, 'first_conv', 'stride'),
  };
  let h = outSize(inputSize, stem.stride);
  let ch = stem.outC;
  const blocks: BlockSpec[] = c.blocks.map((b: unknown, i: number) => {
    const path = `blocks[${i}]`;
    const conv = (b as Record<string, unknown> | null)?.mobile_inverted_conv as Record<string, unknown> | undefined;
    if (!conv || typeof conv.name !== 'string') throw new ArchError(`net config: ${path}.mobile_inverted_conv missing`);
    const shortcut = (b as Record<string, unknown>).shortcut;
    if (conv.name === 'ZeroLayer') {
      if (!shortcut)
        throw new ArchError(`net config: ${path} is a ZeroLayer without a shortcut (the network output would be zero)`);
      return 'zero';
    }
    if (conv.name !== 'MBInvertedConvLayer') throw new ArchError(`net config: ${path}: unknown layer '${conv.name}'`);
    const p = `${path}.mobile_inverted_conv`;
    const blk: MBBlock = {
      kernel: field(conv, p, 'kernel_size'),
      expand: field(conv, p, 'expand_ratio'),
      stride: field(conv, p, 'stride'),
      inC: field(conv, p, 'in_channels'),
      outC: field(conv, p, 'out_channels'),
      inH: h,
      idskip: Boolean(shortcut),
    };
    if (blk.inC !== ch) throw new ArchError(`net config: ${p}.in_channels is ${blk.inC} but the previous layer outputs ${ch}`);
    // ProxylessNAS's MBInvertedConvLayer: round(in_channels * expand_ratio) middle channels unless mid_channels says otherwise.
    const mid = conv.mid_channels;
    if (mid !== undefined && mid !== null && mid !== Math.round(blk.inC * blk.expand))
      throw new ArchError(
        `net config: ${p}.mid_channels is ${JSON.stringify(mid)}; wgnas builds in_channels x expand_ratio = ${Math.round(blk.inC * blk.expand)}`,
      );
    h = outSize(h, blk.stride);
    ch = blk.outC;
    return blk;
  });
  const fm = c.feature_mix_layer;
  const featureMix = fm ? { outC: field(fm, 'feature_mix_layer', 'out_channels') } : null;
  if (fm && field(fm, 'feature_mix_layer', 'in_channels') !== ch) {
    throw new ArchError(`net config: feature_mix_layer.in_channels is not ${ch}, the last block's output`);
  }
  const classes = field(c.classifier, 'classifier', 'out_features');
  const arch: ProxylessArch = { inputSize, stem, blocks, featureMix, classes };
  validateArch(arch);
  return arch;
}

/** A ProxylessNAS net.config as JSON.parse gives it (fromNetConfig reads it). */
export interface ProxylessNetConfig {
  first_conv: unknown;
  blocks: unknown;
  [key: string]: unknown;
}

/** True for a net.config (it has ProxylessNAS's first_conv), false for the compact form. */
export function isNetConfig(arch: unknown): arch is ProxylessNetConfig {
  return typeof arch === 'object' && arch !== null && 'first_conv' in arch;
}

/** The compact form of either input form (a net.config through fromNetConfig, at its resolution or 224). */
export function toProxylessArch(arch: ProxylessArch | ProxylessNetConfig): ProxylessArch {
  if (isNetConfig(arch)) return fromNetConfig(arch);
  if (typeof arch !== 'object' || arch === null || !('blocks' in arch) || !('stem' in arch))
    throw new ArchError(
      `expected an architecture: a ProxylessArch {inputSize, stem, blocks, featureMix, classes} or a ProxylessNAS net.config, got ${JSON.stringify(arch)?.slice(0, 80)}`,
    );
  return arch;
}

/** Checks that every block's input matches the previous output; returns the final H and C. */
export function validateArch(arch: ProxylessArch): { h: number; c: number } {
  if (!posInt(arch.inputSize)) throw new ArchError(`inputSize must be a positive integer, got ${arch.inputSize}`);
  for (const k of ['outC', 'kernel', 'stride'] as const) {
    if (!posInt(arch.stem?.[k])) throw new ArchError(`stem.${k} must be a positive integer`);
  }
  let h = outSize(arch.inputSize, arch.stem.stride);
  let c = arch.stem.outC;
  arch.blocks.forEach((b, i) => {
    if (b === 'zero') return;
    for (const k of ['kernel', 'expand', 'stride', 'inC', 'outC', 'inH'] as const) {
      if (!posInt(b[k])) throw new ArchError(`block ${i}: ${k} must be a positive integer, got ${JSON.stringify(b[k])}`);
    }
    if (b.kernel % 2 === 0) throw new ArchError(`block ${i}: kernel ${b.kernel} must be odd`);
    if (b.inH !== h || b.inC !== c) {
      throw new ArchError(`block ${i}: input ${b.inH}x${b.inH}x${b.inC} does not match the previous output ${h}x${h}x${c}`);
    }
    if (b.idskip && (b.stride !== 1 || b.inC !== b.outC)) {
      throw new ArchError(
        `block ${i}: identity skip needs stride 1 and inC === outC (stride ${b.stride}, ${b.inC} -> ${b.outC})`,
      );
    }
    h = outSize(h, b.stride);
    c = b.outC;
  });
  if (arch.featureMix && !posInt(arch.featureMix.outC)) throw new ArchError('featureMix.outC must be a positive integer');
  if (!posInt(arch.classes)) throw new ArchError('classes must be a positive integer');
  return { h, c };
}

export interface ArchPart {
  /** Conv, block index, Conv_1 or Logits. */
  name: string;
  key: string;
  op: NativeOp;
}

/** The lookup-table keys of an architecture, in order, with the op each stands for (zero blocks omitted). */
export function archParts(arch: ProxylessArch): ArchPart[] {
  const { h, c } = validateArch(arch);
  const s = arch.stem;
  const parts: ArchPart[] = [
    {
      name: 'Conv',
      key: stemKey(arch.inputSize, s.outC, s.stride),
      op: { type: 'conv', inH: arch.inputSize, inC: 3, outC: s.outC, kernel: s.kernel, stride: s.stride },
    },
  ];
  arch.blocks.forEach((b, i) => {
    if (b === 'zero') return;
    parts.push({
      name: `block ${i}`,
      key: expandedConvKey(b),
      op: {
        type: 'mbconv',
        inH: b.inH,
        inC: b.inC,
        outC: b.outC,
        expand: b.expand,
        kernel: b.kernel,
        stride: b.stride,
        idskip: b.idskip,
      },
    });
  });
  let lastC = c;
  if (arch.featureMix) {
    parts.push({
      name: 'Conv_1',
      key: featureMixKey(h, c, arch.featureMix.outC),
      op: { type: 'conv', inH: h, inC: c, outC: arch.featureMix.outC, kernel: 1, stride: 1 },
    });
    lastC = arch.featureMix.outC;
  }
  parts.push({
    name: 'Logits',
    key: logitsKey(h, lastC, arch.classes),
    op: { type: 'logits', inH: h, inC: lastC, outC: arch.classes },
  });
  return parts;
}

/** Net config (or compact arch) → the list of LUT keys. */
export function netConfigToKeys(config: unknown, inputSize?: number): string[] {
  return archParts(fromNetConfig(config, inputSize)).map((p) => p.key);
}

/** The whole network as one native op chain (for end-to-end timing). */
export function archToNativeOps(arch: ProxylessArch): NativeOp[] {
  return archParts(arch).map((p) => p.op);
}

/** Accepts a net.config, a compact arch object, or JSON text of either. */
export function parseArch(input: unknown, inputSize?: number): ProxylessArch {
  const v = typeof input === 'string' ? JSON.parse(input) : input;
  if (v && typeof v === 'object' && 'first_conv' in v) return fromNetConfig(v, inputSize);
  if (v && typeof v === 'object' && 'stem' in v && 'blocks' in v) {
    const arch = v as ProxylessArch;
    validateArch(arch);
    return arch;
  }
  throw new ArchError(
    'unrecognised architecture: expected a ProxylessNAS net.config (with first_conv, blocks, feature_mix_layer, classifier) ' +
      'or a compact {inputSize, stem, blocks, featureMix, classes} object',
  );
}
