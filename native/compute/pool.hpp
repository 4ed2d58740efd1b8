// Native tensor memory: 64-byte aligned f32 buffers from a size-bucketed pool (the same buckets as
// the GPU pool: powers of two up to 64 KiB, then 64 KiB steps). Buffers are reference counted
// (Buf = shared_ptr<Storage>): a queued command holds its tensors' buffers, so a tensor the caller
// disposes while work on it is still queued returns to the pool only when that work has run.
#pragma once
#include <cstddef>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace wgnas::compute {

struct PoolStats {
  size_t bytesInUse = 0, bytesAllocated = 0, peakBytesInUse = 0, buffersInUse = 0, buffersFree = 0;
};

class Pool : public std::enable_shared_from_this<Pool> {
 public:
  ~Pool();
  // Raw block of at least `bytes` (rounded up to its bucket); throws std::bad_alloc.
  float* acquire(size_t bytes, size_t* bucket);
  void release(float* p, size_t bucket);
  PoolStats stats();
  void resetPeak();
  // Frees the idle blocks (their memory goes back to the system).
  void trim();
  static size_t bucketBytes(size_t bytes);

 private:
  std::mutex mu_;
  std::unordered_map<size_t, std::vector<float*>> free_;
  PoolStats s_;
};

// One tensor's memory. Destroying it returns the block to its pool.
struct Storage {
  Storage(std::shared_ptr<Pool> pool, size_t numel);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  float* data = nullptr;
  size_t numel = 0;
  size_t bucket = 0;
  std::shared_ptr<Pool> pool;
};

using Buf = std::shared_ptr<Storage>;

inline Buf makeBuf(const std::shared_ptr<Pool>& pool, size_t numel) { return std::make_shared<Storage>(pool, numel); }

}  // namespace wgnas::compute
