// Plain NCHW <-> oneDNN's nChw16c (channel blocks of 16 innermost, what its AVX-512 convolutions
// take) with the ReLU that sits next to a convolution folded in: the ReLU-Conv pair's input becomes
// relu(x) while it is being relaid (no relu(x) tensor written and read back), and the data gradient
// leaves the blocked layout already masked by x > 0. Bit for bit relu(x) and then oneDNN's reorder
// (data movement and the same max / compare); as fast as that reorder alone (16 x 16 register
// transposes), where the separate ReLU pass cost about as much again.
#pragma once
#include <cstddef>
#include <cstdint>

namespace wgnas::compute {

// y (nChw16c) = relu(x) (NCHW, when relu) or x; any C: a last partial block's channels past C are
// written as zeros (oneDNN's padded layout: ceil(C / 16) blocks). Threads over (image, block).
void toBlocked16(int threads, const float* x, float* y, int64_t N, int64_t C, int64_t HW, bool relu);
// y (NCHW) = (mask[i] > 0 ? x : 0) for x nChw16c (padded to whole blocks) and mask NCHW (null: no
// mask); any C, the padded channels are not read.
void fromBlocked16(int threads, const float* x, float* y, const float* mask, int64_t N, int64_t C, int64_t HW);

// relu(x) on plain memory, as the relu op computes it (the fallback where no nChw16c relayout runs).
void reluInto(int threads, const float* x, float* y, size_t n);
// y[i] = mask[i] > 0 ? y[i] : 0 in place, as reluBackward computes it.
void maskInPlace(int threads, float* y, const float* mask, size_t n);

}  // namespace wgnas::compute
