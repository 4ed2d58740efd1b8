// A backend turns an op list into a runnable chain (weights prepared, buffers allocated); run() is
// one batch-1 forward, the only thing the profiler times.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "spec.hpp"

namespace wgnas {

class Runner {
 public:
  virtual ~Runner() = default;
  virtual void run() = 0;
  // run(), adding each op's elapsed time (ns) to opNs[i] (sized to the op count by the caller).
  virtual void runPerOp(std::vector<uint64_t>& opNs) = 0;
  // Pin the threads that run() uses to `cpus` (one each, round robin); restore() undoes it.
  // Returns "" on success or the reason it could not pin.
  virtual std::string pin(const std::vector<int>& cpus) = 0;
  virtual void restore() = 0;
  // Evict this run's data from the private caches of the threads run() uses, by touching `bytes` of
  // scratch memory per thread (untimed; emulates an op inside a network whose weights don't fit in L2).
  virtual void flushCaches(size_t bytes) = 0;
  // The last op's output after run(): NHWC, dense, OpSpec::outputCount() floats.
  virtual std::vector<float> output() = 0;
};

// Caller-supplied data for a single conv / dwconv op (the addon's run()): replaces the generated
// input, weights and bias. input: NHWC; weights: OIHW [outC, inC / groups, k, k] (the layout of
// wgnas' own tensors; each backend reorders it); bias: outC values, or empty for zeros.
struct GivenData {
  std::vector<float> input, weights, bias;
};

// Touches every cache line of `buf` (read-modify-write so it can't be optimized away).
void touchBuffer(std::vector<unsigned char>& buf);

struct BackendInfo {
  std::string name;
  bool available = false;
  std::string version;
  std::string runtime;  // threading runtime
  std::string isa;      // instruction set in use, if the library reports it
  std::string reason;   // why it is unavailable
};

// Both factories throw std::runtime_error with a readable message on failure. With `given`, `ops`
// must be one conv or dwconv whose sizes match it (checked by the caller; the runners recheck).
std::unique_ptr<Runner> makeOnednn(const std::vector<OpSpec>& ops, int threads, const GivenData* given = nullptr);
std::unique_ptr<Runner> makeXnnpack(const std::vector<OpSpec>& ops, int threads, const GivenData* given = nullptr);
// "" when `given` fits the single op `ops` (one conv / dwconv), else why not.
std::string checkGiven(const std::vector<OpSpec>& ops, const GivenData& given);
BackendInfo onednnInfo();
BackendInfo xnnpackInfo();

// A oneDNN error (dnnl::error's what() and status) in words, with what to do about it: "could not
// create a memory object (status 1)" alone named neither the cause nor a fix.
std::string onednnErrorText(const std::string& what, int status);

// Deterministic fill in [-scale, scale] (values stay far from denormals).
void fillRandom(float* data, size_t n, unsigned seed, float scale);

}  // namespace wgnas
