// Op descriptions shared by the backends: the candidate ops of the MobileNetV2 / ProxylessNAS space.
// Activations are NHWC float32 with `batch` images (default 1; every op of a chain has the same batch).
// Padding is k/2 on each side, so out = (in - 1) / stride + 1.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

namespace wgnas {

enum class OpKind {
  Conv,    // k x k conv + bias (BN folded) + optional ReLU6: stem `Conv`, final 1x1 `Conv_1`
  DwConv,  // k x k depthwise conv (groups = channels) + bias + optional ReLU6: MBConv's middle stage alone
  MBConv,  // [1x1 expand + ReLU6] -> k x k depthwise + ReLU6 -> 1x1 project (+ identity skip)
  Pool,    // global average pool: H x W x C -> 1 x 1 x C
  Linear,  // fully connected: C -> outC (input 1 x 1 x C)
  Logits,  // global average pool + fully connected, the table's `Logits` entry
};

struct OpSpec {
  OpKind kind = OpKind::Conv;
  int batch = 1;
  int inH = 1, inW = 1, inC = 0;
  int outC = 0;  // output channels / features (Pool, DwConv: = inC)
  int kernel = 1, stride = 1, expand = 1;
  bool relu6 = true;   // Conv, DwConv
  bool idskip = false; // MBConv only

  bool spatial() const { return kind == OpKind::Conv || kind == OpKind::DwConv || kind == OpKind::MBConv; }
  int outH() const { return spatial() ? (inH - 1) / stride + 1 : 1; }
  int outW() const { return spatial() ? (inW - 1) / stride + 1 : 1; }
  int outChannels() const { return kind == OpKind::Pool || kind == OpKind::DwConv ? inC : outC; }
  // Conv / DwConv weights [outC, inC / groups, k, k] (OIHW) and their element count.
  int groups() const { return kind == OpKind::DwConv ? inC : 1; }
  size_t weightCount() const {
    return static_cast<size_t>(outChannels()) * (inC / groups()) * kernel * kernel;
  }
  size_t inputCount() const { return static_cast<size_t>(batch) * inH * inW * inC; }
  size_t outputCount() const { return static_cast<size_t>(batch) * outH() * outW() * outChannels(); }
};

const char* kindName(OpKind k);

// Empty string when the op list is valid (each op's input matches the previous op's output).
std::string validateOps(const std::vector<OpSpec>& ops);

}  // namespace wgnas
