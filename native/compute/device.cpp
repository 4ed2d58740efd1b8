// ComputeDevice: the native compute backend's device, exposed to JS as a class. Tensors live in
// pooled native memory and are named by integer handles. Ops are enqueued (the call returns at
// once) and run in order on one worker thread per device, the OpenMP master of its thread team;
// read() and sync() resolve promises through a thread-safe function once the worker reaches them.
// An op that fails on the worker records its error; the next read() or sync() rejects with it.
#include <napi.h>
#include <omp.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <cstring>
#include <ctime>
#include <deque>
#include <mutex>
#include <thread>

#include "op.hpp"

namespace wgnas::compute {
namespace {

// A read() or sync() waiting for the worker; resolved on the JS thread.
struct Completion {
  Napi::Promise::Deferred deferred;
  Napi::Reference<Napi::Value> result;  // the Float32Array being filled (read) or empty (sync)
  std::string error;
};

struct Command {
  const char* name = "";
  std::function<void(Runtime&)> fn;  // may be empty (sync)
  Completion* done = nullptr;
};

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
    napi_add_env_cleanup_hook(env, &ComputeDevice::onCleanup, this);
    worker_ = std::thread([this] { loop(); });
  }

  ~ComputeDevice() override {
    stop();
    if (hookSet_) napi_remove_env_cleanup_hook(Env(), &ComputeDevice::onCleanup, this);
  }

  // Process exit with the device alive: stop the worker before the runtime goes away.
  static void onCleanup(void* self) {
    auto* d = static_cast<ComputeDevice*>(self);
    d->hookSet_ = false;
    d->stop();
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

  std::thread worker_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Command> queue_;
  bool stopping_ = false;
  bool sleeping_ = false;  // the worker waits on cv_ (guarded by mu_)
  std::atomic<size_t> queued_{0};
  double enqueued_ = 0;  // ops enqueued over the device's life (JS thread)
  std::string error_;  // first failure since the last read/sync (worker thread)
  std::atomic<size_t> cachedPrimitives_{0};  // the worker's primitive cache size, for stats
  // Worker time per command name and waiting for work (profile()): where a workload's time goes.
  struct OpTime {
    double count = 0, ns = 0, cpuNs = 0;  // cpuNs: the worker thread's CPU time (its OpenMP team's not included)
  };
  std::mutex profMu_;
  // Keyed by the command's static name (no string built per command); merged by text in profile().
  std::unordered_map<const char*, OpTime> profile_;
  double idleNs_ = 0;
  // The worker thread's CPU time per command costs two clock_gettime system calls (~1 us in a VM,
  // as much as a small op): measured only once profile() has been called.
  std::atomic<bool> cpuTiming_{false};

  // ---- worker ----

  static double threadCpuNs() {
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
  }

  void loop() {
    using Clock = std::chrono::steady_clock;
    omp_set_num_threads(rt_->threads);  // per-thread ICV: this thread's team, and oneDNN's
    // Commands are taken from the shared queue in batches (one lock per batch, not per command:
    // the JS thread enqueueing and the worker then rarely meet on the mutex).
    std::deque<Command> batch;
    for (;;) {
      Command c;
      auto t0 = Clock::now();
      if (batch.empty()) {
        std::unique_lock<std::mutex> lock(mu_);
        sleeping_ = true;
        cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        sleeping_ = false;
        if (queue_.empty()) return;
        batch.swap(queue_);
      }
      c = std::move(batch.front());
      batch.pop_front();
      auto t1 = Clock::now();
      bool cpuTiming = cpuTiming_.load(std::memory_order_relaxed);
      double cpu0 = cpuTiming ? threadCpuNs() : 0;
      if (c.fn) {
        try {
          c.fn(*rt_);
        } catch (const std::exception& e) {
          if (error_.empty()) error_ = std::string("native op '") + c.name + "' failed: " + e.what();
        } catch (...) {
          if (error_.empty()) error_ = std::string("native op '") + c.name + "' failed";
        }
      }
      {
        std::lock_guard<std::mutex> lock(profMu_);
        OpTime& o = profile_[c.name];
        o.count++;
        o.ns += std::chrono::duration<double, std::nano>(Clock::now() - t1).count();
        if (cpuTiming) o.cpuNs += threadCpuNs() - cpu0;
        idleNs_ += std::chrono::duration<double, std::nano>(t1 - t0).count();
      }
      c.fn = nullptr;  // drop the command's buffer references before reporting completion
      cachedPrimitives_ = rt_->cache.size();
      queued_--;
      if (c.done) {
        c.done->error = std::move(error_);
        error_.clear();
        napi_status s = tsfn_.BlockingCall(c.done, [this](Napi::Env env, Napi::Function, Completion* d) { finish(env, d); });
        if (s != napi_ok) delete c.done;  // the environment is shutting down
      }
    }
  }

  // A sleeping worker is woken for every kWakeBatch commands, or at once for a read or sync: waking
  // it per op costs two futex calls and a context switch (~10 us), more than small ops take, and
  // nothing can observe queued work except through a read or sync.
  static constexpr size_t kWakeBatch = 8;

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

  void push(Command c) {
    bool wake;
    {
      std::lock_guard<std::mutex> lock(mu_);
      bool urgent = c.done != nullptr;
      queue_.push_back(std::move(c));
      queued_++;
      // A busy worker finds the command on its own; skip the futex call.
      wake = sleeping_ && (urgent || queue_.size() >= kWakeBatch);
    }
    if (wake) cv_.notify_one();
  }

  void stop() {
    if (stopped_) return;
    stopped_ = true;
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_one();
    if (worker_.joinable()) worker_.join();
    tsfn_.Release();
    handles_.clear();
  }

  // JS thread.
  void finish(Napi::Env env, Completion* d) {
    if (d->error.empty()) d->deferred.Resolve(d->result.IsEmpty() ? env.Undefined() : d->result.Value());
    else d->deferred.Reject(Napi::Error::New(env, d->error).Value());
    delete d;
    if (--pending_ == 0 && !stopped_) tsfn_.Unref(env);
  }

  Completion* newCompletion(Napi::Env env) {
    auto* d = new Completion{Napi::Promise::Deferred::New(env), {}, {}};
    if (pending_++ == 0) tsfn_.Ref(env);
    return d;
  }

  // ---- JS thread helpers ----

  void live(Napi::Env env) {
    if (stopped_) throw Napi::Error::New(env, "native device used after destroy()");
  }

  static size_t count(Napi::Env env, const Napi::Value& v, const char* what) {
    double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1;
    if (!(d >= 0 && d <= 4.0e12 && d == static_cast<double>(static_cast<int64_t>(d))))
      throw Napi::RangeError::New(env, std::string(what) + " must be a non-negative integer");
    return static_cast<size_t>(d);
  }

  Buf& handle(Napi::Env env, const Napi::Value& v) { return handleById(env, v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : -1); }

  Buf& handleById(Napi::Env env, double d) {
    auto it = handles_.find(static_cast<uint32_t>(d));
    if (d < 1 || it == handles_.end()) throw Napi::Error::New(env, "native tensor used after dispose() (or not from this device)");
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
    Buf b = makeBuf(pool_, a.ElementLength());
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
    auto data = std::make_shared<std::vector<float>>(a.Data(), a.Data() + a.ElementLength());
    push({"write", [b, data, off](Runtime&) { std::copy(data->begin(), data->end(), b->data + off); }});
  }

  void Release(const Napi::CallbackInfo& info) {
    double d = info[0].IsNumber() ? info[0].As<Napi::Number>().DoubleValue() : 0;
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
    push({"read", [b, dst, off, n](Runtime&) { std::memcpy(dst, b->data + off, n * sizeof(float)); }, d});
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
    if (info.Length() > 2 && info[2].IsObject()) parseParams(env, info[2].As<Napi::Object>(), *params, name);
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
    std::string name = op->name;
    size_t pos = 0;
    auto next = [&]() {
      if (pos >= len) throw Napi::RangeError::New(env, "enqueuePacked " + name + ": packed values end early");
      return d[pos++];
    };
    double ntd = next();
    if (!(ntd >= 0 && ntd <= static_cast<double>(len - pos))) throw Napi::RangeError::New(env, "enqueuePacked " + name + ": bad tensor count");
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
      throw Napi::TypeError::New(env, "native op " + name + ": expected " + std::to_string(op->tensors) + " tensors, got " +
                                          std::to_string(bufs.size()));
    auto params = std::make_shared<Params>();
    std::string keys = info[3].IsString() ? info[3].As<Napi::String>().Utf8Value() : "";
    for (size_t b = 0; b < keys.size();) {
      size_t e = keys.find(',', b);
      if (e == std::string::npos) e = keys.size();
      if (keys[b] == '[') {
        double nd = next();
        if (!(nd >= 0 && nd <= static_cast<double>(len - pos))) throw Napi::RangeError::New(env, "enqueuePacked " + name + ": packed values end early");
        size_t n = static_cast<size_t>(nd);
        params->setArray(keys.substr(b + 1, e - b - 1), std::vector<double>(d + pos, d + pos + n));
        pos += n;
      } else {
        params->set(keys.substr(b, e - b), next());
      }
      b = e + 1;
    }
    checkAndPush(env, op, std::move(bufs), params, numels);
  }

  static void parseParams(Napi::Env env, const Napi::Object& o, Params& p, const std::string& op) {
    Napi::Array keys = o.GetPropertyNames();
    for (uint32_t i = 0; i < keys.Length(); i++) {
      std::string k = keys.Get(i).ToString().Utf8Value();
      Napi::Value v = o.Get(k);
      if (v.IsNumber()) p.set(k, v.As<Napi::Number>().DoubleValue());
      else if (v.IsBoolean()) p.set(k, v.As<Napi::Boolean>().Value() ? 1 : 0);
      else if (v.IsArray() || v.IsTypedArray()) {
        Napi::Object a = v.As<Napi::Object>();
        uint32_t n = a.Get("length").As<Napi::Number>().Uint32Value();
        std::vector<double> vals(n);
        for (uint32_t j = 0; j < n; j++) {
          Napi::Value e = a.Get(j);
          if (!e.IsNumber()) throw Napi::TypeError::New(env, "native op " + op + ": parameter " + k + " must hold numbers");
          vals[j] = e.As<Napi::Number>().DoubleValue();
        }
        p.setArray(k, std::move(vals));
      } else if (!v.IsUndefined() && !v.IsNull()) {
        throw Napi::TypeError::New(env, "native op " + op + ": parameter " + k + " must be a number, boolean or number array");
      }
    }
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
    o.Set("queued", static_cast<double>(queued_.load()));
    o.Set("enqueued", enqueued_);
    o.Set("cachedPrimitives", static_cast<double>(cachedPrimitives_.load()));
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
    cpuTiming_ = true;
    std::lock_guard<std::mutex> lock(profMu_);
    std::map<std::string, OpTime> byName;
    for (auto& [name, t] : profile_) {
      OpTime& m = byName[name];
      m.count += t.count;
      m.ns += t.ns;
      m.cpuNs += t.cpuNs;
    }
    Napi::Object ops = Napi::Object::New(env);
    for (auto& [name, t] : byName) {
      Napi::Object o = Napi::Object::New(env);
      o.Set("count", t.count);
      o.Set("ms", t.ns / 1e6);
      o.Set("cpuMs", t.cpuNs / 1e6);
      ops.Set(name, o);
    }
    Napi::Object out = Napi::Object::New(env);
    out.Set("ops", ops);
    out.Set("idleMs", idleNs_ / 1e6);
    if (reset) {
      profile_.clear();
      idleNs_ = 0;
    }
    return out;
  }
};

}  // namespace

Napi::Function defineComputeDevice(Napi::Env env) { return ComputeDevice::Define(env); }

}  // namespace wgnas::compute
