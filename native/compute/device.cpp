// ComputeDevice: the native compute backend's device, exposed to JS as a class. Tensors live in
// pooled native memory and are named by integer handles. Ops are enqueued (the call returns at
// once) and run in order on one worker thread per device, the OpenMP master of its thread team;
// read() and sync() resolve promises through a thread-safe function once the worker reaches them.
// An op that fails on the worker records its error; the next read() or sync() rejects with it.
#include <napi.h>
#include <omp.h>

#include <cmath>
#include <cstring>
#include <mutex>
#include <string_view>
#include <unordered_set>

#include "../profile_run.hpp"  // numberText

#include "js_params.hpp"
#include "op.hpp"
#include "worker.hpp"

namespace wgnas::compute {

// A read() or sync() waiting for the worker; resolved on the JS thread.
struct Completion {
  Napi::Promise::Deferred deferred;
  Napi::Reference<Napi::Value> result;  // the Float32Array being filled (read) or empty (sync)
  std::string error;
};

namespace {

class ComputeDevice : public Napi::ObjectWrap<ComputeDevice> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "ComputeDevice",
                       {
                           InstanceMethod<&ComputeDevice::Alloc>("alloc"),
                           InstanceMethod<&ComputeDevice::Upload>("upload"),
                           InstanceMethod<&ComputeDevice::Write>("write"),
                           InstanceMethod<&ComputeDevice::Release>("release"),
                           InstanceMethod<&ComputeDevice::Read>("read"),
                           InstanceMethod<&ComputeDevice::Sync>("sync"),
                           InstanceMethod<&ComputeDevice::Enqueue>("enqueue"),
                           InstanceMethod<&ComputeDevice::EnqueuePacked>("enqueuePacked"),
                           InstanceMethod<&ComputeDevice::Stats>("stats"),
                           InstanceMethod<&ComputeDevice::ResetPeak>("resetPeak"),
                           InstanceMethod<&ComputeDevice::Trim>("trim"),
                           InstanceMethod<&ComputeDevice::Destroy>("destroy"),
                           InstanceMethod<&ComputeDevice::Ops>("ops"),
                           InstanceMethod<&ComputeDevice::Profile>("profile"),
                           InstanceAccessor<&ComputeDevice::Threads>("threads"),
                       });
  }

  explicit ComputeDevice(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ComputeDevice>(info) {
    Napi::Env env = info.Env();
    int threads = 1;
    bool convAuto = true;
    if (info.Length() > 0 && info[0].IsObject()) {
      Napi::Value a = info[0].As<Napi::Object>().Get("convAlgorithm");
      if (!a.IsUndefined()) {
        std::string alg = a.IsString() ? a.As<Napi::String>().Utf8Value() : "";
        if (alg != "direct" && alg != "auto")
          throw Napi::TypeError::New(env, "ComputeDevice: convAlgorithm must be 'direct' or 'auto'");
        convAuto = alg == "auto";
      }
      Napi::Value t = info[0].As<Napi::Object>().Get("threads");
      if (!t.IsUndefined()) {
        double d = t.IsNumber() ? t.As<Napi::Number>().DoubleValue() : -1;
        if (!(d >= 1 && d <= 1024 && d == static_cast<int>(d)))
          throw Napi::RangeError::New(env, "ComputeDevice: threads must be an integer in 1..1024");
        threads = static_cast<int>(d);
      }
    }
    pool_ = std::make_shared<Pool>();
    rt_ = std::make_unique<Runtime>(threads, pool_, convAuto);
    tsfn_ = Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}),
                                          "wgnas:compute", 0, 1);
    tsfn_.Unref(env);  // only pending reads keep the event loop alive
    worker_ = std::make_unique<Worker>(*rt_, [this](Completion* d, std::string error) {
      d->error = std::move(error);
      napi_status s = tsfn_.BlockingCall(d, [this](Napi::Env env, Napi::Function, Completion* c) { finish(env, c); });
      if (s != napi_ok) delete d;  // the environment is shutting down
    });
    // Last: a constructor that threw above must leave no hook or registration pointing at it.
    napi_add_env_cleanup_hook(env, &ComputeDevice::onCleanup, this);
    std::lock_guard<std::mutex> lock(liveMu());
    liveDevices().insert(this);
  }

  ~ComputeDevice() override {
    stop();
    if (hookSet_) napi_remove_env_cleanup_hook(Env(), &ComputeDevice::onCleanup, this);
  }

  // Environment teardown with the device alive: stop the worker before the runtime goes away. Nothing
  // can read a result any more, so only the command in flight finishes.
  static void onCleanup(void* self) {
    auto* d = static_cast<ComputeDevice*>(self);
    d->hookSet_ = false;
    d->stop(false);
  }

  // process.exit() (and any exit: the 'exit' event, wired in defineComputeDevice) with devices alive.
  // Node then calls exit() without tearing the environment down, so the cleanup hook never runs and a
  // worker still running ops met the static destructors of the op registry and oneDNN (a
  // heap-use-after-free under ASan): stop every worker of this environment first.
  static void onProcessExit(napi_env env) {
    std::vector<ComputeDevice*> mine;
    {
      std::lock_guard<std::mutex> lock(liveMu());
      for (ComputeDevice* d : liveDevices())
        if (static_cast<napi_env>(d->Env()) == env) mine.push_back(d);
    }
    for (ComputeDevice* d : mine) d->stop(false);
  }

 private:
  std::shared_ptr<Pool> pool_;
  std::unique_ptr<Runtime> rt_;
  std::unordered_map<uint32_t, Buf> handles_;  // JS thread only
  uint32_t nextId_ = 1;
  Napi::ThreadSafeFunction tsfn_;
  bool hookSet_ = true;
  int pending_ = 0;  // unresolved read/sync promises (JS thread)
  bool stopped_ = false;

  std::unique_ptr<Worker> worker_;  // last: its thread runs while the members above exist
  double enqueued_ = 0;  // ops enqueued over the device's life (JS thread)

  // ---- queue ----

  // Both enqueue paths end here: the op's own shape checks (a RangeError naming the op), then the queue.
  void checkAndPush(Napi::Env env, const OpDef* op, std::vector<Buf> bufs, const std::shared_ptr<Params>& params,
                    const std::vector<size_t>& numels) {
    try {
      if (op->check) op->check(*params, numels);
    } catch (const OpError& e) {
      throw Napi::RangeError::New(env, std::string("native op ") + op->name + ": " + e.what());
    }
    enqueued_++;
    push({op->name, [op, bufs = std::move(bufs), params](Runtime& rt) {
            Ctx c{*params, bufs, rt};
            op->run(c);
          }});
  }

  void push(Command c) { worker_->push(std::move(c)); }

  // Devices not yet stopped, of every environment (worker_threads each have their own).
  static std::mutex& liveMu() {
    static std::mutex* m = new std::mutex;  // never destroyed: used up to the end of exit()
    return *m;
  }
  static std::unordered_set<ComputeDevice*>& liveDevices() {
    static auto* s = new std::unordered_set<ComputeDevice*>;
    return *s;
  }

  // drain: run what is queued first (destroy()); else only the command in flight finishes, and the
  // dropped commands' read()/sync() promises never settle (at exit nothing could await them).
  void stop(bool drain = true) {
    if (stopped_) return;
    stopped_ = true;
    {
      std::lock_guard<std::mutex> lock(liveMu());
      liveDevices().erase(this);
    }
    if (worker_) worker_->stop(drain);  // null only when the constructor threw before starting it
    tsfn_.Release();
    handles_.clear();
  }

  // JS thread.
  void finish(Napi::Env env, Completion* d) {
    if (d->error.empty()) d->deferred.Resolve(d->result.IsEmpty() ? env.Undefined() : d->result.Value());
    else d->deferred.Reject(Napi::Error::New(env, d->error).Value());
    delete d;
    if (--pending_ == 0) {
      if (!stopped_) tsfn_.Unref(env);
      Unref();
    }
  }

  // While a read() / sync() is pending, the JS object is held strongly (ObjectWrap::Ref): a device
  // the caller dropped with a read in flight was otherwise collected and deleted before the worker's
  // completion reached finish(), which then used the freed device (heap-use-after-free under ASan).
  Completion* newCompletion(Napi::Env env) {
    auto* d = new Completion{Napi::Promise::Deferred::New(env), {}, {}};
    if (pending_++ == 0) {
      tsfn_.Ref(env);
      Ref();
    }
    return d;
  }

  // ---- JS thread helpers ----

  void live(Napi::Env env) {
    if (stopped_) throw Napi::Error::New(env, "native device used after destroy()");
  }

  static size_t count(Napi::Env env, const Napi::Value& v, const char* what) {
    if (!v.IsNumber()) throw Napi::TypeError::New(env, std::string(what) + " must be a number");
    double d = v.As<Napi::Number>().DoubleValue();
    if (!(d >= 0 && std::floor(d) == d))
      throw Napi::RangeError::New(env, std::string(what) + " must be a non-negative integer (got " + numberText(d) + ")");
    // A shape like [65536, 65536, 65536] was reported as "must be a non-negative integer".
    if (d > 4.0e12) throw Napi::RangeError::New(env, std::string(what) + " " + numberText(d) + " exceeds 4e12 elements");
    return static_cast<size_t>(d);
  }

  Buf& handle(Napi::Env env, const Napi::Value& v) { return handleById(env, v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1); }

  // Handles are integers in 1..2^32-1. Checked before the cast: 2^32 + h (or h + 0.5) cast to
  // uint32 named tensor h, and a NaN or negative one is undefined behaviour.
  static bool isHandle(double d) { return d >= 1 && d <= 4294967295.0 && std::floor(d) == d; }

  Buf& handleById(Napi::Env env, double d) {
    if (!isHandle(d)) throw Napi::TypeError::New(env, "invalid native tensor handle " + numberText(d) + " (not from this device)");
    auto it = handles_.find(static_cast<uint32_t>(d));
    if (it == handles_.end()) throw Napi::Error::New(env, "native tensor used after dispose() (or not from this device)");
    return it->second;
  }

  Napi::Value newHandle(Napi::Env env, Buf b) {
    uint32_t id = nextId_++;
    if (nextId_ == 0) nextId_ = 1;
    handles_.emplace(id, std::move(b));
    return Napi::Number::New(env, id);
  }

  static Napi::Float32Array floats(Napi::Env env, const Napi::Value& v, const char* what) {
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_float32_array)
      throw Napi::TypeError::New(env, std::string(what) + " must be a Float32Array");
    return v.As<Napi::Float32Array>();
  }

  // ---- methods ----

  // alloc(numel): handle of an uninitialised tensor.
  Napi::Value Alloc(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    live(env);
    size_t n = count(env, info[0], "alloc: numel");
    try {
      return newHandle(env, makeBuf(pool_, n));
    } catch (const std::bad_alloc&) {
      throw Napi::RangeError::New(env, "alloc: out of memory for " + std::to_string(n) + " floats");
    }
  }

  // upload(data): handle of a new tensor holding a copy. A fresh pool block is referenced by no
  // queued command, so it is written here, synchronously.
  Napi::Value Upload(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    live(env);
    Napi::Float32Array a = floats(env, info[0], "upload: data");
    Buf b;
    try {
      b = makeBuf(pool_, a.ElementLength());
    } catch (const std::bad_alloc&) {  // escaping N-API, it aborted the process
      throw Napi::RangeError::New(env, "upload: out of memory for " + std::to_string(a.ElementLength()) + " floats");
    }
    if (a.ElementLength()) std::memcpy(b->data, a.Data(), a.ElementLength() * sizeof(float));
    return newHandle(env, std::move(b));
  }

  // write(handle, data, offsetElems): queued overwrite (earlier queued work may still read it).
  void Write(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    live(env);
    Buf b = handle(env, info[0]);
    Napi::Float32Array a = floats(env, info[1], "write: data");
    size_t off = info.Length() > 2 ? count(env, info[2], "write: offset") : 0;
    if (off + a.ElementLength() > b->numel)
      throw Napi::RangeError::New(env, "write: " + std::to_string(a.ElementLength()) + " values at offset " +
                                           std::to_string(off) + " exceed the tensor's " + std::to_string(b->numel));
    std::shared_ptr<std::vector<float>> data;
    try {
      data = std::make_shared<std::vector<float>>(a.Data(), a.Data() + a.ElementLength());
    } catch (const std::bad_alloc&) {
      throw Napi::RangeError::New(env, "write: out of memory copying " + std::to_string(a.ElementLength()) + " floats");
    }
    push({"write", [b, data, off](Runtime&) { std::copy(data->begin(), data->end(), b->data + off); }});
  }

  // release(handle): idempotent for a handle of this device; anything that is no handle is an error
  // (release(h + 0.5) used to free tensor h).
  void Release(const Napi::CallbackInfo& info) {
    double d = info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
    if (!isHandle(d)) throw Napi::TypeError::New(info.Env(), "release: invalid native tensor handle " + numberText(d));
    handles_.erase(static_cast<uint32_t>(d));  // queued commands keep their own references
  }

  // read(handle, offsetElems?, count?): Promise<Float32Array> after all earlier queued work.
  Napi::Value Read(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    live(env);
    Buf b = handle(env, info[0]);
    size_t off = info.Length() > 1 && !info[1].IsUndefined() ? count(env, info[1], "read: offset") : 0;
    size_t n = info.Length() > 2 && !info[2].IsUndefined() ? count(env, info[2], "read: count") : b->numel - std::min(off, b->numel);
    if (off + n > b->numel)
      throw Napi::RangeError::New(env, "read: " + std::to_string(n) + " values at offset " + std::to_string(off) +
                                           " exceed the tensor's " + std::to_string(b->numel));
    Napi::Float32Array out = Napi::Float32Array::New(env, n);
    float* dst = out.Data();  // stable: JS cannot see the array before the promise resolves
    Completion* d = newCompletion(env);
    d->result = Napi::Persistent(static_cast<Napi::Value>(out));
    // n == 0: dst is null (an empty Float32Array has no data), and memcpy from or to null is undefined
    // even for no bytes (UBSan).
    push({"read", [b, dst, off, n](Runtime&) { if (n) std::memcpy(dst, b->data + off, n * sizeof(float)); }, d});
    return d->deferred.Promise();
  }

  // sync(): resolves when everything queued before it has run; rejects with a queued op's error.
  Napi::Value Sync(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    live(env);
    Completion* d = newCompletion(env);
    push({"sync", nullptr, d});
    return d->deferred.Promise();
  }

  // enqueue(op, handles, params): checks sizes now, runs later on the worker.
  void Enqueue(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    live(env);
    std::string name = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
    auto it = registry().find(name);
    if (it == registry().end()) throw Napi::TypeError::New(env, "enqueue: unknown native op '" + name + "' (rebuild the addon?)");
    const OpDef* op = &it->second;
    if (!info[1].IsArray()) throw Napi::TypeError::New(env, "enqueue " + name + ": tensors must be an array of handles");
    Napi::Array hs = info[1].As<Napi::Array>();
    std::vector<Buf> bufs;
    bufs.reserve(hs.Length());
    std::vector<size_t> numels;
    for (uint32_t i = 0; i < hs.Length(); i++) {
      bufs.push_back(handle(env, hs.Get(i)));
      numels.push_back(bufs.back()->numel);
    }
    if (op->tensors >= 0 && static_cast<int>(bufs.size()) != op->tensors)
      throw Napi::TypeError::New(env, "native op " + name + ": expected " + std::to_string(op->tensors) + " tensors, got " +
                                          std::to_string(bufs.size()));
    auto params = std::make_shared<Params>();
    if (info.Length() > 2 && info[2].IsObject()) parseParamsObject(env, info[2].As<Napi::Object>(), *params, name);
    checkAndPush(env, op, std::move(bufs), params, numels);
  }

  // The ops in ops() order: enqueuePacked names an op by its index here.
  static const std::vector<const OpDef*>& opTable() {
    static const std::vector<const OpDef*> t = [] {
      std::vector<const OpDef*> v;
      for (auto& [name, op] : registry()) v.push_back(&op);
      return v;
    }();
    return t;
  }

  // enqueuePacked(opIndex, packed: Float64Array, length, keys): enqueue() without the per-op N-API
  // property walk (which cost ~10 us an op, more than most ops run). packed[0, length) holds the
  // tensor count, the handles, then the parameter values in the order of `keys` ("k1,k2,[k3,"): a
  // key starting with '[' is an array, stored as its length followed by its elements.
  void EnqueuePacked(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    live(env);
    double idx = info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : -1;
    const auto& table = opTable();
    if (!(idx >= 0 && idx < static_cast<double>(table.size())))
      throw Napi::TypeError::New(env, "enqueuePacked: unknown op index (rebuild the addon?)");
    const OpDef* op = table[static_cast<size_t>(idx)];
    if (!info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array)
      throw Napi::TypeError::New(env, "enqueuePacked: packed must be a Float64Array");
    Napi::Float64Array arr = info[1].As<Napi::Float64Array>();
    size_t len = count(env, info[2], "enqueuePacked: length");
    if (len > arr.ElementLength() || len < 1) throw Napi::RangeError::New(env, "enqueuePacked: length exceeds the packed array");
    const double* d = arr.Data();
    const std::string_view name = op->name;  // a std::string only on the error paths (no allocation per op)
    size_t pos = 0;
    auto next = [&]() {
      if (pos >= len) throw Napi::RangeError::New(env, "enqueuePacked " + std::string(name) + ": packed values end early");
      return d[pos++];
    };
    double ntd = next();
    if (!(ntd >= 0 && ntd <= static_cast<double>(len - pos)))
      throw Napi::RangeError::New(env, "enqueuePacked " + std::string(name) + ": bad tensor count");
    size_t nt = static_cast<size_t>(ntd);
    std::vector<Buf> bufs;
    bufs.reserve(nt);
    std::vector<size_t> numels;
    numels.reserve(nt);
    for (size_t i = 0; i < nt; i++) {
      bufs.push_back(handleById(env, next()));
      numels.push_back(bufs.back()->numel);
    }
    if (op->tensors >= 0 && static_cast<int>(bufs.size()) != op->tensors)
      throw Napi::TypeError::New(env, "native op " + std::string(name) + ": expected " + std::to_string(op->tensors) +
                                          " tensors, got " + std::to_string(bufs.size()));
    auto params = std::make_shared<Params>();
    parsePackedParams(env, info[3], d, pos, len, *params, name);
    checkAndPush(env, op, std::move(bufs), params, numels);
  }

  Napi::Value Stats(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    PoolStats s = pool_->stats();
    Napi::Object o = Napi::Object::New(env);
    o.Set("bytesInUse", static_cast<double>(s.bytesInUse));
    o.Set("bytesAllocated", static_cast<double>(s.bytesAllocated));
    o.Set("peakBytesInUse", static_cast<double>(s.peakBytesInUse));
    o.Set("buffersInUse", static_cast<double>(s.buffersInUse));
    o.Set("buffersFree", static_cast<double>(s.buffersFree));
    o.Set("tensors", static_cast<double>(handles_.size()));
    o.Set("queued", static_cast<double>(worker_->queued()));
    o.Set("enqueued", enqueued_);
    o.Set("cachedPrimitives", static_cast<double>(worker_->cachedPrimitives()));
    return o;
  }

  void ResetPeak(const Napi::CallbackInfo&) { pool_->resetPeak(); }
  void Trim(const Napi::CallbackInfo&) { pool_->trim(); }

  // destroy(): waits for queued work, stops the worker and frees the tensors. Idempotent.
  void Destroy(const Napi::CallbackInfo& info) {
    stop();
    if (hookSet_) {
      napi_remove_env_cleanup_hook(info.Env(), &ComputeDevice::onCleanup, this);
      hookSet_ = false;
    }
    pool_->trim();
  }

  Napi::Value Ops(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    Napi::Array a = Napi::Array::New(env);
    uint32_t i = 0;
    for (const OpDef* op : opTable()) a.Set(i++, op->name);
    return a;
  }

  Napi::Value Threads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), rt_->threads); }

  // profile(reset?): { ops: { name: { count, ms } }, idleMs } of the worker since the last reset.
  Napi::Value Profile(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    bool reset = info.Length() > 0 && info[0].ToBoolean().Value();
    WorkerProfile prof = worker_->profile(reset);
    Napi::Object ops = Napi::Object::New(env);
    for (auto& [name, t] : prof.ops) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("count", t.count);
      o.Set("ms", t.ns / 1e6);
      o.Set("cpuMs", t.cpuNs / 1e6);
      ops.Set(name, o);
    }
    Napi::Object out = Napi::Object::New(env);
    out.Set("ops", ops);
    out.Set("idleMs", prof.idleNs / 1e6);
    return out;
  }
};

}  // namespace

Napi::Function defineComputeDevice(Napi::Env env) {
  // process.on('exit', ...): runs inside process.exit() too, before Node's exit() (see onProcessExit).
  Napi::Value process = env.Global().Get("process");
  if (process.IsObject()) {
    Napi::Value on = process.As<Napi::Object>().Get("on");
    if (on.IsFunction()) {
      auto onExit = Napi::Function::New(env, [](const Napi::CallbackInfo& info) { ComputeDevice::onProcessExit(info.Env()); },
                                        "wgnasStopNativeDevices");
      on.As<Napi::Function>().Call(process, {Napi::String::New(env, "exit"), onExit});
    }
  }
  return ComputeDevice::Define(env);
}

}  // namespace wgnas::compute
