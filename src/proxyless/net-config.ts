/**
 * The derived network as a ProxylessNAS `net.config` (schema of
 * ../shared/data/latency/proxylessnas_proxyless_mobile.config): first_conv, blocks
 * (MobileInvertedResidualBlock with MBInvertedConvLayer or ZeroLayer + IdentityLayer shortcut),
 * feature_mix_layer, classifier.
 */
import { DEFAULT_BN_EPS } from '../kernels/params.js';
import { type MobileNetLayout, layoutSpace } from '../mobilenet/layout.js';

/** ProxylessSupernet's BN eps when none is given (wgnas's 1e-5; the search passes its own). */
export const BN_EPS = DEFAULT_BN_EPS;
/** The authors' supernet BN eps (imagenet_arch_search.py --bn_eps 1e-3; their net.configs say it). */
export const AUTHORS_BN_EPS = 1e-3;

function convLayer(inC: number, outC: number, kernel: number, stride: number): Record<string, unknown> {
  return {
    name: 'ConvLayer',
    kernel_size: kernel,
    stride,
    dilation: 1,
    groups: 1,
    bias: false,
    has_shuffle: false,
    in_channels: inC,
    out_channels: outC,
    use_bn: true,
    act_func: 'relu6',
    dropout_rate: 0,
    ops_order: 'weight_bn_act',
  };
}

function identity(c: number): Record<string, unknown> {
  return {
    name: 'IdentityLayer',
    in_channels: c,
    out_channels: c,
    use_bn: false,
    act_func: null,
    dropout_rate: 0,
    ops_order: 'weight_bn_act',
  };
}

/**
 * `choices[b]` indexes the candidates of searchable position b (the fixed first block is added).
 * `bnEps`: the eps the supernet searched with, written as bn.eps so the derived network trains and
 * exports at it; `bnMomentum` the bn.momentum its training takes by default.
 */
export function toNetConfig(
  layout: MobileNetLayout,
  choices: readonly number[],
  bnEps = BN_EPS,
  bnMomentum = 0.1,
): Record<string, unknown> {
  const space = layoutSpace(layout);
  const positions = space.positions.slice(1);
  if (choices.length !== positions.length) {
    throw new RangeError(`toNetConfig: ${choices.length} choices for ${positions.length} searchable blocks`);
  }
  const first = space.positions[0];
  const blocks: Array<Record<string, unknown>> = [
    {
      name: 'MobileInvertedResidualBlock',
      mobile_inverted_conv: {
        name: 'MBInvertedConvLayer',
        in_channels: first.inC,
        out_channels: first.outC,
        kernel_size: 3,
        stride: 1,
        expand_ratio: 1,
      },
      shortcut: null,
    },
  ];
  positions.forEach((pos, b) => {
    const c = pos.candidates[choices[b]];
    if (c === undefined)
      throw new RangeError(`toNetConfig: choice ${choices[b]} out of range at block ${b} (${pos.candidates.length} candidates)`);
    const idskip = pos.stride === 1 && pos.inC === pos.outC;
    blocks.push({
      name: 'MobileInvertedResidualBlock',
      mobile_inverted_conv:
        c === 'zero'
          ? { name: 'ZeroLayer', stride: pos.stride }
          : {
              name: 'MBInvertedConvLayer',
              in_channels: c.inC,
              out_channels: c.outC,
              kernel_size: c.kernel,
              stride: c.stride,
              expand_ratio: c.expand,
            },
      shortcut: idskip ? identity(pos.outC) : null,
    });
  });
  const lastC = positions[positions.length - 1].outC;
  return {
    name: 'ProxylessNASNets',
    // Not in the original format: the input size the network was searched at, so `wgnas predict`
    // prices the same layers (a CIFAR-layout net at 32, not 224). Readers that ignore it lose nothing.
    resolution: layout.inputSize,
    bn: { momentum: bnMomentum, eps: bnEps },
    first_conv: convLayer(3, layout.stemC, 3, layout.stemStride),
    blocks,
    feature_mix_layer: convLayer(lastC, layout.featureMixC, 1, 1),
    classifier: {
      name: 'LinearLayer',
      in_features: layout.featureMixC,
      out_features: layout.classes,
      bias: true,
      use_bn: false,
      act_func: null,
      dropout_rate: 0,
      ops_order: 'weight_bn_act',
    },
  };
}

/** Inverse of toNetConfig for a config of this layout (used by tests and --resume checks). */
export function choicesFromNetConfig(layout: MobileNetLayout, config: unknown): number[] {
  const blocks = (config as { blocks?: unknown[] })?.blocks;
  const positions = layoutSpace(layout).positions.slice(1);
  if (!Array.isArray(blocks) || blocks.length !== positions.length + 1) {
    throw new Error(`net config: expected ${positions.length + 1} blocks for layout ${layout.name}`);
  }
  return positions.map((pos, b) => {
    const conv = (blocks[b + 1] as { mobile_inverted_conv?: Record<string, unknown> }).mobile_inverted_conv ?? {};
    const idx = pos.candidates.findIndex((c) =>
      c === 'zero'
        ? conv.name === 'ZeroLayer'
        : conv.name === 'MBInvertedConvLayer' && conv.kernel_size === c.kernel && conv.expand_ratio === c.expand,
    );
    if (idx < 0) throw new Error(`net config: block ${b + 1} is not a candidate of layout ${layout.name}`);
    return idx;
  });
}
