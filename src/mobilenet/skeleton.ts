/**
 * The one MobileNet network: stem 3×3 conv + BN + ReLU6, the fixed first block (MBConv e1 k3, as a
 * cell), one pluggable body per searchable layer, 1×1 feature-mix conv + BN + ReLU6, global average
 * pool, linear classifier. What fills a layer is the caller's: a fixed cell (FixedNet), a binarized
 * choice between candidate cells (ChoiceLayer: ProxylessNAS), a softmax mixture of cells
 * (mixtureForward: AutoSpace).
 *
 * ReLUs are tagged (ReluPlace) with their module, the index wrcor weighs by 2^module: the entry of
 * the authors' MobileNetV2 block_list they sit in (stem 0, then one super block per stage, the
 * final 1x1 conv last: foresight/models/MobileNetV2.py), here the stem 0, the first block 1 (their
 * first stage), every layer of stage s s + 2, the feature mix one past the last stage; and with the
 * stage they sit in (stem and first block 0, each layer its stage, the feature mix the last stage),
 * the block index wrcor_stage weighs by 2^block.
 */
import { ShapeError } from '../backend/index.js';
import { DEFAULT_BN_EPS } from '../kernels/params.js';
import type { BlockPosition } from '../latency/space.js';
import type { ParamStore } from '../nn/init.js';
import type { Param, ReluPlace, Tape, Var } from '../nn/tape.js';
import { type LayerShape, mbconvCell } from './cell.js';
import { CellModule } from './cell-module.js';
import { type MobileNetLayout, layerShapes, layoutSpace, positionStages } from './layout.js';

export interface ConvBnParams {
  w: Param;
  gamma: Param;
  beta: Param;
}

/** A bias-free conv weight and its BN scale (1) and shift (0). */
export function convBnParams(store: ParamStore, name: string, shape: number[]): ConvBnParams {
  return {
    w: store.weight(name, shape),
    gamma: store.constant(`${name}.bn.gamma`, 'bn_gamma', shape[0], 1),
    beta: store.constant(`${name}.bn.beta`, 'bn_beta', shape[0], 0),
  };
}

export function convBnForward(
  t: Tape,
  x: Var,
  m: ConvBnParams,
  o: { stride: number; pad: number; act: boolean; at: ReluPlace; name: string; bnEps?: number },
): Var {
  const c = t.conv(x, m.w, { stride: o.stride, pad: o.pad, groups: 1 });
  const eps = o.bnEps ?? DEFAULT_BN_EPS;
  return o.act
    ? t.batchNormRelu6(c, m.gamma, m.beta, o.at, `${o.name}.bn`, `${o.name}.relu6`, eps)
    : t.batchNorm(c, m.gamma, m.beta, `${o.name}.bn`, undefined, eps);
}

/**
 * Runs searchable layer `b` (built as `layer`) on its input; returns the layer output with the
 * layer's shortcut included. `at` tags the layer's ReLUs.
 */
export type LayerBody<L> = (layer: L, b: number, x: Var, at: ReluPlace) => Var;

export class Skeleton<L> {
  /** The searchable positions (layoutSpace's positions after the fixed first block). */
  readonly positions: BlockPosition[];
  readonly shapes: LayerShape[];
  /** Stage of each searchable layer. */
  readonly stages: number[];
  /** What buildLayers made for each searchable layer (empty when the bodies are built per step). */
  readonly layers: L[];
  private readonly stem: ConvBnParams;
  private readonly first: CellModule;
  private readonly mix: ConvBnParams;
  private readonly fcW: Param;
  private readonly fcB: Param;

  /**
   * Allocates the skeleton in `store` in network order: stem, first block, the layers'
   * parameters (buildLayers, which may use the same store), feature mix, classifier. The order
   * fixes which random numbers each parameter gets, so it stays the same for every body. `bnEps`:
   * the BNs of the stem, the first block and the feature mix (the bodies' BNs are theirs to set).
   */
  constructor(
    store: ParamStore,
    readonly layout: MobileNetLayout,
    buildLayers: (shapes: LayerShape[]) => L[],
    readonly bnEps = DEFAULT_BN_EPS,
  ) {
    const space = layoutSpace(layout);
    this.positions = space.positions.slice(1);
    this.shapes = layerShapes(layout);
    this.stages = positionStages(layout).map((p) => p.stage);
    const first = space.positions[0];
    this.stem = convBnParams(store, 'stem.conv', [layout.stemC, 3, 3, 3]);
    this.first = new CellModule(
      store,
      'first',
      mbconvCell(3, 1),
      { inC: first.inC, outC: first.outC, stride: 1, inH: first.inH },
      bnEps,
    );
    this.layers = buildLayers(this.shapes);
    const lastC = this.shapes[this.shapes.length - 1].outC;
    this.mix = convBnParams(store, 'mix.conv', [layout.featureMixC, lastC, 1, 1]);
    this.fcW = store.weight('classifier.w', [layout.classes, layout.featureMixC], 'linear');
    this.fcB = store.bias('classifier.b', layout.classes, layout.featureMixC);
  }

  /**
   * The network on a batch [N, 3, S, S]: `body` runs each searchable layer. Returns the logits and
   * the last feature map before pooling (Zen-score reads it).
   */
  forward(t: Tape, x: Var, body: LayerBody<L>): { logits: Var; features: Var } {
    const L = this.layout;
    if (x.shape.length !== 4 || x.shape[1] !== 3 || x.shape[2] !== L.inputSize || x.shape[3] !== L.inputSize) {
      throw new ShapeError(`mobilenet: expected input [N, 3, ${L.inputSize}, ${L.inputSize}], got [${x.shape.join(', ')}]`);
    }
    const bnEps = this.bnEps;
    const stem: ReluPlace = { block: 0, module: 0 };
    let h = convBnForward(t, x, this.stem, { stride: L.stemStride, pad: 1, act: true, at: stem, name: 'stem', bnEps });
    h = this.first.forward(t, h, { block: 0, module: 1 }, 'first')!;
    this.shapes.forEach((_, b) => {
      h = body(this.layers[b], b, h, { block: this.stages[b], module: this.stages[b] + 2 });
    });
    const lastStage = this.stages[this.stages.length - 1] ?? -1;
    h = convBnForward(t, h, this.mix, {
      stride: 1,
      pad: 0,
      act: true,
      at: { block: Math.max(lastStage, 0), module: lastStage + 3 },
      name: 'mix',
      bnEps,
    });
    return { logits: t.linear(t.globalAvgPool(h), this.fcW, this.fcB), features: h };
  }
}
