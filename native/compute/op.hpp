// The op registry: every native compute op is an OpDef { name, tensor count, check, run }. check()
// runs on the JS thread when the op is enqueued and verifies every tensor's size against the
// parameters (the TypeScript layer validates shapes first; this is the memory-safety net). run()
// executes on the device's worker thread, in queue order.
#pragma once
#include <oneapi/dnnl/dnnl.hpp>

#include <functional>
#include <initializer_list>
#include <list>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "params.hpp"
#include "pool.hpp"

namespace wgnas::compute {

// Per-device state the ops share on the worker thread.
struct Runtime {
  Runtime(int threads, std::shared_ptr<Pool> pool, bool convAuto)
      : threads(threads), convAuto(convAuto), pool(std::move(pool)) {}
  int threads;
  // Convolution algorithm: false = direct only; true = Winograd F(4x4, 3x3) for the 3x3 stride-1
  // forward / data-gradient passes where it was measured faster (ops_conv.cpp: convAlgorithm).
  bool convAuto;
  std::shared_ptr<Pool> pool;
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  // Primitives by shape (creation costs 0.1-10 ms, often more than running them), least recently
  // used first out beyond kCacheEntries: a search over many shapes keeps its JIT code bounded.
  static constexpr size_t kCacheEntries = 4096;
  std::list<std::pair<std::string, std::shared_ptr<void>>> lru;
  std::unordered_map<std::string, decltype(lru)::iterator> cache;

  template <class T, class Make>
  T& cached(const std::string& key, Make&& make) {
    auto it = cache.find(key);
    if (it != cache.end()) {
      lru.splice(lru.begin(), lru, it->second);
      return *static_cast<T*>(it->second->second.get());
    }
    lru.emplace_front(key, std::shared_ptr<void>(std::make_shared<T>(make())));
    cache.emplace(key, lru.begin());
    if (lru.size() > kCacheEntries) {
      cache.erase(lru.back().first);
      lru.pop_back();
    }
    return *static_cast<T*>(lru.front().second.get());
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
void registerVkdnwOps(Registry& r);
void registerRandomOps(Registry& r);
void registerGramOps(Registry& r);

const Registry& registry();

// check() helpers.
// No tensor comes near this many elements (alloc() stops at 4e12): a size past it is a binding mistake.
constexpr size_t kMaxElems = size_t{1} << 50;
// The product of sizes (each >= 0) for a check(). Throws OpError when the product of the nonzero
// factors exceeds kMaxElems, so that a product which would wrap around can never pass a size check
// (and a zero factor cannot hide a huge one from the run's own arithmetic).
size_t elems(std::initializer_list<int64_t> factors);
void expectAtLeast(const std::vector<size_t>& numels, size_t i, size_t want, const char* what);
int64_t positive(const Params& p, const char* k);
int64_t nonNegative(const Params& p, const char* k);

}  // namespace wgnas::compute
