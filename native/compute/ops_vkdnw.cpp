// VKDNW's per-sample first-element gradient (src/kernels/first-grad.ts, first_grad.wgsl), hand-written:
// per sample s, out[row N + s] = Σ_(oy,ox) dy[s, 0, oy, ox] · x[s, 0, oy stride - pad, ox stride - pad]
// (0 outside x's plane; hasX false: x is 1). Reads channel 0 only; sums in double.
#include <algorithm>

#include "op.hpp"
#include "parallel.hpp"

namespace wgnas::compute {

void registerVkdnwOps(Registry& r) {
  // firstElementGrad: [x, dy, out] (x is dy again when hasX is false).
  r["firstElementGrad"] = {
      "firstElementGrad", 3,
      [](const Params& p, const std::vector<size_t>& n) {
        size_t N = static_cast<size_t>(nonNegative(p, "N"));
        size_t plane = elems({positive(p, "OH"), positive(p, "OW")});
        size_t ys = static_cast<size_t>(positive(p, "ys"));
        if (ys < plane) throw OpError("ys is smaller than a channel plane");
        // The run's input positions, o stride - pad, must not overflow either.
        elems({positive(p, "OH"), positive(p, "stride")});
        elems({positive(p, "OW"), positive(p, "stride")});
        nonNegative(p, "pad");
        if (N == 0) return;
        expectAtLeast(n, 1, elems({static_cast<int64_t>(N - 1), static_cast<int64_t>(ys)}) + plane, "dy");
        expectAtLeast(n, 2, elems({nonNegative(p, "row") + 1, static_cast<int64_t>(N)}), "out");
        if (p.b("hasX")) {
          size_t xPlane = elems({positive(p, "H"), positive(p, "W")});
          size_t xs = static_cast<size_t>(positive(p, "xs"));
          if (xs < xPlane) throw OpError("xs is smaller than a channel plane");
          expectAtLeast(n, 0, elems({static_cast<int64_t>(N - 1), static_cast<int64_t>(xs)}) + xPlane, "x");
        }
      },
      [](Ctx& c) {
        const int64_t N = c.p.i("N"), OH = c.p.i("OH"), OW = c.p.i("OW"), ys = c.p.i("ys");
        const int64_t stride = c.p.i("stride"), pad = c.p.i("pad"), row = c.p.i("row");
        const bool hasX = c.p.b("hasX");
        const int64_t H = hasX ? c.p.i("H") : 0, W = hasX ? c.p.i("W") : 0, xs = hasX ? c.p.i("xs") : 0;
        const float* x = c.ptr(0);
        const float* dy = c.ptr(1);
        float* out = c.ptr(2) + row * N;
        size_t grain = std::max<size_t>(1, kSerialElems / static_cast<size_t>(OH * OW));
        parallelRange(c.threads(), static_cast<size_t>(N), grain, [&](size_t lo, size_t hi) {
          for (size_t s = lo; s < hi; s++) {
            const float* g = dy + s * ys;
            double acc = 0;
            if (!hasX) {
              for (int64_t i = 0; i < OH * OW; i++) acc += g[i];
            } else {
              const float* xp = x + s * xs;
              for (int64_t oy = 0; oy < OH; oy++) {
                int64_t iy = oy * stride - pad;
                if (iy < 0 || iy >= H) continue;
                for (int64_t ox = 0; ox < OW; ox++) {
                  int64_t ix = ox * stride - pad;
                  if (ix >= 0 && ix < W) acc += static_cast<double>(g[oy * OW + ox]) * xp[iy * W + ix];
                }
              }
            }
            out[s] = static_cast<float>(acc);
          }
        });
      }};
}

}  // namespace wgnas::compute
