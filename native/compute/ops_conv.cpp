// Convolution on oneDNN primitives: forward, backward data and backward weights, any grouping
// (depthwise, with or without a channel multiplier), stride and padding. Tensors are plain NCHW /
// OIHW (the layout every wgnas op and read() sees); each primitive is created with format `any`,
// so oneDNN picks its fastest layout (blocked nChw16c on AVX-512), and plain <-> blocked reorders run
// around it (measured: 3x3 convs at batch 64 run 2-3x faster blocked than on plain NCHW, and the
// reorders cost under a tenth of that). Primitives and reorders are cached per shape.
#include <oneapi/dnnl/dnnl.hpp>

#include <optional>

#include "depthwise_small.hpp"
#include "op.hpp"
#include "parallel.hpp"
#include "relayout16.hpp"
#include "simd.hpp"

namespace wgnas::compute {

// t[j] += Σ_i a[i] b[i + j] for j < nk (nk <= 8): nk independent vector accumulators.
template <int NK>
inline void dotShiftsN(const float* a, const float* b, int64_t len, float* t) {
  constexpr int L = 16;  // one AVX-512 register of lanes per accumulator row
  float acc[NK][L] = {};
  int64_t i = 0;
  for (; i + L <= len; i += L) {
    for (int j = 0; j < NK; j++) {
#pragma omp simd
      for (int l = 0; l < L; l++) acc[j][l] += a[i + l] * b[i + j + l];
    }
  }
  for (int j = 0; j < NK; j++) {
    float s = 0;
    for (int l = 0; l < L; l++) s += acc[j][l];
    for (int64_t k = i; k < len; k++) s += a[k] * b[k + j];
    t[j] += s;
  }
}

inline void dotShifts(const float* a, const float* b, int64_t len, int64_t nk, float* t) {
  switch (nk) {
    case 1: return dotShiftsN<1>(a, b, len, t);
    case 2: return dotShiftsN<2>(a, b, len, t);
    case 3: return dotShiftsN<3>(a, b, len, t);
    case 4: return dotShiftsN<4>(a, b, len, t);
    case 5: return dotShiftsN<5>(a, b, len, t);
    case 6: return dotShiftsN<6>(a, b, len, t);
    case 7: return dotShiftsN<7>(a, b, len, t);
    default: return dotShiftsN<8>(a, b, len, t);
  }
}

// Depthwise weight gradient on plain NCHW, one channel of all N images: dw[kh, kw] =
// Σ_n Σ_oh Σ_ow dy[n, oh, ow] x[n, oh s - p + kh, ow s - p + kw]. The zero-padded x plane is split
// into s x s phase planes (rows and columns by residue mod s), each Wq wide, and dy is copied into
// rows of the same width with zero tails: then every (kh, kw) term is ONE contiguous dot product of
// OH Wq elements, dy against the phase plane (kh mod s, kw mod s) shifted by (kh / s) Wq + kw / s.
// Long contiguous dot products vectorise; the direct loops over 4-16 wide output rows ran scalar.
// `scratch` holds s s Hq Wq + OH Wq floats. Outside the anonymous namespace so that its ISA clones
// get external names (target_clones needs them).
WGNAS_CLONES void depthwiseBwdWeightsChannel(const float* x, const float* dy, float* dw, float* scratch, int64_t N, int64_t chanStrideX,
                                             int64_t chanStrideY, int64_t H, int64_t W, int64_t OH, int64_t OW, int64_t K,
                                             int64_t stride, int64_t pad) {
  const int64_t s = stride, Hp = H + 2 * pad, Wp = W + 2 * pad;
  const int64_t Hq = (Hp + s - 1) / s, Wq = (Wp + s - 1) / s;
  const int64_t plane = Hq * Wq, len = OH * Wq;
  float* phases = scratch;
  float* dyp = scratch + s * s * plane;
  double acc[16 * 16] = {};
  std::fill(phases, phases + s * s * plane, 0.0f);
  std::fill(dyp, dyp + len, 0.0f);
  for (int64_t n = 0; n < N; n++) {
    const float* xp = x + n * chanStrideX;
    const float* dp = dy + n * chanStrideY;
    // Padded x -> phase planes (the padding and the tails stay zero from the fill above).
    if (s == 1) {
      for (int64_t h = 0; h < H; h++) std::copy(xp + h * W, xp + h * W + W, phases + (h + pad) * Wq + pad);
    } else {
      for (int64_t h = 0; h < H; h++) {
        int64_t hp = h + pad;
        float* rowBase = phases + ((hp % s) * s) * plane + (hp / s) * Wq;
        for (int64_t r = 0; r < s; r++) {
          int64_t w0 = ((r - pad) % s + s) % s;  // first w with (w + pad) mod s == r
          float* dst = rowBase + r * plane + (w0 + pad) / s;
          for (int64_t w = w0, q = 0; w < W; w += s, q++) dst[q] = xp[h * W + w];
        }
      }
    }
    for (int64_t oh = 0; oh < OH; oh++) std::copy(dp + oh * OW, dp + oh * OW + OW, dyp + oh * Wq);
    for (int64_t kh = 0; kh < K; kh++) {
      // The kw of one residue mod s share a phase plane at consecutive shifts: their dot
      // products run in one pass with independent accumulators (no FMA latency chain).
      for (int64_t r = 0; r < s && r < K; r++) {
        const int64_t count = (K - r + s - 1) / s;  // kw = r, r + s, ...
        const float* ph = phases + ((kh % s) * s + r) * plane + (kh / s) * Wq;
        float t[16] = {};
        for (int64_t j0 = 0; j0 < count; j0 += 8) dotShifts(dyp, ph + j0, len, std::min<int64_t>(8, count - j0), t + j0);
        for (int64_t j = 0; j < count; j++) acc[kh * K + r + j * s] += t[j];
      }
    }
  }
  for (int64_t k = 0; k < K * K; k++) dw[k] = static_cast<float>(acc[k]);
}

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
  size_t xNumel() const { return elems({N, Cin, H, W}); }
  size_t wNumel() const { return elems({Cout, Cin / groups, KH, KW}); }
  size_t yNumel() const { return elems({N, Cout, OH, OW}); }
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
  // want is nChw16c of an activation (its last channel block zero-padded when C is not a multiple
  // of 16): relayout16.hpp's loops run it, 2-10x faster than oneDNN's reorder where C % 16 != 0
  // (its generic path), as fast where C % 16 == 0.
  bool blocked16 = false;
  bool needed() const { return plain != want; }
};

struct ConvExec {
  // Depthwise weight gradients where oneDNN has no depthwise kernel for the shape (it falls back to
  // per-group GEMMs, 20-100x slower: a 7x7 at 96 channels, 16 px, batch 32: 35 ms against ~1 ms).
  bool handDepthwise = false;
  dnnl::primitive prim;
  Relayout a, b, c;  // the two inputs and the output, in the primitive's argument order
  int argA = 0, argB = 0, argC = 0;
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
  const memory::dims d = plain.dims();
  r.blocked16 = d.size() == 4 && want == memory::desc(d, dt::f32, tag::nChw16c);
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

// One of a pass's tensors: its plain layout, the layout the primitive wants and its argument.
struct Operand {
  memory::desc plain, want;
  int arg;
};

// The cached form of a pass (every pass's tail): the primitive, its inputs a, b and output c with
// their relayouts, and its scratchpad's size.
ConvExec bind(const dnnl::engine& eng, dnnl::primitive prim, const memory::desc& scratch, const Operand& a, const Operand& b,
              const Operand& c) {
  ConvExec e;
  e.prim = prim;
  e.a = relayout(eng, a.plain, a.want, true);
  e.b = relayout(eng, b.plain, b.want, true);
  e.c = relayout(eng, c.plain, c.want, false);
  e.argA = a.arg;
  e.argB = b.arg;
  e.argC = c.arg;
  e.scratchBytes = scratch.get_size();
  return e;
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
  return bind(rt.engine, dnnl::convolution_forward(pd), pd.scratchpad_desc(), {d.x, pd.src_desc(), DNNL_ARG_SRC},
              {d.w, pd.weights_desc(), DNNL_ARG_WEIGHTS}, {d.y, pd.dst_desc(), DNNL_ARG_DST});
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
  return bind(rt.engine, dnnl::convolution_backward_data(pd), pd.scratchpad_desc(), {d.y, pd.diff_dst_desc(), DNNL_ARG_DIFF_DST},
              {d.w, pd.weights_desc(), DNNL_ARG_WEIGHTS}, {d.x, pd.diff_src_desc(), DNNL_ARG_DIFF_SRC});
}

ConvExec makeBackwardWeights(Runtime& rt, const ConvShape& s) {
  ConvDescs d = descs(s);
  auto hint = forwardPd(rt.engine, d);
  auto desc = dnnl::convolution_backward_weights::desc(dnnl::algorithm::convolution_direct, anyLike(d.x), anyLike(d.w),
                                                       anyLike(d.y), d.strides, d.padL, d.padR);
  auto pd = dnnl::convolution_backward_weights::primitive_desc(desc, userScratchpad(), rt.engine, hint);
  bool depthwise = s.groups == s.Cin && s.Cout == s.Cin && s.KH == s.KW && s.KH <= 16;
  if (depthwise && std::string(pd.impl_info_str()).rfind("jit_dw", 0) != 0) {
    ConvExec e;
    e.handDepthwise = true;
    return e;
  }
  return bind(rt.engine, dnnl::convolution_backward_weights(pd), pd.scratchpad_desc(), {d.x, pd.src_desc(), DNNL_ARG_SRC},
              {d.y, pd.diff_dst_desc(), DNNL_ARG_DIFF_DST}, {d.w, pd.diff_weights_desc(), DNNL_ARG_DIFF_WEIGHTS});
}

size_t floatsFor(const memory::desc& d) { return (d.get_size() + sizeof(float) - 1) / sizeof(float); }

// The ReLU-Conv pair's ReLU folded into a pass: reluA takes relu(a) for the first input (a is the
// pre-activation); maskC multiplies the output by mask > 0 (the ReLU's gradient; mask: its input).
struct Fuse {
  bool reluA = false;
  const float* maskC = nullptr;
};

size_t numel(const memory::desc& d) {
  size_t n = 1;
  for (auto v : d.dims()) n *= static_cast<size_t>(v);
  return n;
}

// Runs a cached convolution on plain buffers a, b (inputs) and c (output).
void execute(Runtime& rt, ConvExec& e, float* a, float* b, float* c, const Fuse& f = {}) {
  auto& eng = rt.engine;
  auto& st = rt.stream;
  std::vector<Buf> temps;
  auto input = [&](Relayout& r, float* p, bool relu) {
    if (r.needed() && r.blocked16) {
      const memory::dims d = r.plain.dims();
      temps.push_back(rt.temp(floatsFor(r.want)));
      toBlocked16(rt.threads, p, temps.back()->data, d[0], d[1], d[2] * d[3], relu);
      return memory(r.want, eng, temps.back()->data);
    }
    if (relu) {  // relu(a) into a plain temporary, then as usual
      temps.push_back(rt.temp(numel(r.plain)));
      reluInto(rt.threads, p, temps.back()->data, numel(r.plain));
      p = temps.back()->data;
    }
    memory user(r.plain, eng, p);
    if (!r.needed()) return user;
    temps.push_back(rt.temp(floatsFor(r.want)));
    memory m(r.want, eng, temps.back()->data);
    r.in->execute(st, user, m);
    return m;
  };
  memory ma = input(e.a, a, f.reluA);
  memory mb = input(e.b, b, false);
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
  if (e.c.needed() && e.c.blocked16) {
    st.wait();
    const memory::dims d = e.c.plain.dims();
    fromBlocked16(rt.threads, static_cast<float*>(mc.get_data_handle()), c, f.maskC, d[0], d[1], d[2] * d[3]);
    return;
  }
  if (e.c.needed()) {
    memory plainOut(e.c.plain, eng, c);
    e.c.out->execute(st, mc, plainOut);
  }
  st.wait();
  if (f.maskC) maskInPlace(rt.threads, c, f.maskC, numel(e.c.plain));
}

void zero(float* p, size_t n) { std::fill(p, p + n, 0.0f); }

// Depthwise with a kernel larger than the plane: direct loops (depthwise_small.hpp) for the forward
// pass and the weight gradient, where oneDNN runs per-group GEMMs (forward) or our phase-plane loops
// would pad a 2x2 plane to 8x8; oneDNN's depthwise data gradient handles these shapes (and is faster).
std::optional<DepthwiseShape> smallPlaneDepthwise(const ConvShape& s) {
  if (s.groups != s.Cin || s.Cout != s.Cin || s.KH != s.KW || !depthwiseSmallPlane(s.H, s.W, s.KH, s.KW)) return std::nullopt;
  return DepthwiseShape{s.N, s.Cin, s.H, s.W, s.KH, s.OH, s.OW, s.stride, s.pad};
}

// Depthwise weight gradients without a oneDNN depthwise kernel (5x5 / 7x7, stride 2 or small
// planes) on planes up to 32 x 32 px run depthwisePaddedBackwardWeights: at batch 32 it took
// 0.25-0.6 ms where the phase-plane loops took 0.75-1.8 ms on 8 x 8 px, and 10-40% less on 16 x 16
// and 32 x 32 px. Larger planes (its padded 16-image planes outgrow L2) keep the phase-plane loops.
constexpr int64_t kPaddedDepthwisePlane = 32 * 32;

// x itself, or relu(x) in a temporary (held by `hold`) for the paths that read plain x directly.
const float* maybeRelu(Ctx& c, const float* x, size_t n, Buf& hold) {
  if (!c.p.b("relu")) return x;
  hold = c.rt.temp(n);
  reluInto(c.threads(), x, hold->data, n);
  return hold->data;
}

}  // namespace

void registerConvOps(Registry& r) {
  // conv2d: [x, w, y] -> y = conv(x, w); with relu: conv(relu(x), w), the ReLU-Conv pair.
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
                   if (auto d = smallPlaneDepthwise(s)) {
                     Buf hold;
                     return depthwiseSmallForward(c.threads(), *d, maybeRelu(c, c.ptr(0), s.xNumel(), hold), c.ptr(1), c.ptr(2));
                   }
                   auto& e = c.rt.cached<ConvExec>(s.key(c.rt.convAuto ? "fwd-auto" : "fwd"), [&] { return makeForward(c.rt, s); });
                   execute(c.rt, e, c.ptr(0), c.ptr(1), c.ptr(2), Fuse{c.p.b("relu"), nullptr});
                 }};
  // conv2dBackwardInput: [dy, w, dx]; with reluMask: [dy, w, dx, x], dx masked by x > 0 (the
  // ReLU-Conv pair's data gradient, x the ReLU's input).
  r["conv2dBackwardInput"] = {"conv2dBackwardInput", -1,
                              [](const Params& p, const std::vector<size_t>& n) {
                                ConvShape s = readShape(p);
                                if (n.size() != (p.b("reluMask") ? 4u : 3u)) throw OpError(p.b("reluMask") ? "expected 4 tensors" : "expected 3 tensors");
                                expectAtLeast(n, 0, s.yNumel(), "dy");
                                expectAtLeast(n, 1, s.wNumel(), "w");
                                expectAtLeast(n, 2, s.xNumel(), "dx");
                                if (n.size() == 4) expectAtLeast(n, 3, s.xNumel(), "x");
                              },
                              [](Ctx& c) {
                                ConvShape s = readShape(c.p);
                                if (s.N == 0) return;
                                auto& e = c.rt.cached<ConvExec>(s.key(c.rt.convAuto ? "bwd_data-auto" : "bwd_data"),
                                                                [&] { return makeBackwardData(c.rt, s); });
                                execute(c.rt, e, c.ptr(0), c.ptr(1), c.ptr(2), Fuse{false, c.p.b("reluMask") ? c.ptr(3) : nullptr});
                              }};
  // conv2dBackwardWeight: [x, dy, dw]; with relu: the gradient of conv(relu(x), w).
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
                                 Buf hold;
                                 if (auto d = smallPlaneDepthwise(s))
                                   return depthwiseSmallBackwardWeights(c.threads(), *d, maybeRelu(c, c.ptr(0), s.xNumel(), hold), c.ptr(1),
                                                                        c.ptr(2));
                                 auto& e = c.rt.cached<ConvExec>(s.key("bwd_weights"), [&] { return makeBackwardWeights(c.rt, s); });
                                 if (e.handDepthwise && s.H * s.W <= kPaddedDepthwisePlane) {
                                   const float* x = maybeRelu(c, c.ptr(0), s.xNumel(), hold);
                                   return depthwisePaddedBackwardWeights(
                                       c.threads(), DepthwiseShape{s.N, s.Cin, s.H, s.W, s.KH, s.OH, s.OW, s.stride, s.pad}, x, c.ptr(1), c.ptr(2));
                                 }
                                 if (e.handDepthwise) {
                                   const float* x = maybeRelu(c, c.ptr(0), s.xNumel(), hold);
                                   const float* dy = c.ptr(1);
                                   float* dw = c.ptr(2);
                                   size_t work = static_cast<size_t>(s.N * s.OH * s.OW * s.KH * s.KW);
                                   size_t grain = std::max<size_t>(1, kSerialElems / std::max<size_t>(work, 1));
                                   parallelRange(c.threads(), static_cast<size_t>(s.Cin), grain, [&](size_t lo, size_t hi) {
                                     int64_t Hq = (s.H + 2 * s.pad + s.stride - 1) / s.stride, Wq = (s.W + 2 * s.pad + s.stride - 1) / s.stride;
                                     std::vector<float> acc(elems({s.stride, s.stride, Hq, Wq}) + elems({s.OH, Wq}));
                                     for (size_t ch = lo; ch < hi; ch++) {
                                       depthwiseBwdWeightsChannel(x + ch * s.H * s.W, dy + ch * s.OH * s.OW, dw + ch * s.KH * s.KW, acc.data(), s.N,
                                                                  s.Cin * s.H * s.W, s.Cout * s.OH * s.OW, s.H, s.W, s.OH, s.OW, s.KH,
                                                                  s.stride, s.pad);
                                     }
                                   });
                                   return;
                                 }
                                 execute(c.rt, e, c.ptr(0), c.ptr(1), c.ptr(2), Fuse{c.p.b("relu"), nullptr});
                               }};
}

}  // namespace wgnas::compute
