// The op registry: every native compute op is an OpDef { name, tensor count, check, run }. check()
// runs on the JS thread when the op is enqueued and verifies every tensor's size against the
// parameters (the TypeScript layer validates shapes first; this is the memory-safety net). run()
// executes on the device's worker thread, in queue order.
#pragma once
#include <oneapi/dnnl/dnnl.hpp>

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "params.hpp"
#include "pool.hpp"

namespace wgnas::compute {

// Per-device state the ops share on the worker thread.
struct Runtime {
  Runtime(int threads, std::shared_ptr<Pool> pool) : threads(threads), pool(std::move(pool)) {}
  int threads;
  std::shared_ptr<Pool> pool;
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  // Primitive caches (creation costs 0.1-10 ms; execution of small ops less), keyed by shape.
  std::unordered_map<std::string, std::shared_ptr<void>> cache;

  template <class T, class Make>
  T& cached(const std::string& key, Make&& make) {
    auto it = cache.find(key);
    if (it == cache.end()) it = cache.emplace(key, std::shared_ptr<void>(std::make_shared<T>(make()))).first;
    return *static_cast<T*>(it->second.get());
  }
  Buf temp(size_t numel) { return makeBuf(pool, numel); }
};

struct Ctx {
  const Params& p;
  const std::vector<Buf>& t;
  Runtime& rt;
  float* ptr(size_t i) const { return t[i]->data; }
  size_t numel(size_t i) const { return t[i]->numel; }
  int threads() const { return rt.threads; }
};

struct OpDef {
  const char* name;
  int tensors;  // exact count, or -1: any (check() decides)
  // Throws OpError when the sizes do not fit the parameters. numels: each tensor's element count.
  std::function<void(const Params&, const std::vector<size_t>& numels)> check;
  std::function<void(Ctx&)> run;
};

using Registry = std::unordered_map<std::string, OpDef>;

// Each ops_*.cpp adds its ops.
void registerConvOps(Registry& r);
void registerMatmulOps(Registry& r);
void registerNormOps(Registry& r);
void registerElementwiseOps(Registry& r);
void registerReduceOps(Registry& r);
void registerTrainOps(Registry& r);

const Registry& registry();

// check() helpers.
void expectNumel(const std::vector<size_t>& numels, size_t i, size_t want, const char* what);
void expectAtLeast(const std::vector<size_t>& numels, size_t i, size_t want, const char* what);
int64_t positive(const Params& p, const char* k);
int64_t nonNegative(const Params& p, const char* k);

}  // namespace wgnas::compute
