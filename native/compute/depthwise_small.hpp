// Depthwise convolution (groups == Cin == Cout) over plain NCHW for planes smaller than the kernel
// (a 7x7 on a 2x2 or 4x4 plane, MBConv's last stages): oneDNN has no depthwise kernel for those
// shapes and falls back to one small GEMM per group and image (measured at batch 32, one thread:
// 4.6 ms for a 7x7 on 2x2 x 288 channels; these loops: 0.1 ms). Only the taps that land inside the
// plane are visited (16 of 49 there), vectorised across 16 images at a time. Forward and weight
// gradient (oneDNN's depthwise data gradient takes these shapes); threads over channels.
#pragma once
#include <cstdint>

namespace wgnas::compute {

struct DepthwiseShape {
  int64_t N, C, H, W, K, OH, OW, stride, pad;
};

// True where the kernel is larger than the plane in a dimension: the shapes these loops are for.
inline bool depthwiseSmallPlane(int64_t H, int64_t W, int64_t KH, int64_t KW) { return KH > H || KW > W; }

// y[n, c] = Σ_kh,kw x[n, c, oh s - p + kh, ow s - p + kw] w[c, kh, kw] (taps in the plane only).
void depthwiseSmallForward(int threads, const DepthwiseShape& s, const float* x, const float* w, float* y);
// dw[c, kh, kw] = Σ_n,oh,ow dy[n, c, oh, ow] x[n, c, oh s - p + kh, ow s - p + kw], summed in double.
void depthwiseSmallBackwardWeights(int threads, const DepthwiseShape& s, const float* x, const float* dy, float* dw);

// The same sums for any plane: each channel's planes of 16 images zero-padded to [Hp][Wp][16], so
// that every tap of every output pixel lands inside, then per kernel row up to 8 taps accumulated
// in registers over all output pixels (dy loaded once for them). oneDNN has no depthwise
// weight-gradient kernel for kernels above 3x3 at stride 2 or 5x5 and 7x7 on small planes.
void depthwisePaddedBackwardWeights(int threads, const DepthwiseShape& s, const float* x, const float* dy, float* dw);

}  // namespace wgnas::compute
