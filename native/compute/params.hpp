// An op's parameters, read by name: parsed from a plain JS object on the JS thread (numbers,
// booleans, arrays of numbers), read on the worker. A missing or malformed parameter throws an
// OpError naming it, so a binding mistake is one clear line, not a wrong number.
#pragma once
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace wgnas::compute {

// Bad arguments of an op (sizes, parameters): reported as a RangeError before anything is queued.
struct OpError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

class Params {
 public:
  void reserve(size_t scalars) { scalars_.reserve(scalars); }
  void set(std::string key, double v) { scalars_.emplace_back(std::move(key), v); }
  void setArray(std::string key, std::vector<double> v) { arrays_.emplace_back(std::move(key), std::move(v)); }

  bool has(const char* k) const { return find(k) != nullptr; }
  double f(const char* k) const {
    const double* v = find(k);
    if (!v) throw OpError(std::string("missing parameter '") + k + "'");
    return *v;
  }
  double f(const char* k, double dflt) const {
    const double* v = find(k);
    return v ? *v : dflt;
  }
  int64_t i(const char* k) const { return toInt(k, f(k)); }
  int64_t i(const char* k, int64_t dflt) const {
    const double* v = find(k);
    return v ? toInt(k, *v) : dflt;
  }
  bool b(const char* k, bool dflt = false) const {
    const double* v = find(k);
    return v ? *v != 0 : dflt;
  }
  const std::vector<double>& arr(const char* k) const {
    for (auto& [name, v] : arrays_)
      if (name == k) return v;
    throw OpError(std::string("missing array parameter '") + k + "'");
  }

 private:
  std::vector<std::pair<std::string, double>> scalars_;
  std::vector<std::pair<std::string, std::vector<double>>> arrays_;

  const double* find(const char* k) const {
    for (auto& [name, v] : scalars_)
      if (name == k) return &v;
    return nullptr;
  }
  static int64_t toInt(const char* k, double v) {
    if (!(std::floor(v) == v) || std::fabs(v) > 9.0e15)
      throw OpError(std::string("parameter '") + k + "' must be an integer, got " + std::to_string(v));
    return static_cast<int64_t>(v);
  }
};

}  // namespace wgnas::compute
