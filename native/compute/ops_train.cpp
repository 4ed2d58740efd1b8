// Training-side ops, hand-written: the optimiser steps (PyTorch semantics, as optim.wgsl) and the
// AutoSpace fitness mixture's softmax, backward dot products and logit gradient (as fitness.wgsl).
#include <algorithm>
#include <cmath>

#include "op.hpp"
#include "parallel.hpp"
#include "simd.hpp"

namespace wgnas::compute {
namespace {

size_t count(const Params& p) { return static_cast<size_t>(nonNegative(p, "n")); }

WGNAS_CLONES void sgdK(float* w, const float* g, float* buf, size_t n, float lr, float wd, float mom, float damp, bool nesterov) {
  for (size_t i = 0; i < n; i++) {
    float d = g[i] + wd * w[i];
    float b = mom * buf[i] + (1.0f - damp) * d;
    buf[i] = b;
    d = nesterov ? d + mom * b : b;
    w[i] = w[i] - lr * d;
  }
}

// lr is lr / bc1 and sqrtBc2 = sqrt(1 - beta2^t), folded by the caller (as optim.wgsl).
WGNAS_CLONES void adamK(float* w, const float* g, float* m, float* v, size_t n, float lr, float wd, float b1, float b2, float eps,
                        float sqrtBc2) {
  for (size_t i = 0; i < n; i++) {
    float d = g[i] + wd * w[i];
    float mi = b1 * m[i] + (1.0f - b1) * d;
    float vi = b2 * v[i] + (1.0f - b2) * d * d;
    m[i] = mi;
    v[i] = vi;
    w[i] = w[i] - lr * mi / (std::sqrt(vi) / sqrtBc2 + eps);
  }
}

WGNAS_CLONES void scaleCopyK(const float* x, float* y, size_t n, float s) {
  for (size_t i = 0; i < n; i++) y[i] = s * x[i];
}

}  // namespace

void registerTrainOps(Registry& r) {
  // sgdStep: [w, grad, buf].
  r["sgdStep"] = {"sgdStep", 3,
                  [](const Params& p, const std::vector<size_t>& n) {
                    for (size_t i = 0; i < 3; i++) expectAtLeast(n, i, count(p), "w / grad / buf");
                  },
                  [](Ctx& c) {
                    float lr = static_cast<float>(c.p.f("lr")), wd = static_cast<float>(c.p.f("weightDecay", 0));
                    float mom = static_cast<float>(c.p.f("momentum", 0)), damp = static_cast<float>(c.p.f("dampening", 0));
                    bool nesterov = c.p.b("nesterov");
                    float* w = c.ptr(0);
                    const float* g = c.ptr(1);
                    float* buf = c.ptr(2);
                    parallelElems(c.threads(), count(c.p), [&](size_t b, size_t e) { sgdK(w + b, g + b, buf + b, e - b, lr, wd, mom, damp, nesterov); });
                  }};
  // adamStep: [w, grad, m, v].
  r["adamStep"] = {"adamStep", 4,
                   [](const Params& p, const std::vector<size_t>& n) {
                     for (size_t i = 0; i < 4; i++) expectAtLeast(n, i, count(p), "w / grad / m / v");
                   },
                   [](Ctx& c) {
                     float lr = static_cast<float>(c.p.f("lr")), wd = static_cast<float>(c.p.f("weightDecay", 0));
                     float b1 = static_cast<float>(c.p.f("beta1")), b2 = static_cast<float>(c.p.f("beta2"));
                     float eps = static_cast<float>(c.p.f("eps")), sb = static_cast<float>(c.p.f("sqrtBc2"));
                     float* w = c.ptr(0);
                     const float* g = c.ptr(1);
                     float* m = c.ptr(2);
                     float* v = c.ptr(3);
                     parallelElems(c.threads(), count(c.p), [&](size_t b, size_t e) { adamK(w + b, g + b, m + b, v + b, e - b, lr, wd, b1, b2, eps, sb); });
                   }};
  // fitnessSoftmax: [logits, probs], max-subtracted.
  r["fitnessSoftmax"] = {"fitnessSoftmax", 2,
                         [](const Params& p, const std::vector<size_t>& n) {
                           expectAtLeast(n, 0, static_cast<size_t>(positive(p, "K")), "logits");
                           expectAtLeast(n, 1, static_cast<size_t>(positive(p, "K")), "probs");
                         },
                         [](Ctx& c) {
                           size_t K = static_cast<size_t>(c.p.i("K"));
                           const float* l = c.ptr(0);
                           float* p = c.ptr(1);
                           float m = *std::max_element(l, l + K);
                           double s = 0;
                           for (size_t k = 0; k < K; k++) s += std::exp(static_cast<double>(l[k] - m));
                           for (size_t k = 0; k < K; k++) p[k] = static_cast<float>(std::exp(static_cast<double>(l[k] - m)) / s);
                         }};
  // mixBackward: [o, dy, probs, dOut?, gDots?]: dOut = probs[k] dy, gDots[k] = Σ o dy.
  r["mixBackward"] = {"mixBackward", -1,
                      [](const Params& p, const std::vector<size_t>& n) {
                        size_t want = 3 + (p.b("hasDOut") ? 1 : 0) + (p.b("hasGDots") ? 1 : 0);
                        if (n.size() != want) throw OpError("expected " + std::to_string(want) + " tensors");
                        size_t k = static_cast<size_t>(nonNegative(p, "k"));
                        expectAtLeast(n, 0, count(p), "o");
                        expectAtLeast(n, 1, count(p), "dy");
                        expectAtLeast(n, 2, k + 1, "probs");
                        if (p.b("hasDOut")) expectAtLeast(n, 3, count(p), "dOut");
                        if (p.b("hasGDots")) expectAtLeast(n, want - 1, k + 1, "gDots");
                      },
                      [](Ctx& c) {
                        size_t n = count(c.p), k = static_cast<size_t>(c.p.i("k"));
                        bool hasDOut = c.p.b("hasDOut"), hasG = c.p.b("hasGDots");
                        const float* o = c.ptr(0);
                        const float* dy = c.ptr(1);
                        float pk = c.ptr(2)[k];
                        if (hasDOut) {
                          float* d = c.ptr(3);
                          parallelElems(c.threads(), n, [&](size_t b, size_t e) { scaleCopyK(dy + b, d + b, e - b, pk); });
                        }
                        if (hasG) {
                          double s = reduceAll(c.threads(), n, [&](size_t b, size_t e) { return dotF(o + b, dy + b, e - b); });
                          c.ptr(hasDOut ? 4 : 3)[k] = static_cast<float>(s);
                        }
                      }};
  // fitnessGrad: [probs, gDots, out], out_i = p_i (g_i - Σ_k p_k g_k).
  r["fitnessGrad"] = {"fitnessGrad", 3,
                      [](const Params& p, const std::vector<size_t>& n) {
                        for (size_t i = 0; i < 3; i++) expectAtLeast(n, i, static_cast<size_t>(positive(p, "K")), "probs / gDots / out");
                      },
                      [](Ctx& c) {
                        size_t K = static_cast<size_t>(c.p.i("K"));
                        const float* p = c.ptr(0);
                        const float* g = c.ptr(1);
                        float* out = c.ptr(2);
                        double mean = 0;
                        for (size_t k = 0; k < K; k++) mean += static_cast<double>(p[k]) * g[k];
                        for (size_t k = 0; k < K; k++) out[k] = static_cast<float>(p[k] * (g[k] - mean));
                      }};
}

}  // namespace wgnas::compute
