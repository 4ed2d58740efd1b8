// oneDNN (DNNL 2.x C++ API) backend. Activations are NHWC; weights use the layout the primitive asks
// for (format `any`), reordered once at setup. BN is folded into the conv bias; ReLU6 is an eltwise_clip
// post-op; the identity skip is a binary add; the classifier is a pooling + inner product.
#include <omp.h>

#include <oneapi/dnnl/dnnl.hpp>
#include <algorithm>
#include <stdexcept>
#include <unordered_map>

#include "affinity.hpp"
#include "backend.hpp"
#include "clock.hpp"

namespace wgnas {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

namespace {

struct Step {
  dnnl::primitive prim;
  std::unordered_map<int, memory> args;
};

class OnednnRunner : public Runner {
 public:
  OnednnRunner(const std::vector<OpSpec>& ops, int threads, const GivenData* given)
      : threads_(threads), batch_(ops.front().batch), given_(given) {
    omp_set_num_threads(threads_);  // oneDNN sizes its work split from this at primitive creation
    const OpSpec& first = ops.front();
    memory x = first.kind == OpKind::Linear ? mem({batch_, first.inC}, tag::nc) : act(first.inH, first.inW, first.inC);
    if (given_) copyInto(x, given_->input, "input");
    else fillRandom(ptr(x), x.get_desc().get_size() / sizeof(float), 1, 1.0f);
    for (const OpSpec& o : ops) {
      x = add(o, x);
      opEnd_.push_back(steps_.size());
    }
    out_ = x;
  }

  std::vector<float> output() override {
    // Every op's dst is created with a plain tag (nhwc / nc), so the buffer is already dense NHWC.
    const float* p = ptr(out_);
    return std::vector<float>(p, p + out_.get_desc().get_size() / sizeof(float));
  }

  void run() override {
    for (Step& s : steps_) s.prim.execute(stream_, s.args);
    stream_.wait();
  }

  void runPerOp(std::vector<uint64_t>& opNs) override {
    size_t step = 0;
    for (size_t op = 0; op < opEnd_.size(); op++) {
      uint64_t t0 = monotonicNs();
      for (; step < opEnd_[op]; step++) steps_[step].prim.execute(stream_, steps_[step].args);
      stream_.wait();
      opNs[op] += monotonicNs() - t0;
    }
  }

  std::string pin(const std::vector<int>& cpus) override {
    if (cpus.empty()) return "no CPUs in this process's affinity mask";
    saved_.assign(threads_, SavedAffinity{});
    std::vector<std::string> errs(threads_);
#pragma omp parallel num_threads(threads_)
    {
      int t = omp_get_thread_num();
      errs[t] = pinCurrentThread(cpus[t % cpus.size()], saved_[t]);
    }
    for (auto& e : errs)
      if (!e.empty()) return e;
    return "";
  }

  void flushCaches(size_t bytes) override {
    if (flush_.size() != static_cast<size_t>(threads_)) flush_.assign(threads_, std::vector<unsigned char>(bytes));
#pragma omp parallel num_threads(threads_)
    touchBuffer(flush_[omp_get_thread_num()]);
  }

  void restore() override {
    if (saved_.empty()) return;
#pragma omp parallel num_threads(threads_)
    {
      int t = omp_get_thread_num();
      if (t < static_cast<int>(saved_.size())) restoreCurrentThread(saved_[t]);
    }
    saved_.clear();
  }

 private:
  int threads_;
  memory::dim batch_;
  const GivenData* given_;  // caller's data for a single conv (run()), else null
  memory out_;
  dnnl::engine engine_{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream_{engine_};
  std::vector<Step> steps_;
  std::vector<size_t> opEnd_;  // steps_ index one past each op's last primitive
  std::vector<SavedAffinity> saved_;
  std::vector<std::vector<unsigned char>> flush_;
  unsigned seed_ = 7;

  static float* ptr(const memory& m) { return static_cast<float*>(m.get_data_handle()); }
  memory mem(const memory::dims& d, tag t) { return memory({d, dt::f32, t}, engine_); }
  memory act(int h, int w, int c) { return mem({batch_, c, h, w}, tag::nhwc); }

  static void copyInto(const memory& m, const std::vector<float>& src, const char* what) {
    if (src.size() * sizeof(float) != m.get_desc().get_size())
      throw std::runtime_error(std::string(what) + " size " + std::to_string(src.size()) + " does not match the op");
    std::copy(src.begin(), src.end(), ptr(m));
  }

  // Weights created in a plain layout (OIHW / GOIHW: for groups = channels and one channel per group
  // the same order as wgnas' [C, 1, k, k]), filled, then reordered (untimed) into the primitive's layout.
  memory weights(const memory::desc& want, const memory::dims& dims, tag plain, float scale) {
    memory user = mem(dims, plain);
    if (given_) copyInto(user, given_->weights, "weights");
    else fillRandom(ptr(user), user.get_desc().get_size() / sizeof(float), seed_++, scale);
    if (want == user.get_desc()) return user;
    memory w(want, engine_);
    dnnl::reorder(user, w).execute(stream_, user, w);
    stream_.wait();
    return w;
  }

  memory bias(int n) {
    memory b = mem({n}, tag::x);
    if (!given_) fillRandom(ptr(b), n, seed_++, 0.1f);
    else if (given_->bias.empty()) std::fill(ptr(b), ptr(b) + n, 0.0f);
    else copyInto(b, given_->bias, "bias");
    return b;
  }

  memory conv(const memory& src, int inC, int outC, int k, int stride, int groups, bool relu6, int h, int w) {
    int oh = (h - 1) / stride + 1, ow = (w - 1) / stride + 1, pad = k / 2;
    memory::dims wdims = groups > 1 ? memory::dims{groups, outC / groups, inC / groups, k, k}
                                    : memory::dims{outC, inC, k, k};
    memory::desc wAny(wdims, dt::f32, tag::any);
    memory::desc dstMd({batch_, outC, oh, ow}, dt::f32, tag::nhwc);
    memory::desc biasMd({outC}, dt::f32, tag::x);
    dnnl::convolution_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                      src.get_desc(), wAny, biasMd, dstMd, {stride, stride}, {pad, pad}, {pad, pad});
    dnnl::primitive_attr attr;
    if (relu6) {
      dnnl::post_ops po;
      po.append_eltwise(1.0f, dnnl::algorithm::eltwise_clip, 0.0f, 6.0f);
      attr.set_post_ops(po);
    }
    dnnl::convolution_forward::primitive_desc pd(d, attr, engine_);
    float scale = 1.0f / static_cast<float>(k * k * (inC / groups));
    memory wm = weights(pd.weights_desc(), wdims, groups > 1 ? tag::goihw : tag::oihw, scale);
    memory dst(pd.dst_desc(), engine_);
    steps_.push_back({dnnl::convolution_forward(pd),
                      {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_BIAS, bias(outC)}, {DNNL_ARG_DST, dst}}});
    return dst;
  }

  memory pool(const memory& src, int h, int w, int c) {
    memory::desc dstMd({batch_, c, 1, 1}, dt::f32, tag::nhwc);
    dnnl::pooling_forward::desc d(dnnl::prop_kind::forward_inference, dnnl::algorithm::pooling_avg_exclude_padding,
                                  src.get_desc(), dstMd, {1, 1}, {h, w}, {0, 0}, {0, 0});
    dnnl::pooling_forward::primitive_desc pd(d, engine_);
    memory dst(pd.dst_desc(), engine_);
    steps_.push_back({dnnl::pooling_forward(pd), {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}}});
    return dst;
  }

  memory linear(const memory& src, int inC, int outC) {
    bool is4d = src.get_desc().data.ndims == 4;
    memory::dims wdims = is4d ? memory::dims{outC, inC, 1, 1} : memory::dims{outC, inC};
    memory::desc wAny(wdims, dt::f32, tag::any);
    memory::desc dstMd({batch_, outC}, dt::f32, tag::nc);
    memory::desc biasMd({outC}, dt::f32, tag::x);
    dnnl::inner_product_forward::desc d(dnnl::prop_kind::forward_inference, src.get_desc(), wAny, biasMd, dstMd);
    dnnl::inner_product_forward::primitive_desc pd(d, engine_);
    memory wm = weights(pd.weights_desc(), wdims, is4d ? tag::oihw : tag::oi, 1.0f / static_cast<float>(inC));
    memory dst(pd.dst_desc(), engine_);
    steps_.push_back({dnnl::inner_product_forward(pd),
                      {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wm}, {DNNL_ARG_BIAS, bias(outC)}, {DNNL_ARG_DST, dst}}});
    return dst;
  }

  // In place: y += x.
  void residual(const memory& y, const memory& x) {
    dnnl::binary::desc d(dnnl::algorithm::binary_add, y.get_desc(), x.get_desc(), y.get_desc());
    dnnl::binary::primitive_desc pd(d, engine_);
    steps_.push_back({dnnl::binary(pd), {{DNNL_ARG_SRC_0, y}, {DNNL_ARG_SRC_1, x}, {DNNL_ARG_DST, y}}});
  }

  memory add(const OpSpec& o, const memory& x) {
    switch (o.kind) {
      case OpKind::Conv:
        return conv(x, o.inC, o.outC, o.kernel, o.stride, 1, o.relu6, o.inH, o.inW);
      case OpKind::DwConv:
        return conv(x, o.inC, o.inC, o.kernel, o.stride, o.inC, o.relu6, o.inH, o.inW);
      case OpKind::MBConv: {
        int mid = o.inC * o.expand;
        memory h = o.expand == 1 ? x : conv(x, o.inC, mid, 1, 1, 1, true, o.inH, o.inW);
        h = conv(h, mid, mid, o.kernel, o.stride, mid, true, o.inH, o.inW);
        memory y = conv(h, mid, o.outC, 1, 1, 1, false, o.outH(), o.outW());
        if (o.idskip) residual(y, x);
        return y;
      }
      case OpKind::Pool:
        return pool(x, o.inH, o.inW, o.inC);
      case OpKind::Linear:
        return linear(x, o.inC, o.outC);
      case OpKind::Logits:
        return linear(pool(x, o.inH, o.inW, o.inC), o.inC, o.outC);
    }
    throw std::runtime_error("unknown op kind");
  }
};

// The x64 ISA names: oneDNN 2.6's cpu_isa enum has no aarch64 values, so an Arm build reports none.
const char* isaName(dnnl::cpu_isa isa) {
#if !defined(__x86_64__)
  (void)isa;
  return "";
#endif
  switch (isa) {
    case dnnl::cpu_isa::sse41: return "sse41";
    case dnnl::cpu_isa::avx: return "avx";
    case dnnl::cpu_isa::avx2: return "avx2";
    case dnnl::cpu_isa::avx2_vnni: return "avx2_vnni";
    case dnnl::cpu_isa::avx512_mic: return "avx512_mic";
    case dnnl::cpu_isa::avx512_mic_4ops: return "avx512_mic_4ops";
    case dnnl::cpu_isa::avx512_core: return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
    default: return "other";
  }
}

}  // namespace

std::unique_ptr<Runner> makeOnednn(const std::vector<OpSpec>& ops, int threads, const GivenData* given) {
  if (given) {
    std::string err = checkGiven(ops, *given);
    if (!err.empty()) throw std::runtime_error("oneDNN run: " + err);
  }
  // Threads are set through OpenMP; other builds of the library would silently ignore the request.
  int runtime = dnnl_version()->cpu_runtime;
  if (threads > 1 && runtime != DNNL_RUNTIME_OMP) {
    throw std::runtime_error("this oneDNN build uses the " + onednnInfo().runtime +
                             " CPU runtime, so wgnas cannot set its thread count: use threads = 1");
  }
  try {
    return std::make_unique<OnednnRunner>(ops, threads, given);
  } catch (const dnnl::error& e) {
    throw std::runtime_error("oneDNN could not build the ops: " + onednnErrorText(e.what(), static_cast<int>(e.status)));
  } catch (const std::bad_alloc&) {
    throw std::runtime_error("oneDNN could not build the ops: out of memory for their buffers: use a smaller batch or input");
  }
}

std::string onednnErrorText(const std::string& what, int status) {
  switch (status) {
    case dnnl_out_of_memory:
      return what + " (out of memory: use a smaller batch or input, or free memory)";
    case dnnl_invalid_arguments:
      return what + " (oneDNN rejected the sizes: check the op's parameters)";
    case dnnl_unimplemented:
      return what + " (oneDNN " + onednnInfo().version + " has no kernel for these sizes on this CPU)";
    default:
      return what + " (oneDNN status " + std::to_string(status) + ")";
  }
}

BackendInfo onednnInfo() {
  const dnnl_version_t* v = dnnl_version();
  BackendInfo info;
  info.name = "onednn";
  info.available = true;
  info.version = std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
  info.runtime = v->cpu_runtime == DNNL_RUNTIME_OMP   ? "OpenMP"
                 : v->cpu_runtime == DNNL_RUNTIME_TBB ? "TBB"
                 : v->cpu_runtime == DNNL_RUNTIME_SEQ ? "sequential"
                                                      : "other";
  info.isa = isaName(dnnl::get_effective_cpu_isa());  // "" off x64: describe() then omits it
  return info;
}

}  // namespace wgnas
