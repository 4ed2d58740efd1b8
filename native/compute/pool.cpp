#include "pool.hpp"

#include <sys/mman.h>

#include <cstdlib>
#include <new>

namespace wgnas::compute {

namespace {
constexpr size_t kSmallLimit = 64 * 1024;
constexpr size_t kAlign = 64;  // a cache line, and what AVX-512 loads like
constexpr size_t kHugePage = 2 << 20;

// Blocks of a huge page or more are aligned to one and marked MADV_HUGEPAGE (transparent huge
// pages are often 'madvise' only): the pool's warm-up is first-touch page faults (a WRCor cell at
// batch 64 keeps ~0.9 GB of tensors live), and in a VM a first touch can cost ~40 us per 4 KiB
// page (measured: 512 MB touched in 5-6.6 s, 2.7-3 s with the advice). Where the kernel has no
// huge page to give, the advice is ignored and the block is used as it is.
float* allocBlock(size_t size) {
  void* p = nullptr;
  if (size < kHugePage) return static_cast<float*>(std::aligned_alloc(kAlign, size));
  if (posix_memalign(&p, kHugePage, size) != 0) return nullptr;
#ifdef MADV_HUGEPAGE
  madvise(p, size / kHugePage * kHugePage, MADV_HUGEPAGE);
#endif
  return static_cast<float*>(p);
}
}  // namespace

size_t Pool::bucketBytes(size_t bytes) {
  size_t b = bytes < 64 ? 64 : (bytes + 3) / 4 * 4;
  if (b <= kSmallLimit) {
    size_t p = 64;
    while (p < b) p <<= 1;
    return p;
  }
  return (b + kSmallLimit - 1) / kSmallLimit * kSmallLimit;
}

Pool::~Pool() { trim(); }

float* Pool::acquire(size_t bytes, size_t* bucket) {
  size_t size = bucketBytes(bytes);
  *bucket = size;
  std::lock_guard<std::mutex> lock(mu_);
  float* p = nullptr;
  auto it = free_.find(size);
  if (it != free_.end() && !it->second.empty()) {
    p = it->second.back();
    it->second.pop_back();
    s_.buffersFree--;
  } else {
    p = allocBlock(size);
    if (!p) throw std::bad_alloc();
    s_.bytesAllocated += size;
  }
  s_.bytesInUse += size;
  s_.buffersInUse++;
  if (s_.bytesInUse > s_.peakBytesInUse) s_.peakBytesInUse = s_.bytesInUse;
  return p;
}

void Pool::release(float* p, size_t bucket) {
  std::lock_guard<std::mutex> lock(mu_);
  free_[bucket].push_back(p);
  s_.bytesInUse -= bucket;
  s_.buffersInUse--;
  s_.buffersFree++;
}

PoolStats Pool::stats() {
  std::lock_guard<std::mutex> lock(mu_);
  return s_;
}

void Pool::resetPeak() {
  std::lock_guard<std::mutex> lock(mu_);
  s_.peakBytesInUse = s_.bytesInUse;
}

void Pool::trim() {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto& [size, list] : free_) {
    for (float* p : list) {
      std::free(p);
      s_.bytesAllocated -= size;
    }
    s_.buffersFree -= list.size();
  }
  free_.clear();
}

Storage::Storage(std::shared_ptr<Pool> p, size_t n) : numel(n), pool(std::move(p)) {
  data = pool->acquire(n * sizeof(float), &bucket);
}

Storage::~Storage() {
  if (data) pool->release(data, bucket);
}

}  // namespace wgnas::compute
