// Op descriptions shared by the backends: the candidate ops of the MobileNetV2 / ProxylessNAS space.
// Activations are NHWC float32, batch 1. Padding is k/2 on each side, so out = (in - 1) / stride + 1.
#pragma once
#include <string>
#include <vector>

namespace wgnas {

enum class OpKind {
  Conv,    // k x k conv + bias (BN folded) + optional ReLU6: stem `Conv`, final 1x1 `Conv_1`
  MBConv,  // [1x1 expand + ReLU6] -> k x k depthwise + ReLU6 -> 1x1 project (+ identity skip)
  Pool,    // global average pool: H x W x C -> 1 x 1 x C
  Linear,  // fully connected: C -> outC (input 1 x 1 x C)
  Logits,  // global average pool + fully connected, the table's `Logits` entry
};

struct OpSpec {
  OpKind kind = OpKind::Conv;
  int inH = 1, inW = 1, inC = 0;
  int outC = 0;  // output channels / features (Pool: = inC)
  int kernel = 1, stride = 1, expand = 1;
  bool relu6 = true;   // Conv only
  bool idskip = false; // MBConv only

  bool spatial() const { return kind == OpKind::Conv || kind == OpKind::MBConv; }
  int outH() const { return spatial() ? (inH - 1) / stride + 1 : 1; }
  int outW() const { return spatial() ? (inW - 1) / stride + 1 : 1; }
  int outChannels() const { return kind == OpKind::Pool ? inC : outC; }
};

const char* kindName(OpKind k);

// Empty string when the op list is valid (each op's input matches the previous op's output).
std::string validateOps(const std::vector<OpSpec>& ops);

}  // namespace wgnas
