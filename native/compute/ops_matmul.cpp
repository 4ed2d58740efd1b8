// Batched matmul C = alpha op(A) op(B) + beta C on oneDNN's JIT sgemm (row-major, transposes and
// alpha/beta native). A 2-D operand broadcasts over the batch. Large products thread inside sgemm;
// a batch of small ones threads over the batch instead (sgemm inside a parallel region runs on
// its calling thread).
#include <oneapi/dnnl/dnnl.hpp>

#include "op.hpp"
#include "parallel.hpp"

namespace wgnas::compute {
namespace {

struct MatmulShape {
  int64_t batch, M, N, K;
  bool tA, tB, batchA, batchB;
  float alpha, beta;
};

MatmulShape readShape(const Params& p) {
  MatmulShape s{};
  s.batch = positive(p, "batch");
  s.M = nonNegative(p, "M");
  s.N = nonNegative(p, "N");
  s.K = nonNegative(p, "K");
  s.tA = p.b("transA");
  s.tB = p.b("transB");
  s.batchA = p.b("batchA");
  s.batchB = p.b("batchB");
  s.alpha = static_cast<float>(p.f("alpha", 1));
  s.beta = static_cast<float>(p.f("beta", 0));
  return s;
}

void check(dnnl::status st) {
  if (st != dnnl::status::success) throw std::runtime_error("oneDNN sgemm failed (status " + std::to_string(static_cast<int>(st)) + ")");
}

// One C[M, N] slice, serial or threaded by sgemm itself.
void gemm(const MatmulShape& s, const float* a, const float* b, float* c) {
  if (s.K == 0) {
    // An empty sum: C = beta C (sgemm may not accept K = 0 with lda/ldb of 0).
    for (int64_t i = 0; i < s.M * s.N; i++) c[i] = s.beta == 0 ? 0.0f : s.beta * c[i];
    return;
  }
  int64_t lda = s.tA ? s.M : s.K;
  int64_t ldb = s.tB ? s.K : s.N;
  check(dnnl::sgemm(s.tA ? 'T' : 'N', s.tB ? 'T' : 'N', s.M, s.N, s.K, s.alpha, a, lda, b, ldb, s.beta, c, s.N));
}

}  // namespace

void registerMatmulOps(Registry& r) {
  // matmul: [a, b, c]. batchA/batchB: whether the operand has a batch dimension (else broadcast).
  r["matmul"] = {"matmul", 3,
                 [](const Params& p, const std::vector<size_t>& n) {
                   MatmulShape s = readShape(p);
                   expectAtLeast(n, 0, static_cast<size_t>((s.batchA ? s.batch : 1) * s.M * s.K), "a");
                   expectAtLeast(n, 1, static_cast<size_t>((s.batchB ? s.batch : 1) * s.K * s.N), "b");
                   expectAtLeast(n, 2, static_cast<size_t>(s.batch * s.M * s.N), "c");
                 },
                 [](Ctx& c) {
                   MatmulShape s = readShape(c.p);
                   if (s.M == 0 || s.N == 0) return;
                   const float* a = c.ptr(0);
                   const float* b = c.ptr(1);
                   float* out = c.ptr(2);
                   int64_t sa = s.batchA ? s.M * s.K : 0, sb = s.batchB ? s.K * s.N : 0, sc = s.M * s.N;
                   // ~1 MFLOP per slice is where sgemm's own threading starts to pay.
                   bool perSlice = s.batch >= c.threads() && s.M * s.N * s.K < (1 << 19);
                   if (!perSlice) {
                     for (int64_t i = 0; i < s.batch; i++) gemm(s, a + i * sa, b + i * sb, out + i * sc);
                     return;
                   }
                   parallelRange(c.threads(), static_cast<size_t>(s.batch), 1, [&](size_t lo, size_t hi) {
                     for (size_t i = lo; i < hi; i++) gemm(s, a + i * sa, b + i * sb, out + i * sc);
                   });
                 }};
}

}  // namespace wgnas::compute
