// XNNPACK backend (the mobile-style inference library TFLite uses), built only when CMake found
// libxnnpack-dev and a test program linked against it (WGNAS_HAVE_XNNPACK). Operators are created and
// set up once; run() is xnn_run_operator over the chain. Threads come from a pthreadpool.
#include <algorithm>
#include <cstddef>
#include <limits>
#include <mutex>
#include <stdexcept>

#include "affinity.hpp"
#include "backend.hpp"
#include "clock.hpp"

#ifdef WGNAS_HAVE_XNNPACK
#include <xnnpack.h>
#endif

namespace wgnas {

#ifdef WGNAS_HAVE_XNNPACK
namespace {

std::once_flag initOnce;
xnn_status initStatus = xnn_status_uninitialized;

xnn_status ensureInit() {
  std::call_once(initOnce, [] { initStatus = xnn_initialize(nullptr); });
  return initStatus;
}

// The status by name, with what to do: "xnn_status 6" alone named neither the cause nor a fix.
std::string statusText(xnn_status s) {
  switch (s) {
    case xnn_status_out_of_memory: return "out of memory: use a smaller batch or input, or free memory";
    case xnn_status_invalid_parameter: return "invalid parameter: check the op's sizes";
    case xnn_status_unsupported_parameter: return "XNNPACK does not support these sizes: try --backend onednn";
    case xnn_status_unsupported_hardware: return "this CPU is unsupported by the installed XNNPACK: use --backend onednn";
    case xnn_status_uninitialized: return "XNNPACK is not initialized";
    default: return "xnn_status " + std::to_string(static_cast<int>(s));
  }
}

void check(xnn_status s, const char* what) {
  if (s != xnn_status_success) throw std::runtime_error(std::string("XNNPACK ") + what + " failed (" + statusText(s) + ")");
}

constexpr float kInf = std::numeric_limits<float>::infinity();

// Activation buffer with the XNN_EXTRA_BYTES of readable slack XNNPACK kernels may touch.
struct Buf {
  std::vector<float> data;
  int h = 1, w = 1, c = 1;
  float* ptr() { return data.data(); }
  size_t count(size_t batch) const { return batch * static_cast<size_t>(h) * w * c; }
};

class XnnpackRunner : public Runner {
 public:
  XnnpackRunner(const std::vector<OpSpec>& ops, int threads, const GivenData* given)
      : threads_(threads), batch_(static_cast<size_t>(ops.front().batch)), given_(given) {
    xnn_status s = ensureInit();
    if (s != xnn_status_success)
      throw std::runtime_error("XNNPACK initialization failed (xnn_status " + std::to_string(s) +
                               "): this CPU may be unsupported by the installed XNNPACK snapshot");
    if (threads_ > 1) {
      pool_ = pthreadpool_create(static_cast<size_t>(threads_));
      if (!pool_) throw std::runtime_error("pthreadpool_create(" + std::to_string(threads_) + ") failed: use fewer threads");
    }
    try {
      const OpSpec& first = ops.front();
      size_t x = newBuf(first.inH, first.inW, first.inC);
      if (given_) std::copy(given_->input.begin(), given_->input.end(), bufs_[x].ptr());
      else fillRandom(bufs_[x].ptr(), bufs_[x].data.size(), 1, 1.0f);
      for (const OpSpec& o : ops) {
        x = add(o, x);
        opEnd_.push_back(ops_.size());
      }
      out_ = x;
    } catch (...) {
      release();
      throw;
    }
  }

  ~XnnpackRunner() override { release(); }

  std::vector<float> output() override {
    const Buf& b = bufs_[out_];
    return std::vector<float>(b.data.begin(), b.data.begin() + static_cast<std::ptrdiff_t>(b.count(batch_)));
  }

  void run() override {
    for (xnn_operator_t op : ops_) check(xnn_run_operator(op, pool_), "run");
  }

  void runPerOp(std::vector<uint64_t>& opNs) override {
    size_t k = 0;
    for (size_t op = 0; op < opEnd_.size(); op++) {
      uint64_t t0 = monotonicNs();
      for (; k < opEnd_[op]; k++) check(xnn_run_operator(ops_[k], pool_), "run");
      opNs[op] += monotonicNs() - t0;
    }
  }

  // pthreadpool workers cannot be reached from here; only the single-threaded case is pinnable.
  std::string pin(const std::vector<int>& cpus) override {
    if (cpus.empty()) return "no CPUs in this process's affinity mask";
    if (threads_ > 1) return "XNNPACK's pthreadpool workers cannot be pinned from outside";
    return pinCurrentThread(cpus[0], saved_);
  }
  void restore() override { restoreCurrentThread(saved_); }

  // Only the calling thread's caches: the pthreadpool workers are out of reach (see pin()).
  void flushCaches(size_t bytes) override {
    if (flush_.size() != bytes) flush_.assign(bytes, 0);
    touchBuffer(flush_);
  }

 private:
  int threads_;
  size_t batch_;
  const GivenData* given_;  // caller's data for a single conv (run()), else null
  size_t out_ = 0;
  pthreadpool_t pool_ = nullptr;
  std::vector<xnn_operator_t> ops_;
  std::vector<size_t> opEnd_;  // ops_ index one past each wgnas op's last operator
  std::vector<Buf> bufs_;
  std::vector<std::vector<float>> params_;
  SavedAffinity saved_;
  std::vector<unsigned char> flush_;
  unsigned seed_ = 7;

  void release() {
    for (xnn_operator_t op : ops_) xnn_delete_operator(op);
    ops_.clear();
    if (pool_) pthreadpool_destroy(pool_);
    pool_ = nullptr;
  }

  size_t newBuf(int h, int w, int c) {
    Buf b;
    b.h = h, b.w = w, b.c = c;
    b.data.assign(b.count(batch_) + XNN_EXTRA_BYTES / sizeof(float) + 1, 0.0f);
    bufs_.push_back(std::move(b));
    return bufs_.size() - 1;
  }

  const float* param(size_t n, float scale) {
    params_.emplace_back(n + XNN_EXTRA_BYTES / sizeof(float) + 1);
    fillRandom(params_.back().data(), n, seed_++, scale);
    return params_.back().data();
  }

  // The caller's OIHW weights [outC, gin, k, k] as XNNPACK's OHWI [outC, k, k, gin].
  const float* givenWeights(size_t outC, int k, size_t gin) {
    params_.emplace_back(outC * k * k * gin + XNN_EXTRA_BYTES / sizeof(float) + 1);
    float* dst = params_.back().data();
    const std::vector<float>& src = given_->weights;
    size_t kk = static_cast<size_t>(k) * k;
    for (size_t o = 0; o < outC; o++)
      for (size_t i = 0; i < gin; i++)
        for (size_t t = 0; t < kk; t++) dst[(o * kk + t) * gin + i] = src[(o * gin + i) * kk + t];
    return dst;
  }

  const float* givenBias(size_t outC) {
    params_.emplace_back(outC + XNN_EXTRA_BYTES / sizeof(float) + 1, 0.0f);
    if (!given_->bias.empty()) std::copy(given_->bias.begin(), given_->bias.end(), params_.back().data());
    return params_.back().data();
  }

  // Buffers are referred to by index: bufs_ may grow, though each Buf's heap data (what setup saw) stays put.
  size_t conv(size_t in, int outC, int k, int stride, int groups, bool relu6) {
    int h = bufs_[in].h, w = bufs_[in].w, inC = bufs_[in].c, pad = k / 2;
    size_t gin = inC / groups, gout = outC / groups;
    const float* wt = given_ ? givenWeights(outC, k, gin)
                             : param(static_cast<size_t>(outC) * k * k * gin, 1.0f / static_cast<float>(k * k * gin));
    const float* b = given_ ? givenBias(outC) : param(outC, 0.1f);
    xnn_operator_t op = nullptr;
    check(xnn_create_convolution2d_nhwc_f32(pad, pad, pad, pad, k, k, stride, stride, 1, 1, groups, gin, gout, inC, outC,
                                            wt, b, relu6 ? 0.0f : -kInf, relu6 ? 6.0f : kInf, 0, &op),
          "convolution create");
    ops_.push_back(op);
    size_t out = newBuf((h - 1) / stride + 1, (w - 1) / stride + 1, outC);
    check(xnn_setup_convolution2d_nhwc_f32(op, batch_, h, w, bufs_[in].ptr(), bufs_[out].ptr(), pool_), "convolution setup");
    return out;
  }

  size_t residual(size_t y, size_t x) {
    xnn_operator_t op = nullptr;
    check(xnn_create_add_nd_f32(-kInf, kInf, 0, &op), "add create");
    ops_.push_back(op);
    size_t out = newBuf(bufs_[y].h, bufs_[y].w, bufs_[y].c);
    size_t shape[4] = {batch_, static_cast<size_t>(bufs_[y].h), static_cast<size_t>(bufs_[y].w), static_cast<size_t>(bufs_[y].c)};
    check(xnn_setup_add_nd_f32(op, 4, shape, 4, shape, bufs_[y].ptr(), bufs_[x].ptr(), bufs_[out].ptr(), pool_),
          "add setup");
    return out;
  }

  size_t pool(size_t in) {
    int c = bufs_[in].c;
    xnn_operator_t op = nullptr;
    check(xnn_create_global_average_pooling_nwc_f32(c, c, c, -kInf, kInf, 0, &op), "global average pooling create");
    ops_.push_back(op);
    size_t out = newBuf(1, 1, c);
    check(xnn_setup_global_average_pooling_nwc_f32(op, batch_, static_cast<size_t>(bufs_[in].h) * bufs_[in].w,
                                                   bufs_[in].ptr(), bufs_[out].ptr(), pool_),
          "global average pooling setup");
    return out;
  }

  size_t linear(size_t in, int outC) {
    int inC = bufs_[in].c;
    const float* wt = param(static_cast<size_t>(outC) * inC, 1.0f / static_cast<float>(inC));
    const float* b = param(outC, 0.1f);
    xnn_operator_t op = nullptr;
    check(xnn_create_fully_connected_nc_f32(inC, outC, inC, outC, wt, b, -kInf, kInf, 0, &op), "fully connected create");
    ops_.push_back(op);
    size_t out = newBuf(1, 1, outC);
    check(xnn_setup_fully_connected_nc_f32(op, batch_, bufs_[in].ptr(), bufs_[out].ptr(), pool_), "fully connected setup");
    return out;
  }

  size_t add(const OpSpec& o, size_t x) {
    switch (o.kind) {
      case OpKind::Conv:
        return conv(x, o.outC, o.kernel, o.stride, 1, o.relu6);
      case OpKind::DwConv:
        return conv(x, o.inC, o.kernel, o.stride, o.inC, o.relu6);
      case OpKind::MBConv: {
        int mid = o.inC * o.expand;
        size_t h = o.expand == 1 ? x : conv(x, mid, 1, 1, 1, true);
        h = conv(h, mid, o.kernel, o.stride, mid, true);
        size_t y = conv(h, o.outC, 1, 1, 1, false);
        return o.idskip ? residual(y, x) : y;
      }
      case OpKind::Pool:
        return pool(x);
      case OpKind::Linear:
        return linear(x, o.outC);
      case OpKind::Logits:
        return linear(pool(x), o.outC);
    }
    throw std::runtime_error("unknown op kind");
  }
};

}  // namespace

std::unique_ptr<Runner> makeXnnpack(const std::vector<OpSpec>& ops, int threads, const GivenData* given) {
  if (given) {
    std::string err = checkGiven(ops, *given);
    if (!err.empty()) throw std::runtime_error("XNNPACK run: " + err);
  }
  try {
    return std::make_unique<XnnpackRunner>(ops, threads, given);
  } catch (const std::bad_alloc&) {
    throw std::runtime_error("XNNPACK could not build the ops: out of memory for their buffers: use a smaller batch or input");
  }
}

BackendInfo xnnpackInfo() {
  BackendInfo info;
  info.name = "xnnpack";
  info.version = WGNAS_XNNPACK_VERSION;
  info.runtime = "pthreadpool";
  xnn_status s = ensureInit();
  info.available = s == xnn_status_success;
  if (!info.available) info.reason = "xnn_initialize failed (xnn_status " + std::to_string(s) + ")";
  return info;
}

#else  // !WGNAS_HAVE_XNNPACK

#ifndef WGNAS_XNNPACK_MISSING
#define WGNAS_XNNPACK_MISSING "the addon was built without XNNPACK"
#endif

std::unique_ptr<Runner> makeXnnpack(const std::vector<OpSpec>&, int, const GivenData*) {
  throw std::runtime_error(std::string("the xnnpack backend is unavailable in this build: ") + WGNAS_XNNPACK_MISSING +
                           ". Install libxnnpack-dev and rebuild with npm run build:native, or use --backend onednn");
}

BackendInfo xnnpackInfo() {
  BackendInfo info;
  info.name = "xnnpack";
  info.available = false;
  info.reason = WGNAS_XNNPACK_MISSING;
  return info;
}

#endif

}  // namespace wgnas
