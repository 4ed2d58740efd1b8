// wgnas_native: N-API entry points. Measurements run on a libuv worker (Napi::AsyncWorker) and
// resolve a promise; everything else is synchronous and cheap.
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

OpSpec parseOp(Napi::Env env, const Napi::Value& v, size_t index) {
  std::string where = "op " + std::to_string(index);
  if (!v.IsObject()) throw Napi::TypeError::New(env, where + " must be an object");
  Napi::Object o = v.As<Napi::Object>();
  Napi::Value t = o.Get("type");
  std::string type = t.IsString() ? t.As<Napi::String>().Utf8Value() : "";
  OpSpec s;
  if (type == "conv") s.kind = OpKind::Conv;
  else if (type == "mbconv") s.kind = OpKind::MBConv;
  else if (type == "pool") s.kind = OpKind::Pool;
  else if (type == "linear") s.kind = OpKind::Linear;
  else if (type == "logits") s.kind = OpKind::Logits;
  else
    throw Napi::TypeError::New(env, where + ": unknown op type '" + type +
                                        "' (expected conv, mbconv, pool, linear or logits)");
  bool spatialIn = s.kind != OpKind::Linear;
  s.inH = intField(env, o, "inH", where, 1, spatialIn);
  s.inW = intField(env, o, "inW", where, s.inH, false);
  s.inC = intField(env, o, "inC", where, 0, true);
  s.outC = intField(env, o, "outC", where, s.inC, s.kind != OpKind::Pool);
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
  for (uint32_t i = 0; i < arr.Length(); i++) ops.push_back(parseOp(env, arr.Get(i), i));
  std::string err = validateOps(ops);
  if (!err.empty()) throw Napi::RangeError::New(env, "profile: " + err);
  Options opt = parseOptions(env, info.Length() > 1 ? info[1] : env.Undefined());
  auto* w = new ProfileWorker(env, std::move(ops), std::move(opt));
  Napi::Promise p = w->promise();
  w->Queue();
  return p;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("nowNs", Napi::Function::New(env, NowNs, "nowNs"));
  exports.Set("cpuInfo", Napi::Function::New(env, CpuInfoJs, "cpuInfo"));
  exports.Set("backends", Napi::Function::New(env, Backends, "backends"));
  exports.Set("profile", Napi::Function::New(env, Profile, "profile"));
  exports.Set("napiVersion", Napi::Number::New(env, NAPI_VERSION));
  return exports;
}

}  // namespace
}  // namespace wgnas

static Napi::Object InitModule(Napi::Env env, Napi::Object exports) { return wgnas::Init(env, exports); }

NODE_API_MODULE(wgnas_native, InitModule)
