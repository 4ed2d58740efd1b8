/**
 * An inference graph (graph.ts) as an ONNX model (opset 13), written with onnx-proto (the ONNX
 * protobuf types compiled by protobufjs). Input `input` [N, 3, H, W] with a free batch, output
 * `logits` [N, classes]; weights and BN statistics are initializers under the networks' parameter
 * names; BN is BatchNormalization in inference form, ReLU6 is Clip(0, 6).
 */
import onnxProto from 'onnx-proto';

import type { Graph, GraphNode, Tensor } from './graph.js';

const { onnx } = onnxProto;
type INodeProto = onnxProto.onnx.INodeProto;
type IAttributeProto = onnxProto.onnx.IAttributeProto;

export const OPSET = 13;

function floatTensor(name: string, t: Tensor): onnxProto.onnx.ITensorProto {
  const bytes = new Uint8Array(t.data.length * 4);
  const view = new DataView(bytes.buffer);
  t.data.forEach((v, i) => view.setFloat32(i * 4, v, true));
  return { name, dims: t.shape, dataType: onnx.TensorProto.DataType.FLOAT, rawData: bytes };
}

const ints = (name: string, v: number[]): IAttributeProto => ({ name, type: onnx.AttributeProto.AttributeType.INTS, ints: v });
const int = (name: string, v: number): IAttributeProto => ({ name, type: onnx.AttributeProto.AttributeType.INT, i: v });
const float = (name: string, v: number): IAttributeProto => ({ name, type: onnx.AttributeProto.AttributeType.FLOAT, f: v });

function nodes(n: GraphNode, tensors: Map<string, Tensor>, id: number): INodeProto[] {
  const name = `${n.op}_${id}`;
  switch (n.op) {
    case 'conv': {
      const k = tensors.get(n.w)!.shape[2];
      const attribute = [
        ints('kernel_shape', [k, k]),
        ints('strides', [n.stride, n.stride]),
        ints('pads', [n.pad, n.pad, n.pad, n.pad]),
        int('group', n.groups),
      ];
      return [{ opType: 'Conv', name, input: [n.x, n.w], output: [n.y], attribute }];
    }
    case 'bn':
      return [
        {
          opType: 'BatchNormalization',
          name,
          input: [n.x, n.gamma, n.beta, n.mean, n.var],
          output: [n.y],
          attribute: [float('epsilon', n.eps)],
        },
      ];
    case 'relu':
      return [{ opType: 'Relu', name, input: [n.x], output: [n.y] }];
    case 'relu6':
      return [{ opType: 'Clip', name, input: [n.x, 'wgnas.zero', 'wgnas.six'], output: [n.y] }];
    case 'add':
      return [{ opType: 'Add', name, input: [n.a, n.b], output: [n.y] }];
    case 'avgpool': {
      const attribute = [
        ints('kernel_shape', [n.kernel, n.kernel]),
        ints('strides', [n.stride, n.stride]),
        ints('pads', [n.pad, n.pad, n.pad, n.pad]),
        int('count_include_pad', n.countIncludePad ? 1 : 0),
      ];
      return [{ opType: 'AveragePool', name, input: [n.x], output: [n.y], attribute }];
    }
    case 'gap':
      return [
        { opType: 'GlobalAveragePool', name, input: [n.x], output: [`${n.y}.pooled`] },
        { opType: 'Flatten', name: `${name}_flatten`, input: [`${n.y}.pooled`], output: [n.y], attribute: [int('axis', 1)] },
      ];
    case 'linear':
      return [{ opType: 'Gemm', name, input: [n.x, n.w, n.b], output: [n.y], attribute: [int('transB', 1)] }];
    case 'zeros':
      return [
        { opType: 'Shape', name, input: [n.x], output: [`${n.y}.shape`] },
        {
          opType: 'ConstantOfShape',
          name: `${name}_fill`,
          input: [`${n.y}.shape`],
          output: [n.y],
          attribute: [
            {
              name: 'value',
              type: onnx.AttributeProto.AttributeType.TENSOR,
              t: floatTensor('zero', { shape: [1], data: new Float32Array(1) }),
            },
          ],
        },
      ];
  }
}

export interface OnnxOptions {
  /** producer_version and metadata. */
  producerVersion?: string;
}

/** The model as ONNX protobuf bytes. */
export function toOnnx(graph: Graph, o: OnnxOptions = {}): Uint8Array {
  const [C, H, W] = graph.inputShape;
  const valueInfo = (name: string, dims: Array<number | string>): onnxProto.onnx.IValueInfoProto => ({
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) },
      },
    },
  });
  const initializer = [...graph.tensors].map(([name, t]) => floatTensor(name, t));
  if (graph.nodes.some((n) => n.op === 'relu6')) {
    initializer.push(
      floatTensor('wgnas.zero', { shape: [], data: new Float32Array([0]) }),
      floatTensor('wgnas.six', { shape: [], data: new Float32Array([6]) }),
    );
  }
  const node = [
    ...graph.nodes.flatMap((n, i) => nodes(n, graph.tensors, i)),
    { opType: 'Identity', name: 'output', input: [graph.output], output: ['logits'] },
  ];
  const model: onnxProto.onnx.IModelProto = {
    irVersion: 7,
    opsetImport: [{ domain: '', version: OPSET }],
    producerName: 'wgnas',
    producerVersion: o.producerVersion ?? '',
    docString: graph.meta.network,
    graph: {
      name: graph.name,
      node,
      initializer,
      input: [valueInfo('input', ['N', C, H, W])],
      output: [valueInfo('logits', ['N', graph.classes])],
    },
    metadataProps: Object.entries(graph.meta).map(([key, value]) => ({ key: `wgnas.${key}`, value })),
  };
  return onnx.ModelProto.encode(onnx.ModelProto.create(model)).finish();
}
