// Batched matmul C = alpha op(A) op(B) + beta C on oneDNN's matmul primitive (brgemm kernels:
// measured 4-5x faster than its sgemm on WRCor's Gram products, 64 x 64 outputs over K = 4096-16384).
// Transposes are strides on plain memory; a batch of one broadcasts; alpha is a runtime output
// scale and beta a sum post-op (so the cache keys on beta, not alpha). Primitives cached per shape.
#include <oneapi/dnnl/dnnl.hpp>

#include "op.hpp"

namespace wgnas::compute {
namespace {

using dnnl::memory;
using dt = memory::data_type;

struct MatmulShape {
  int64_t batch, M, N, K;
  bool tA, tB, batchA, batchB;
  float alpha, beta;
  std::string key() const {
    std::string k = "matmul";
    for (int64_t v : {batch, M, N, K, int64_t(tA), int64_t(tB), int64_t(batchA), int64_t(batchB)}) k += ":" + std::to_string(v);
    return k + ":" + std::to_string(beta);
  }
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

// [b, rows, cols] stored row-major, or transposed (stored [b, cols, rows]).
memory::desc operand(int64_t b, int64_t rows, int64_t cols, bool transposed) {
  memory::dims strides = transposed ? memory::dims{rows * cols, 1, rows} : memory::dims{rows * cols, cols, 1};
  return memory::desc({b, rows, cols}, dt::f32, strides);
}

struct MatmulExec {
  dnnl::matmul prim;
  memory::desc a, b, c;
  size_t scratchBytes = 0;
};

MatmulExec make(Runtime& rt, const MatmulShape& s) {
  MatmulExec e;
  e.a = operand(s.batchA ? s.batch : 1, s.M, s.K, s.tA);
  e.b = operand(s.batchB ? s.batch : 1, s.K, s.N, s.tB);
  e.c = operand(s.batch, s.M, s.N, false);
  dnnl::primitive_attr attr;
  attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  attr.set_output_scales(0, {DNNL_RUNTIME_F32_VAL});
  if (s.beta != 0) {
    dnnl::post_ops po;
    po.append_sum(s.beta);
    attr.set_post_ops(po);
  }
  dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(e.a, e.b, e.c), attr, rt.engine);
  e.prim = dnnl::matmul(pd);
  e.scratchBytes = pd.scratchpad_desc().get_size();
  return e;
}

void run(Ctx& c) {
  MatmulShape s = readShape(c.p);
  if (s.M == 0 || s.N == 0) return;
  float* out = c.ptr(2);
  if (s.K == 0) {  // an empty sum: C = beta C
    size_t n = static_cast<size_t>(s.batch * s.M * s.N);
    for (size_t i = 0; i < n; i++) out[i] = s.beta == 0 ? 0.0f : s.beta * out[i];
    return;
  }
  auto& e = c.rt.cached<MatmulExec>(s.key(), [&] { return make(c.rt, s); });
  auto& eng = c.rt.engine;
  float alpha = s.alpha;
  memory scale({{1}, dt::f32, memory::format_tag::x}, eng, &alpha);
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, memory(e.a, eng, c.ptr(0))},
                                       {DNNL_ARG_WEIGHTS, memory(e.b, eng, c.ptr(1))},
                                       {DNNL_ARG_DST, memory(e.c, eng, out)},
                                       {DNNL_ARG_ATTR_OUTPUT_SCALES, scale}};
  Buf scratch;
  if (e.scratchBytes) {
    scratch = c.rt.temp((e.scratchBytes + 3) / 4);
    args.emplace(DNNL_ARG_SCRATCHPAD, memory({{static_cast<int64_t>(e.scratchBytes)}, dt::u8, memory::format_tag::x}, eng, scratch->data));
  }
  e.prim.execute(c.rt.stream, args);
  c.rt.stream.wait();
}

}  // namespace

void registerMatmulOps(Registry& r) {
  // matmul: [a, b, c]. batchA/batchB: whether the operand has a batch dimension (else broadcast).
  r["matmul"] = {"matmul", 3,
                 [](const Params& p, const std::vector<size_t>& n) {
                   MatmulShape s = readShape(p);
                   expectAtLeast(n, 0, elems({s.batchA ? s.batch : 1, s.M, s.K}), "a");
                   expectAtLeast(n, 1, elems({s.batchB ? s.batch : 1, s.K, s.N}), "b");
                   expectAtLeast(n, 2, elems({s.batch, s.M, s.N}), "c");
                 },
                 run};
}

}  // namespace wgnas::compute
