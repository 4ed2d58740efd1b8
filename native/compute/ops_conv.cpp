// Convolution on oneDNN primitives: forward, backward data and backward weights, any grouping
// (depthwise, with or without a channel multiplier), stride and padding. Tensors are plain NCHW /
// OIHW (the layout every wgnas op and read() sees); each primitive is created with format `any`,
// so oneDNN picks its fastest layout (blocked nChw16c on AVX-512), and plain <-> blocked reorders run
// around it (measured: 3x3 convs at batch 64 run 2-3x faster blocked than on plain NCHW, and the
// reorders cost under a tenth of that). Primitives and reorders are cached per shape.
#include <oneapi/dnnl/dnnl.hpp>

#include <optional>

#include "op.hpp"

namespace wgnas::compute {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

struct ConvShape {
  int64_t N, Cin, H, W, Cout, KH, KW, OH, OW, stride, pad, groups;
  std::string key(const char* dir) const {
    std::string k = std::string("conv:") + dir;
    for (int64_t v : {N, Cin, H, W, Cout, KH, KW, stride, pad, groups}) k += ":" + std::to_string(v);
    return k;
  }
  size_t xNumel() const { return static_cast<size_t>(N * Cin * H * W); }
  size_t wNumel() const { return static_cast<size_t>(Cout * (Cin / groups) * KH * KW); }
  size_t yNumel() const { return static_cast<size_t>(N * Cout * OH * OW); }
};

ConvShape readShape(const Params& p) {
  ConvShape s{};
  s.N = nonNegative(p, "N");
  s.Cin = positive(p, "Cin");
  s.H = positive(p, "H");
  s.W = positive(p, "W");
  s.Cout = positive(p, "Cout");
  s.KH = positive(p, "KH");
  s.KW = positive(p, "KW");
  s.stride = positive(p, "stride");
  s.pad = nonNegative(p, "pad");
  s.groups = positive(p, "groups");
  if (s.Cin % s.groups || s.Cout % s.groups)
    throw OpError("groups " + std::to_string(s.groups) + " must divide Cin and Cout");
  s.OH = (s.H + 2 * s.pad - s.KH) / s.stride + 1;
  s.OW = (s.W + 2 * s.pad - s.KW) / s.stride + 1;
  if (s.H + 2 * s.pad < s.KH || s.W + 2 * s.pad < s.KW) throw OpError("kernel does not fit the padded input");
  return s;
}

// A plain <-> primitive-layout conversion; empty when the primitive takes the plain layout.
struct Relayout {
  memory::desc plain, want;
  std::optional<dnnl::reorder> in, out;  // plain -> want, want -> plain
  bool needed() const { return plain != want; }
};

struct ConvExec {
  dnnl::primitive prim;
  Relayout a, b, c;  // the two inputs and the output, in the primitive's argument order
  int argA, argB, argC;
  size_t scratchBytes = 0;
};

memory::desc plainAct(int64_t n, int64_t c, int64_t h, int64_t w) { return {{n, c, h, w}, dt::f32, tag::nchw}; }

memory::desc plainWeights(const ConvShape& s) {
  if (s.groups == 1) return {{s.Cout, s.Cin, s.KH, s.KW}, dt::f32, tag::oihw};
  // [Cout, Cin/g, KH, KW] is GOIHW with G outer: the same bytes.
  return {{s.groups, s.Cout / s.groups, s.Cin / s.groups, s.KH, s.KW}, dt::f32, tag::goihw};
}

memory::desc anyLike(const memory::desc& d) { return {d.dims(), dt::f32, tag::any}; }

Relayout relayout(const dnnl::engine& eng, const memory::desc& plain, const memory::desc& want, bool input) {
  Relayout r{plain, want, std::nullopt, std::nullopt};
  if (!r.needed()) return r;
  if (input) r.in = dnnl::reorder(dnnl::reorder::primitive_desc(eng, plain, eng, want));
  else r.out = dnnl::reorder(dnnl::reorder::primitive_desc(eng, want, eng, plain));
  return r;
}

struct ConvDescs {
  memory::desc x, w, y;
  memory::dims strides, padL, padR;
};

ConvDescs descs(const ConvShape& s) {
  // Right padding so that the output size is floor((H + 2 pad - K) / stride) + 1 exactly (it can be
  // smaller than pad, or negative when the last window ends before the input's last rows).
  int64_t padRH = (s.OH - 1) * s.stride + s.KH - s.H - s.pad;
  int64_t padRW = (s.OW - 1) * s.stride + s.KW - s.W - s.pad;
  return {plainAct(s.N, s.Cin, s.H, s.W), plainWeights(s), plainAct(s.N, s.Cout, s.OH, s.OW), {s.stride, s.stride},
          {s.pad, s.pad}, {padRH, padRW}};
}

dnnl::primitive_attr userScratchpad() {
  dnnl::primitive_attr a;
  a.set_scratchpad_mode(dnnl::scratchpad_mode::user);
  return a;
}

// A dense 1x1 convolution with stride 1 is one GEMM per image on plain NCHW ([Cout, Cin] x
// [Cin, H W]): oneDNN's GEMM path on the plain layout beats the blocked kernel once the blocked
// path's two activation reorders are counted (measured at NB201 sizes, batch 64: 0.2-0.3 ms
// against 0.2-0.6 ms). Its weight gradient is the exception (plain: 2-9x slower), so only the
// forward and data-gradient passes take this path.
bool plainGemm(const ConvShape& s) {
  return s.groups == 1 && s.KH == 1 && s.KW == 1 && s.stride == 1 && s.pad == 0;
}

// The device's convAlgorithm 'auto' takes Winograd F(4x4, 3x3) for the forward and data-gradient
// passes of dense 3x3 stride-1 convolutions with at least 32 channels in and out and a batch of 16
// or more, where it was measured faster (batch 64, one thread: 1.5-1.9x at 32 channels / 16 px and
// 64 / 8 px), and direct kernels elsewhere: at 16 channels Winograd was 10-25% slower (oneDNN's own
// convolution_auto still picks it there), and the weight gradient gains nothing. Where oneDNN has
// no Winograd kernel for the CPU, creation falls back to direct.
dnnl::algorithm convAlgorithm(const Runtime& rt, const ConvShape& s) {
  bool eligible = s.groups == 1 && s.KH == 3 && s.KW == 3 && s.stride == 1 && s.Cin >= 32 && s.Cout >= 32 && s.N >= 16;
  return rt.convAuto && eligible ? dnnl::algorithm::convolution_winograd : dnnl::algorithm::convolution_direct;
}

// Creates with `alg`, falling back to direct kernels when oneDNN has no implementation for it.
template <class Make>
auto withFallback(dnnl::algorithm alg, Make&& make) {
  if (alg == dnnl::algorithm::convolution_direct) return make(alg);
  try {
    return make(alg);
  } catch (const dnnl::error&) {
    return make(dnnl::algorithm::convolution_direct);
  }
}

dnnl::convolution_forward::primitive_desc forwardPd(const dnnl::engine& eng, const ConvDescs& d, bool plain = false,
                                                     dnnl::algorithm alg = dnnl::algorithm::convolution_direct) {
  auto pick = [plain](const memory::desc& m) { return plain ? m : anyLike(m); };
  auto desc = dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, alg,
                                              pick(d.x), pick(d.w), pick(d.y), d.strides, d.padL, d.padR);
  return dnnl::convolution_forward::primitive_desc(desc, userScratchpad(), eng);
}

ConvExec makeForward(Runtime& rt, const ConvShape& s) {
  ConvDescs d = descs(s);
  auto pd = withFallback(convAlgorithm(rt, s), [&](dnnl::algorithm alg) { return forwardPd(rt.engine, d, plainGemm(s), alg); });
  ConvExec e;
  e.prim = dnnl::convolution_forward(pd);
  e.a = relayout(rt.engine, d.x, pd.src_desc(), true);
  e.b = relayout(rt.engine, d.w, pd.weights_desc(), true);
  e.c = relayout(rt.engine, d.y, pd.dst_desc(), false);
  e.argA = DNNL_ARG_SRC;
  e.argB = DNNL_ARG_WEIGHTS;
  e.argC = DNNL_ARG_DST;
  e.scratchBytes = pd.scratchpad_desc().get_size();
  return e;
}

ConvExec makeBackwardData(Runtime& rt, const ConvShape& s) {
  ConvDescs d = descs(s);
  bool plain = plainGemm(s);
  auto pick = [plain](const memory::desc& m) { return plain ? m : anyLike(m); };
  auto pd = withFallback(convAlgorithm(rt, s), [&](dnnl::algorithm alg) {
    auto hint = forwardPd(rt.engine, d, plain, alg);
    auto desc = dnnl::convolution_backward_data::desc(alg, pick(d.x), pick(d.w), pick(d.y), d.strides, d.padL, d.padR);
    return dnnl::convolution_backward_data::primitive_desc(desc, userScratchpad(), rt.engine, hint);
  });
  ConvExec e;
  e.prim = dnnl::convolution_backward_data(pd);
  e.a = relayout(rt.engine, d.y, pd.diff_dst_desc(), true);
  e.b = relayout(rt.engine, d.w, pd.weights_desc(), true);
  e.c = relayout(rt.engine, d.x, pd.diff_src_desc(), false);
  e.argA = DNNL_ARG_DIFF_DST;
  e.argB = DNNL_ARG_WEIGHTS;
  e.argC = DNNL_ARG_DIFF_SRC;
  e.scratchBytes = pd.scratchpad_desc().get_size();
  return e;
}

ConvExec makeBackwardWeights(Runtime& rt, const ConvShape& s) {
  ConvDescs d = descs(s);
  auto hint = forwardPd(rt.engine, d);
  auto desc = dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, anyLike(d.x), anyLike(d.w),
                                                       anyLike(d.y), d.strides, d.padL, d.padR);
  auto pd = dnnl::convolution_backward_weights::primitive_desc(desc, userScratchpad(), rt.engine, hint);
  ConvExec e;
  e.prim = dnnl::convolution_backward_weights(pd);
  e.a = relayout(rt.engine, d.x, pd.src_desc(), true);
  e.b = relayout(rt.engine, d.y, pd.diff_dst_desc(), true);
  e.c = relayout(rt.engine, d.w, pd.diff_weights_desc(), false);
  e.argA = DNNL_ARG_SRC;
  e.argB = DNNL_ARG_DIFF_DST;
  e.argC = DNNL_ARG_DIFF_WEIGHTS;
  e.scratchBytes = pd.scratchpad_desc().get_size();
  return e;
}

size_t floatsFor(const memory::desc& d) { return (d.get_size() + sizeof(float) - 1) / sizeof(float); }

// Runs a cached convolution on plain buffers a, b (inputs) and c (output).
void execute(Runtime& rt, ConvExec& e, float* a, float* b, float* c) {
  auto& eng = rt.engine;
  auto& st = rt.stream;
  std::vector<Buf> temps;
  auto input = [&](Relayout& r, float* p) {
    memory user(r.plain, eng, p);
    if (!r.needed()) return user;
    temps.push_back(rt.temp(floatsFor(r.want)));
    memory m(r.want, eng, temps.back()->data);
    r.in->execute(st, user, m);
    return m;
  };
  memory ma = input(e.a, a);
  memory mb = input(e.b, b);
  memory mc(e.c.plain, eng, c);
  if (e.c.needed()) {
    temps.push_back(rt.temp(floatsFor(e.c.want)));
    mc = memory(e.c.want, eng, temps.back()->data);
  }
  std::unordered_map<int, memory> args{{e.argA, ma}, {e.argB, mb}, {e.argC, mc}};
  if (e.scratchBytes) {
    temps.push_back(rt.temp((e.scratchBytes + 3) / 4));
    args.emplace(DNNL_ARG_SCRATCHPAD, memory({{static_cast<int64_t>(e.scratchBytes)}, dt::u8, tag::x}, eng, temps.back()->data));
  }
  e.prim.execute(st, args);
  if (e.c.needed()) {
    memory plainOut(e.c.plain, eng, c);
    e.c.out->execute(st, mc, plainOut);
  }
  st.wait();
}

void zero(float* p, size_t n) { std::fill(p, p + n, 0.0f); }

}  // namespace

void registerConvOps(Registry& r) {
  // conv2d: [x, w, y] -> y = conv(x, w).
  r["conv2d"] = {"conv2d", 3,
                 [](const Params& p, const std::vector<size_t>& n) {
                   ConvShape s = readShape(p);
                   expectAtLeast(n, 0, s.xNumel(), "x");
                   expectAtLeast(n, 1, s.wNumel(), "w");
                   expectAtLeast(n, 2, s.yNumel(), "y");
                 },
                 [](Ctx& c) {
                   ConvShape s = readShape(c.p);
                   if (s.N == 0) return;
                   auto& e = c.rt.cached<ConvExec>(s.key(c.rt.convAuto ? "fwd-auto" : "fwd"), [&] { return makeForward(c.rt, s); });
                   execute(c.rt, e, c.ptr(0), c.ptr(1), c.ptr(2));
                 }};
  // conv2dBackwardInput: [dy, w, dx].
  r["conv2dBackwardInput"] = {"conv2dBackwardInput", 3,
                              [](const Params& p, const std::vector<size_t>& n) {
                                ConvShape s = readShape(p);
                                expectAtLeast(n, 0, s.yNumel(), "dy");
                                expectAtLeast(n, 1, s.wNumel(), "w");
                                expectAtLeast(n, 2, s.xNumel(), "dx");
                              },
                              [](Ctx& c) {
                                ConvShape s = readShape(c.p);
                                if (s.N == 0) return;
                                auto& e = c.rt.cached<ConvExec>(s.key(c.rt.convAuto ? "bwd_data-auto" : "bwd_data"),
                                                                [&] { return makeBackwardData(c.rt, s); });
                                execute(c.rt, e, c.ptr(0), c.ptr(1), c.ptr(2));
                              }};
  // conv2dBackwardWeight: [x, dy, dw].
  r["conv2dBackwardWeight"] = {"conv2dBackwardWeight", 3,
                               [](const Params& p, const std::vector<size_t>& n) {
                                 ConvShape s = readShape(p);
                                 expectAtLeast(n, 0, s.xNumel(), "x");
                                 expectAtLeast(n, 1, s.yNumel(), "dy");
                                 expectAtLeast(n, 2, s.wNumel(), "dw");
                               },
                               [](Ctx& c) {
                                 ConvShape s = readShape(c.p);
                                 if (s.N == 0) return zero(c.ptr(2), s.wNumel());  // an empty batch: an empty sum
                                 auto& e = c.rt.cached<ConvExec>(s.key("bwd_weights"), [&] { return makeBackwardWeights(c.rt, s); });
                                 execute(c.rt, e, c.ptr(0), c.ptr(1), c.ptr(2));
                               }};
}

}  // namespace wgnas::compute
