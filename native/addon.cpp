// wgnas_native: N-API entry points. Measurements (profile) and single-op runs on caller data (run)
// execute on a libuv worker (Napi::AsyncWorker) and resolve a promise; everything else is synchronous
// and cheap. Bad arguments throw JS errors (TypeError / RangeError) before any work is queued.
#include <napi.h>

#include <algorithm>
#include <stdexcept>

#include "affinity.hpp"
#include "backend.hpp"
#include "clock.hpp"
#include "cpu_info.hpp"
#include "spec.hpp"
#include "stats.hpp"

namespace wgnas {
namespace compute {
Napi::Function defineComputeDevice(Napi::Env env);  // native/compute/device.cpp
}
namespace {

Napi::Value NowNs(const Napi::CallbackInfo& info) { return Napi::BigInt::New(info.Env(), monotonicNs()); }

Napi::Value CpuInfoJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  CpuInfo c = readCpuInfo();
  Napi::Object o = Napi::Object::New(env);
  o.Set("model", c.model);
  o.Set("vendor", c.vendor);
  o.Set("logicalCores", c.logicalCores);
  o.Set("availableCores", c.availableCores);
  if (c.physicalCores > 0) o.Set("physicalCores", c.physicalCores);
  if (c.sockets > 0) o.Set("sockets", c.sockets);
  Napi::Array feats = Napi::Array::New(env, c.features.size());
  for (size_t i = 0; i < c.features.size(); i++) feats.Set(static_cast<uint32_t>(i), c.features[i]);
  o.Set("features", feats);
  Napi::Object caches = Napi::Object::New(env);
  for (auto& [k, v] : c.cacheBytes) caches.Set(k, static_cast<double>(v));
  o.Set("cacheBytes", caches);
  return o;
}

Napi::Object backendJs(Napi::Env env, const BackendInfo& b) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("name", b.name);
  o.Set("available", b.available);
  if (!b.version.empty()) o.Set("version", b.version);
  if (!b.runtime.empty()) o.Set("runtime", b.runtime);
  if (!b.isa.empty()) o.Set("isa", b.isa);
  if (!b.reason.empty()) o.Set("reason", b.reason);
  return o;
}

Napi::Value Backends(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array a = Napi::Array::New(env, 2);
  a.Set(0u, backendJs(env, onednnInfo()));
  a.Set(1u, backendJs(env, xnnpackInfo()));
  return a;
}

// ---- argument parsing (throws Napi::TypeError naming the field) ----

int intField(Napi::Env env, const Napi::Object& o, const char* name, const std::string& where, int dflt, bool required) {
  Napi::Value v = o.Get(name);
  if (v.IsUndefined()) {
    if (required) throw Napi::TypeError::New(env, where + ": missing numeric field '" + name + "'");
    return dflt;
  }
  if (!v.IsNumber()) throw Napi::TypeError::New(env, where + ": field '" + name + "' must be a number");
  double d = v.As<Napi::Number>().DoubleValue();
  if (d != static_cast<double>(static_cast<int>(d)))
    throw Napi::TypeError::New(env, where + ": field '" + name + "' must be an integer (got " + std::to_string(d) + ")");
  return static_cast<int>(d);
}

bool boolField(const Napi::Object& o, const char* name, bool dflt) {
  Napi::Value v = o.Get(name);
  return v.IsUndefined() ? dflt : v.ToBoolean().Value();
}

OpSpec parseOp(Napi::Env env, const Napi::Value& v, const std::string& where) {
  if (!v.IsObject()) throw Napi::TypeError::New(env, where + " must be an object");
  Napi::Object o = v.As<Napi::Object>();
  Napi::Value t = o.Get("type");
  std::string type = t.IsString() ? t.As<Napi::String>().Utf8Value() : "";
  OpSpec s;
  if (type == "conv") s.kind = OpKind::Conv;
  else if (type == "dwconv") s.kind = OpKind::DwConv;
  else if (type == "mbconv") s.kind = OpKind::MBConv;
  else if (type == "pool") s.kind = OpKind::Pool;
  else if (type == "linear") s.kind = OpKind::Linear;
  else if (type == "logits") s.kind = OpKind::Logits;
  else
    throw Napi::TypeError::New(env, where + ": unknown op type '" + type +
                                        "' (expected conv, dwconv, mbconv, pool, linear or logits)");
  bool spatialIn = s.kind != OpKind::Linear;
  s.batch = intField(env, o, "batch", where, 1, false);
  s.inH = intField(env, o, "inH", where, 1, spatialIn);
  s.inW = intField(env, o, "inW", where, s.inH, false);
  s.inC = intField(env, o, "inC", where, 0, true);
  s.outC = intField(env, o, "outC", where, s.inC, s.kind != OpKind::Pool && s.kind != OpKind::DwConv);
  s.kernel = intField(env, o, "kernel", where, 1, s.spatial());
  s.stride = intField(env, o, "stride", where, 1, false);
  s.expand = intField(env, o, "expand", where, 1, s.kind == OpKind::MBConv);
  s.relu6 = boolField(o, "relu6", true);
  s.idskip = boolField(o, "idskip", false);
  return s;
}

struct Options {
  std::string backend = "onednn";
  int threads = 1, warmup = 5, repeats = 20;
  bool pin = true, keepSamples = false, perOp = false;
  double maxTimeMs = 0;
  double flushBytes = 0;
};

Options parseOptions(Napi::Env env, const Napi::Value& v) {
  Options opt;
  if (v.IsUndefined()) return opt;
  if (!v.IsObject()) throw Napi::TypeError::New(env, "profile options must be an object");
  Napi::Object o = v.As<Napi::Object>();
  Napi::Value b = o.Get("backend");
  if (!b.IsUndefined()) opt.backend = b.ToString().Utf8Value();
  if (opt.backend != "onednn" && opt.backend != "xnnpack")
    throw Napi::TypeError::New(env, "unknown backend '" + opt.backend + "' (expected onednn or xnnpack)");
  opt.threads = intField(env, o, "threads", "options", 1, false);
  opt.warmup = intField(env, o, "warmup", "options", 5, false);
  opt.repeats = intField(env, o, "repeats", "options", 20, false);
  if (opt.threads < 1 || opt.threads > 1024) throw Napi::RangeError::New(env, "threads must be in 1..1024");
  if (opt.warmup < 0 || opt.warmup > 1000000) throw Napi::RangeError::New(env, "warmup must be in 0..1000000");
  if (opt.repeats < 1 || opt.repeats > 1000000) throw Napi::RangeError::New(env, "repeats must be in 1..1000000");
  opt.pin = boolField(o, "pin", true);
  opt.keepSamples = boolField(o, "keepSamples", false);
  opt.perOp = boolField(o, "perOp", false);
  Napi::Value m = o.Get("maxTimeMs");
  if (!m.IsUndefined()) {
    if (!m.IsNumber() || m.As<Napi::Number>().DoubleValue() < 0)
      throw Napi::RangeError::New(env, "maxTimeMs must be a non-negative number");
    opt.maxTimeMs = m.As<Napi::Number>().DoubleValue();
  }
  Napi::Value fb = o.Get("flushBytes");
  if (!fb.IsUndefined()) {
    double v = fb.IsNumber() ? fb.As<Napi::Number>().DoubleValue() : -1;
    if (!(v >= 0 && v <= 1e10)) throw Napi::RangeError::New(env, "flushBytes must be a number of bytes in 0..1e10");
    opt.flushBytes = v;
  }
  return opt;
}

// ---- the measurement ----

class ProfileWorker : public Napi::AsyncWorker {
 public:
  ProfileWorker(Napi::Env env, std::vector<OpSpec> ops, Options opt)
      : Napi::AsyncWorker(env, "wgnas:profile"), deferred_(Napi::Promise::Deferred::New(env)), ops_(std::move(ops)),
        opt_(std::move(opt)) {}

  Napi::Promise promise() { return deferred_.Promise(); }

  void Execute() override {
    try {
      uint64_t t0 = monotonicNs();
      std::unique_ptr<Runner> runner =
          opt_.backend == "xnnpack" ? makeXnnpack(ops_, opt_.threads) : makeOnednn(ops_, opt_.threads);
      setupMs_ = static_cast<double>(monotonicNs() - t0) / 1e6;
      // Undo the pinning however the measurement ends (these are libuv's pool threads).
      struct Unpin {
        Runner* r;
        ~Unpin() {
          if (r) r->restore();
        }
      } unpin{opt_.pin ? runner.get() : nullptr};
      if (opt_.pin) {
        pinError_ = runner->pin(allowedCpus());
        pinned_ = pinError_.empty();
      }
      size_t flush = static_cast<size_t>(opt_.flushBytes);
      for (int i = 0; i < opt_.warmup; i++) {
        if (flush) runner->flushCaches(flush);
        runner->run();
      }
      samples_.reserve(opt_.repeats);
      double totalMs = 0;
      for (int i = 0; i < opt_.repeats; i++) {
        if (flush) runner->flushCaches(flush);
        uint64_t a = monotonicNs();
        runner->run();
        double ms = static_cast<double>(monotonicNs() - a) / 1e6;
        samples_.push_back(ms);
        totalMs += ms;
        // A time budget keeps large ops affordable; three samples are the least a median needs.
        if (opt_.maxTimeMs > 0 && totalMs > opt_.maxTimeMs && samples_.size() >= 3) break;
      }
      // Per-op breakdown: separate runs with a clock read after each op (mean over as many runs).
      if (opt_.perOp) {
        opNs_.assign(ops_.size(), 0);
        for (size_t i = 0; i < samples_.size(); i++) {
          if (flush) runner->flushCaches(flush);
          runner->runPerOp(opNs_);
        }
      }
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    Stats s = summarize(samples_);
    Napi::Object r = Napi::Object::New(env);
    r.Set("medianMs", s.median);
    r.Set("meanMs", s.mean);
    r.Set("stdMs", s.std);
    r.Set("p25Ms", s.p25);
    r.Set("p75Ms", s.p75);
    r.Set("iqrMs", s.iqr);
    r.Set("minMs", s.min);
    r.Set("maxMs", s.max);
    r.Set("cv", s.cv);
    r.Set("count", s.count);
    r.Set("warmup", opt_.warmup);
    r.Set("threads", opt_.threads);
    r.Set("backend", opt_.backend);
    r.Set("pinned", pinned_);
    if (!pinError_.empty()) r.Set("pinError", pinError_);
    r.Set("setupMs", setupMs_);
    r.Set("flushBytes", opt_.flushBytes);
    if (opt_.perOp) {
      Napi::Float64Array a = Napi::Float64Array::New(env, opNs_.size());
      for (size_t i = 0; i < opNs_.size(); i++) a[i] = static_cast<double>(opNs_[i]) / 1e6 / std::max<size_t>(1, samples_.size());
      r.Set("opMeanMs", a);
    }
    if (opt_.keepSamples) {
      Napi::Float64Array a = Napi::Float64Array::New(env, samples_.size());
      for (size_t i = 0; i < samples_.size(); i++) a[i] = samples_[i];
      r.Set("samplesMs", a);
    }
    deferred_.Resolve(r);
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::vector<OpSpec> ops_;
  Options opt_;
  std::vector<double> samples_;
  std::vector<uint64_t> opNs_;
  double setupMs_ = 0;
  bool pinned_ = false;
  std::string pinError_;
};

// profile(ops: OpSpec[], options?): Promise<ProfileResult>. The ops are chained and timed as one forward.
Napi::Value Profile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArray()) throw Napi::TypeError::New(env, "profile(ops, options): ops must be an array");
  Napi::Array arr = info[0].As<Napi::Array>();
  std::vector<OpSpec> ops;
  for (uint32_t i = 0; i < arr.Length(); i++) ops.push_back(parseOp(env, arr.Get(i), "op " + std::to_string(i)));
  std::string err = validateOps(ops);
  if (!err.empty()) throw Napi::RangeError::New(env, "profile: " + err);
  Options opt = parseOptions(env, info.Length() > 1 ? info[1] : env.Undefined());
  auto* w = new ProfileWorker(env, std::move(ops), std::move(opt));
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
}

// ---- run one op on caller data ----

// NCHW <-> NHWC for `n` images of `c` channels and `hw` pixels.
std::vector<float> nchwToNhwc(const std::vector<float>& x, size_t n, size_t c, size_t hw) {
  std::vector<float> y(x.size());
  for (size_t b = 0; b < n; b++)
    for (size_t ci = 0; ci < c; ci++)
      for (size_t p = 0; p < hw; p++) y[(b * hw + p) * c + ci] = x[(b * c + ci) * hw + p];
  return y;
}

std::vector<float> nhwcToNchw(const std::vector<float>& x, size_t n, size_t c, size_t hw) {
  std::vector<float> y(x.size());
  for (size_t b = 0; b < n; b++)
    for (size_t ci = 0; ci < c; ci++)
      for (size_t p = 0; p < hw; p++) y[(b * c + ci) * hw + p] = x[(b * hw + p) * c + ci];
  return y;
}

// Copies a Float32Array field (the worker must not touch JS memory); absent and optional: empty.
std::vector<float> floatsField(Napi::Env env, const Napi::Object& o, const char* name, bool required) {
  Napi::Value v = o.Get(name);
  if (v.IsUndefined() && !required) return {};
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
    throw Napi::TypeError::New(env, std::string("run: tensors.") + name + " must be a Float32Array");
  Napi::Float32Array a = v.As<Napi::Float32Array>();
  return std::vector<float>(a.Data(), a.Data() + a.ElementLength());
}

class RunWorker : public Napi::AsyncWorker {
 public:
  RunWorker(Napi::Env env, std::string backend, OpSpec op, GivenData data, int threads, bool nchw)
      : Napi::AsyncWorker(env, "wgnas:run"), deferred_(Napi::Promise::Deferred::New(env)), backend_(std::move(backend)),
        op_(op), data_(std::move(data)), threads_(threads), nchw_(nchw) {}

  Napi::Promise promise() { return deferred_.Promise(); }

  void Execute() override {
    try {
      size_t n = op_.batch;
      if (nchw_) data_.input = nchwToNhwc(data_.input, n, op_.inC, static_cast<size_t>(op_.inH) * op_.inW);
      std::vector<OpSpec> ops{op_};
      std::unique_ptr<Runner> runner =
          backend_ == "xnnpack" ? makeXnnpack(ops, threads_, &data_) : makeOnednn(ops, threads_, &data_);
      runner->run();
      out_ = runner->output();
      if (out_.size() != op_.outputCount())
        throw std::runtime_error("run: backend returned " + std::to_string(out_.size()) + " values, expected " +
                                 std::to_string(op_.outputCount()));
      if (nchw_) out_ = nhwcToNchw(out_, n, op_.outChannels(), static_cast<size_t>(op_.outH()) * op_.outW());
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }

  void OnOK() override {
    Napi::Float32Array a = Napi::Float32Array::New(Env(), out_.size());
    std::copy(out_.begin(), out_.end(), a.Data());
    deferred_.Resolve(a);
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  std::string backend_;
  OpSpec op_;
  GivenData data_;
  int threads_;
  bool nchw_;
  std::vector<float> out_;
};

// run(backend, op, {input, weights, bias?}, {threads?, layout?}): Promise<Float32Array>. One conv or
// dwconv (padding k/2) on the caller's data. layout 'nchw' (default): input and output NCHW, converted
// to and from NHWC here; 'nhwc': passed through. Weights are always OIHW [outC, inC / groups, k, k].
Napi::Value Run(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 3) throw Napi::TypeError::New(env, "run(backend, op, tensors, options?): expected at least 3 arguments");
  std::string backend = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  if (backend != "onednn" && backend != "xnnpack")
    throw Napi::TypeError::New(env, "run: unknown backend '" + backend + "' (expected onednn or xnnpack)");
  OpSpec op = parseOp(env, info[1], "run op");
  if (op.kind != OpKind::Conv && op.kind != OpKind::DwConv)
    throw Napi::TypeError::New(env, std::string("run: supports conv and dwconv ops only (got ") + kindName(op.kind) + ")");
  std::string err = validateOps({op});
  if (!err.empty()) throw Napi::RangeError::New(env, "run: " + err);
  if (!info[2].IsObject()) throw Napi::TypeError::New(env, "run: tensors must be an object {input, weights, bias?}");
  Napi::Object t = info[2].As<Napi::Object>();
  GivenData data;
  data.input = floatsField(env, t, "input", true);
  data.weights = floatsField(env, t, "weights", true);
  data.bias = floatsField(env, t, "bias", false);
  Napi::Value biasV = t.Get("bias");
  err = checkGiven({op}, data);
  // An explicitly empty bias array is a size error, not "zeros".
  if (err.empty() && !biasV.IsUndefined() && data.bias.empty()) err = "bias has 0 elements, expected " + std::to_string(op.outChannels());
  if (!err.empty()) throw Napi::RangeError::New(env, "run: " + err);
  int threads = 1;
  bool nchw = true;
  if (info.Length() > 3 && !info[3].IsUndefined()) {
    if (!info[3].IsObject()) throw Napi::TypeError::New(env, "run options must be an object");
    Napi::Object o = info[3].As<Napi::Object>();
    threads = intField(env, o, "threads", "run options", 1, false);
    if (threads < 1 || threads > 1024) throw Napi::RangeError::New(env, "threads must be in 1..1024");
    Napi::Value l = o.Get("layout");
    std::string layout = l.IsUndefined() ? "nchw" : l.ToString().Utf8Value();
    if (layout != "nchw" && layout != "nhwc")
      throw Napi::TypeError::New(env, "run: unknown layout '" + layout + "' (expected nchw or nhwc)");
    nchw = layout == "nchw";
  }
  auto* w = new RunWorker(env, backend, op, std::move(data), threads, nchw);
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("run", Napi::Function::New(env, Run, "run"));
  exports.Set("nowNs", Napi::Function::New(env, NowNs, "nowNs"));
  exports.Set("cpuInfo", Napi::Function::New(env, CpuInfoJs, "cpuInfo"));
  exports.Set("backends", Napi::Function::New(env, Backends, "backends"));
  exports.Set("profile", Napi::Function::New(env, Profile, "profile"));
  exports.Set("napiVersion", Napi::Number::New(env, NAPI_VERSION));
  exports.Set("ComputeDevice", compute::defineComputeDevice(env));
  return exports;
}

}  // namespace
}  // namespace wgnas

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return wgnas::Init(env, exports); }

NODE_API_MODULE(wgnas_native, InitModule)
