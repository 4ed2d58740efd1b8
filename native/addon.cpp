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
#include "profile_run.hpp"
#include "spec.hpp"
#include "stats.hpp"
#include "stderr_filter.hpp"

namespace wgnas {
namespace compute {
Napi::Function defineComputeDevice(Napi::Env env);  // native/compute/device.cpp
}
namespace {

// A JS array of the strings.
Napi::Array stringArray(Napi::Env env, const std::vector<std::string>& v) {
  Napi::Array a = Napi::Array::New(env, v.size());
  for (size_t i = 0; i < v.size(); i++) a.Set(static_cast<uint32_t>(i), v[i]);
  return a;
}

Napi::Value NowNs(const Napi::CallbackInfo& info) { return Napi::BigInt::New(info.Env(), monotonicNs()); }

// cpuInfo({ cacheSources?: string[], sysfsCacheDir?: string }): the options are for the tests of
// the cache-size fallback (the sources' order, a fake sysfs tree).
Napi::Value CpuInfoJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<std::string> sources = defaultCacheSources();
  std::string sysfsDir = kSysfsCacheDir;
  if (info.Length() > 0 && info[0].IsObject()) {
    Napi::Object o = info[0].As<Napi::Object>();
    if (o.Has("cacheSources")) {
      Napi::Value v = o.Get("cacheSources");
      if (!v.IsArray()) throw Napi::TypeError::New(env, "cpuInfo: cacheSources must be an array of strings");
      Napi::Array a = v.As<Napi::Array>();
      sources.clear();
      for (uint32_t i = 0; i < a.Length(); i++) sources.push_back(a.Get(i).ToString().Utf8Value());
    }
    if (o.Has("sysfsCacheDir")) sysfsDir = o.Get("sysfsCacheDir").ToString().Utf8Value();
  }
  CpuInfo c;
  try {
    c = readCpuInfo(sources, sysfsDir);
  } catch (const std::invalid_argument& e) {
    throw Napi::TypeError::New(env, std::string("cpuInfo: ") + e.what());
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("model", c.model);
  o.Set("vendor", c.vendor);
  o.Set("logicalCores", c.logicalCores);
  o.Set("availableCores", c.availableCores);
  if (c.physicalCores > 0) o.Set("physicalCores", c.physicalCores);
  if (c.sockets > 0) o.Set("sockets", c.sockets);
  o.Set("features", stringArray(env, c.features));
  Napi::Object caches = Napi::Object::New(env);
  for (auto& [k, v] : c.cacheBytes) caches.Set(k, static_cast<double>(v));
  o.Set("cacheBytes", caches);
  if (!c.cacheSource.empty()) o.Set("cacheSource", c.cacheSource);
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

// A JS object's fields as profile_run reads them (op fields, integer options).
FieldSource fieldsOf(const Napi::Object& o) {
  FieldSource f;
  f.type = [o]() {
    Napi::Value t = o.Get("type");
    return t.IsString() ? t.As<Napi::String>().Utf8Value() : std::string();
  };
  f.number = [o](const char* name) {
    Napi::Value x = o.Get(name);
    FieldValue r;
    if (x.IsUndefined()) return r;
    if (!x.IsNumber()) {
      r.kind = FieldValue::NotNumber;
      return r;
    }
    r.kind = FieldValue::Number;
    r.value = x.As<Napi::Number>().DoubleValue();
    return r;
  };
  f.flag = [o](const char* name) {
    Napi::Value x = o.Get(name);
    return x.IsUndefined() ? -1 : x.ToBoolean().Value() ? 1 : 0;
  };
  return f;
}

// profile_run's field errors as the addon's JS errors: TypeError, RangeError for out of range.
template <typename F>
auto withJsErrors(Napi::Env env, F&& read) -> decltype(read()) {
  try {
    return read();
  } catch (const std::invalid_argument& e) {
    throw Napi::TypeError::New(env, e.what());
  } catch (const std::out_of_range& e) {
    throw Napi::RangeError::New(env, e.what());
  }
}

int jsIntField(Napi::Env env, const Napi::Object& o, const char* name, const std::string& where, int dflt, bool required) {
  return withJsErrors(env, [&] { return intField(fieldsOf(o), name, where, dflt, required); });
}

bool boolField(const Napi::Object& o, const char* name, bool dflt) {
  Napi::Value v = o.Get(name);
  return v.IsUndefined() ? dflt : v.ToBoolean().Value();
}

// The op's fields read from a JS object; defaults and checks are profile_run's (shared with the
// standalone profiler), its errors become TypeErrors.
OpSpec parseOp(Napi::Env env, const Napi::Value& v, const std::string& where) {
  if (!v.IsObject()) throw Napi::TypeError::New(env, where + " must be an object");
  FieldSource f = fieldsOf(v.As<Napi::Object>());
  return withJsErrors(env, [&] { return opFromFields(f, where); });
}

ProfileOptions parseOptions(Napi::Env env, const Napi::Value& v) {
  ProfileOptions opt;
  if (v.IsUndefined()) return opt;
  if (!v.IsObject()) throw Napi::TypeError::New(env, "profile options must be an object");
  Napi::Object o = v.As<Napi::Object>();
  Napi::Value b = o.Get("backend");
  if (!b.IsUndefined()) opt.backend = b.ToString().Utf8Value();
  if (opt.backend != "onednn" && opt.backend != "xnnpack")
    throw Napi::TypeError::New(env, "unknown backend '" + opt.backend + "' (expected onednn or xnnpack)");
  opt.threads = jsIntField(env, o, "threads", "options", 1, false);
  opt.warmup = jsIntField(env, o, "warmup", "options", 5, false);
  opt.repeats = jsIntField(env, o, "repeats", "options", 20, false);
  opt.pin = boolField(o, "pin", true);
  opt.keepSamples = boolField(o, "keepSamples", false);
  opt.perOp = boolField(o, "perOp", false);
  Napi::Value m = o.Get("maxTimeMs");
  if (!m.IsUndefined()) opt.maxTimeMs = m.IsNumber() ? m.As<Napi::Number>().DoubleValue() : -1;
  Napi::Value fb = o.Get("flushBytes");
  if (!fb.IsUndefined()) opt.flushBytes = fb.IsNumber() ? fb.As<Napi::Number>().DoubleValue() : -1;
  std::string err = checkOptions(opt);
  if (!err.empty()) throw Napi::RangeError::New(env, err);
  return opt;
}

// A worker whose promise rejects with its error (SetError in Execute); OnOK resolves deferred_.
class PromiseWorker : public Napi::AsyncWorker {
 public:
  PromiseWorker(Napi::Env env, const char* name) : Napi::AsyncWorker(env, name), deferred_(Napi::Promise::Deferred::New(env)) {}

  // Queues the work; returns its promise.
  Napi::Promise start() {
    Napi::Promise p = deferred_.Promise();
    Queue();
    return p;
  }

  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 protected:
  Napi::Promise::Deferred deferred_;
};

// ---- the measurement ----

class ProfileWorker : public PromiseWorker {
 public:
  ProfileWorker(Napi::Env env, std::vector<OpSpec> ops, ProfileOptions opt)
      : PromiseWorker(env, "wgnas:profile"), ops_(std::move(ops)), opt_(std::move(opt)) {}

  void Execute() override {
    try {
      r_ = runProfile(ops_, opt_);
    } catch (const std::bad_alloc&) {
      SetError("profile: out of memory (the ops' buffers, or flushBytes " + numberText(opt_.flushBytes) + " per thread x " +
               std::to_string(opt_.threads) + " threads of cache-flush scratch): use a smaller batch or input, fewer threads or less flushBytes");
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }

  void OnOK() override {
    Napi::Env env = Env();
    const Stats& s = r_.stats;
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
    r.Set("pinned", r_.pinned);
    if (!r_.pinError.empty()) r.Set("pinError", r_.pinError);
    r.Set("setupMs", r_.setupMs);
    r.Set("flushBytes", opt_.flushBytes);
    auto float64s = [&](const std::vector<double>& v) {
      Napi::Float64Array a = Napi::Float64Array::New(env, v.size());
      std::copy(v.begin(), v.end(), a.Data());
      return a;
    };
    if (opt_.perOp) r.Set("opMeanMs", float64s(r_.opMeanMs));
    if (opt_.keepSamples) r.Set("samplesMs", float64s(r_.samplesMs));
    deferred_.Resolve(r);
  }

 private:
  std::vector<OpSpec> ops_;
  ProfileOptions opt_;
  ProfileOutcome r_;
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
  ProfileOptions opt = parseOptions(env, info.Length() > 1 ? info[1] : env.Undefined());
  return (new ProfileWorker(env, std::move(ops), std::move(opt)))->start();
}

// ---- run one op on caller data ----

// NCHW -> NHWC (toNhwc) or back, for `n` images of `c` channels and `hw` pixels.
std::vector<float> relayout(const std::vector<float>& x, size_t n, size_t c, size_t hw, bool toNhwc) {
  std::vector<float> y(x.size());
  for (size_t b = 0; b < n; b++)
    for (size_t ci = 0; ci < c; ci++)
      for (size_t p = 0; p < hw; p++) {
        size_t nchw = (b * c + ci) * hw + p, nhwc = (b * hw + p) * c + ci;
        if (toNhwc)
          y[nhwc] = x[nchw];
        else
          y[nchw] = x[nhwc];
      }
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

class RunWorker : public PromiseWorker {
 public:
  RunWorker(Napi::Env env, std::string backend, OpSpec op, GivenData data, int threads, bool nchw)
      : PromiseWorker(env, "wgnas:run"), backend_(std::move(backend)), op_(op), data_(std::move(data)), threads_(threads),
        nchw_(nchw) {}

  void Execute() override {
    try {
      size_t n = op_.batch;
      if (nchw_) data_.input = relayout(data_.input, n, op_.inC, static_cast<size_t>(op_.inH) * op_.inW, true);
      std::vector<OpSpec> ops{op_};
      std::unique_ptr<Runner> runner =
          backend_ == "xnnpack" ? makeXnnpack(ops, threads_, &data_) : makeOnednn(ops, threads_, &data_);
      runner->run();
      out_ = runner->output();
      if (out_.size() != op_.outputCount())
        throw std::runtime_error("run: backend returned " + std::to_string(out_.size()) + " values, expected " +
                                 std::to_string(op_.outputCount()));
      if (nchw_) out_ = relayout(out_, n, op_.outChannels(), static_cast<size_t>(op_.outH()) * op_.outW(), false);
    } catch (const std::exception& e) {
      SetError(e.what());
    }
  }

  void OnOK() override {
    Napi::Float32Array a = Napi::Float32Array::New(Env(), out_.size());
    std::copy(out_.begin(), out_.end(), a.Data());
    deferred_.Resolve(a);
  }

 private:
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
    threads = jsIntField(env, o, "threads", "run options", 1, false);
    if (threads < 1 || threads > 1024) throw Napi::RangeError::New(env, "threads must be in 1..1024");
    Napi::Value l = o.Get("layout");
    std::string layout = l.IsUndefined() ? "nchw" : l.ToString().Utf8Value();
    if (layout != "nchw" && layout != "nhwc")
      throw Napi::TypeError::New(env, "run: unknown layout '" + layout + "' (expected nchw or nhwc)");
    nchw = layout == "nchw";
  }
  return (new RunWorker(env, backend, op, std::move(data), threads, nchw))->start();
}

StderrFilter stderrFilter;

// stderrFilterBegin(patterns: string[]): boolean. Lines of fd 2 containing a pattern are held back
// until stderrFilterEnd(); every other line passes through at once.
Napi::Value StderrFilterBegin(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArray()) throw Napi::TypeError::New(env, "stderrFilterBegin: patterns must be an array of strings");
  Napi::Array a = info[0].As<Napi::Array>();
  std::vector<std::string> patterns;
  for (uint32_t i = 0; i < a.Length(); i++) {
    Napi::Value v = a.Get(i);
    if (!v.IsString()) throw Napi::TypeError::New(env, "stderrFilterBegin: patterns must be strings");
    patterns.push_back(v.As<Napi::String>().Utf8Value());
  }
  return Napi::Boolean::New(env, stderrFilter.begin(std::move(patterns)));
}

// stderrFilterEnd(): string[]: restores fd 2; returns the lines held back.
Napi::Value StderrFilterEnd(const Napi::CallbackInfo& info) { return stringArray(info.Env(), stderrFilter.end()); }

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("stderrFilterBegin", Napi::Function::New(env, StderrFilterBegin, "stderrFilterBegin"));
  exports.Set("stderrFilterEnd", Napi::Function::New(env, StderrFilterEnd, "stderrFilterEnd"));
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
