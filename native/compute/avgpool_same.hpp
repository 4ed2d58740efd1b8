// Stride-1 average pooling whose output is the input's size (kernel 2 pad + 1: NAS-Bench-201's
// avg_pool_3x3), forward and backward, as whole-plane vector loops. The separable per-row loops of
// ops_reduce.cpp ran a fill and k short loops per row of 8-32 floats at the build's baseline ISA:
// ~1 ms per pass at NB201 sizes (batch 64), ~10 % of a WRCor cell's worker time. Here the row sums
// and the column sums are one loop over the plane each for k = 3 (a loop per tap otherwise), with
// columns outside the row masked to +0, and runtime ISA dispatch: 2.2x less pooling time in a WRCor
// cell. The same additions in the same order as ops_reduce.cpp's loops (a sum that starts at +0 is
// unchanged by adding +0), so the results are bit for bit theirs.
#pragma once
#include <cstdint>

namespace wgnas::compute {

struct SamePool {
  int64_t planes, H, W, k, pad;
  bool includePad;
};

// True where the pooling keeps the plane's size at stride 1: what these loops are for.
inline bool samePoolShape(int64_t H, int64_t W, int64_t OH, int64_t OW, int64_t k, int64_t stride, int64_t pad) {
  return stride == 1 && k == 2 * pad + 1 && OH == H && OW == W;
}

// y = avg over the k x k window of x (count: inside the input, or the padded window with includePad).
void avgPoolSameForward(int threads, const SamePool& s, const float* x, float* y);
// dx: the adjoint of avgPoolSameForward applied to dy.
void avgPoolSameBackward(int threads, const SamePool& s, const float* dy, float* dx);

}  // namespace wgnas::compute
