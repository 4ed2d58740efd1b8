// The registry of every native op, and the size checks the ops' check() functions share.
#include <stdexcept>

#include "op.hpp"

namespace wgnas::compute {

const Registry& registry() {
  static const Registry r = [] {
    Registry x;
    registerConvOps(x);
    registerMatmulOps(x);
    registerNormOps(x);
    registerElementwiseOps(x);
    registerReduceOps(x);
    registerTrainOps(x);
    registerVkdnwOps(x);
    registerRandomOps(x);
    registerGramOps(x);
    // A test hook: fails on the worker, to check that the failure surfaces at the next read/sync.
    x["debugFail"] = {"debugFail", -1, nullptr, [](Ctx&) { throw std::runtime_error("deliberate failure (test hook)"); }};
    return x;
  }();
  return r;
}

size_t elems(std::initializer_list<int64_t> factors) {
  size_t nonzero = 1;
  bool zero = false;
  for (int64_t f : factors) {
    if (f < 0) throw OpError("negative size " + std::to_string(f));
    if (f == 0) {
      zero = true;
      continue;
    }
    if (static_cast<size_t>(f) > kMaxElems / nonzero) {
      std::string text;
      for (int64_t g : factors) text += (text.empty() ? "" : " x ") + std::to_string(g);
      throw OpError("sizes " + text + " multiply past 2^50 elements (no tensor is that large)");
    }
    nonzero *= static_cast<size_t>(f);
  }
  return zero ? 0 : nonzero;
}

void expectAtLeast(const std::vector<size_t>& numels, size_t i, size_t want, const char* what) {
  if (i >= numels.size()) throw OpError(std::string("missing tensor ") + what);
  if (numels[i] < want)
    throw OpError(std::string(what) + " has " + std::to_string(numels[i]) + " elements, needs at least " + std::to_string(want));
}

int64_t positive(const Params& p, const char* k) {
  int64_t v = p.i(k);
  if (v < 1) throw OpError(std::string("parameter '") + k + "' must be positive, got " + std::to_string(v));
  return v;
}

int64_t nonNegative(const Params& p, const char* k) {
  int64_t v = p.i(k);
  if (v < 0) throw OpError(std::string("parameter '") + k + "' must be non-negative, got " + std::to_string(v));
  return v;
}

}  // namespace wgnas::compute
